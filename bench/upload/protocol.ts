import type { ChildMeasure } from '../lib/measure.js';
import type { Column } from './csv.js';

/** The paths measured: the bare Node pipe (baseline), sendFile, and sendFile with the CSV check. */
export type UploadPath = 'bare' | 'ours' | 'ours-check';

export const UPLOAD_PATHS: readonly UploadPath[] = ['bare', 'ours', 'ours-check'];

/** What the parent hands an upload child (as one JSON argument). */
export interface UploadChildArgs {
  s3Endpoint: string;
  bucket: string;
  key: string;
  size: number;
  dgsBaseUrl: string;
  uploadOrigin: string;
  apiKey: string;
  datasetId: string;
  /** ours only: run the in-flight CSV check against these columns. */
  checkColumns?: Column[];
}

export interface UploadChildResult extends ChildMeasure {
  bytes: number;
  /** ours-check only: whether the check passed the file (it must), and the data rows it counted. */
  checkPassed?: boolean;
  checkRows?: number;
}
