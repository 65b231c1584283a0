export interface LocalDataSetConfig {
  /** stagecraft's `^[a-z0-9-]+$` */
  dataGroup: string;
  /** stagecraft's `^[a-z0-9-]+$`; appointments, customer-satisfaction, monitoring, no-show, realtime,
   * transactions-by-channel and utilisation also get their stagecraft schema */
  dataType: string;
  /** never logged nor echoed */
  bearerToken: string;
  /** fields whose values make each record's `_id` (backdrop `auto_ids`); empty or absent: none */
  autoIds?: string[];
}

export interface LocalPerformancePlatformOptions {
  /** 0 or absent = any free port */
  port?: number;
  dataSets: LocalDataSetConfig[];
  /** classic-level directory; default a new temp dir removed on close */
  storageDir?: string;
  /**
   * Each request is handled this long after it arrives, as if it had crossed a network: a
   * stated round trip for measuring a client against a remote write API (the stand-in itself
   * answers in microseconds). Requests in flight wait side by side. Default 0.
   */
  latencyMs?: number;
}

/**
 * A scripted failure for the next `times` write requests (POST/PUT on /data/<group>/<type>),
 * of `method` if given, applied before normal handling: `delayMs` waits first; `status` then
 * answers that status with `body` (default a backdrop-style JSON error) without reading it;
 * `dropAfterStore` handles the request normally, storing the records, then destroys the socket
 * without answering.
 */
export interface PpFaultRule {
  method?: 'POST' | 'PUT';
  status?: number;
  body?: string;
  delayMs?: number;
  dropAfterStore?: boolean;
  times: number;
}

export interface PpRequestLogEntry {
  method: string;
  /** path and query */
  path: string;
  /** 0 while no answer was sent, and for dropped requests */
  status: number;
  /** records in the body once parsed (an object counts 1); 0 when the body was not parsed */
  records: number;
  /** Content-Encoding contained gzip */
  gzip: boolean;
  /** raw body bytes received (before inflating) */
  bytes: number;
  /** the Govuk-Request-Id header (or the older Request-Id) */
  requestId: string | undefined;
  at: number;
}

export interface LocalPerformancePlatform {
  /** http://127.0.0.1:PORT (paths are /data/<group>/<type>) */
  baseUrl: string;
  /** scripted failures for the next matching write requests */
  fault(rule: PpFaultRule): void;
  /** every request so far, oldest first; never the token */
  requests(): PpRequestLogEntry[];
  /** what is stored, sorted by _timestamp then _id (floats such as 1.0 come back as plain numbers) */
  records(dataGroup: string, dataType: string): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}
