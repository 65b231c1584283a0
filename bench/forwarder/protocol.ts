import type { ChildMeasure } from '../lib/measure.js';

/**
 * naive: plain fetch POSTs of 1 000 records each, no validation, no gzip, no ids (baseline).
 * ours: forwardRecords with the forwarder's settings (validation, ids, chunks, gzip).
 * ours-chunk-1000: the same with PP_CHUNK_SIZE=1000, as many requests as the naive sender; a
 * diagnostic (no target) that separates the cost of the request count from the rest.
 */
export type ForwardPath = 'naive' | 'ours' | 'ours-chunk-1000';

export const FORWARD_PATHS: readonly ForwardPath[] = ['naive', 'ours'];
export const DIAGNOSTIC_PATH: ForwardPath = 'ours-chunk-1000';

/** Records per request of the naive sender. */
export const NAIVE_BATCH = 1000;

export interface ForwardChildArgs {
  sender: 'naive' | 'ours';
  baseUrl: string;
  token: string;
  dataGroup: string;
  dataType: string;
  records: number;
  /** ours: the forwarder's settings, as lib/config.ts reads them. */
  settings?: {
    PP_CHUNK_SIZE: number;
    PP_CONCURRENCY: number;
    PP_GZIP_ABOVE_BYTES: number;
    PP_GENERATE_IDS: boolean;
    PP_REQUEST_TIMEOUT_MS: number;
    PP_MAX_ATTEMPTS: number;
    PP_TOTAL_TIME_MS: number;
  };
}

export interface ForwardChildResult extends ChildMeasure {
  records: number;
  /** Requests the sender made, by its own count. */
  requests: number;
}
