export interface LocalDatasetConfig {
  /** `d_` + 32 lowercase hex */
  datasetId: string;
  name: string;
  /** e.g. `{ name: 'year', dataType: 'NUMERIC' }` */
  columns: Array<{ name: string; dataType: string }>;
}

export type SignableHeader = 'host' | 'content-type' | 'content-md5';
export type StatusSpelling = 'legend' | 'upper-snake';
/**
 * What an upload arriving while another is in progress does (the guide says only that it "fails
 * automatically"): `fail-ingestion` ends the one in progress in Ingestion Failed and ingests
 * neither; `refuse-link` refuses links while busy (and fails a PUT that arrives anyway, as
 * `fail-ingestion`); `discard-second` silently drops the second while the first goes on, so the
 * status shows only the first's progress.
 */
export type ConcurrentUploadBehaviour = 'fail-ingestion' | 'refuse-link' | 'discard-second';
/** What became of a received upload; `pending` while it is being ingested. */
export type UploadFate = 'pending' | 'ingested' | 'validation-failed' | 'ingestion-failed' | 'discarded';
export type IngestionOutcome = 'success' | 'validation-failed' | 'ingestion-failed';
export type UploadMode = 'replace' | 'append';

export interface LocalDataGovSgOptions {
  /** 0 = random */
  port?: number;
  /** accepted `x-dgs-admin-api-key` values */
  apiKeys: string[];
  datasets: LocalDatasetConfig[];
  /** where uploaded bytes go (default: a new temp dir, removed on close) */
  storageDir?: string;
  /** admin responses bare `{url}` or `{code:0,data:{url},errorMsg:''}`; default 'bare' */
  envelope?: 'bare' | 'wrapped';
  /** 'Ingestion Success' vs 'INGESTION_SUCCESS'; default 'legend' */
  statusSpelling?: StatusSpelling;
  /** what presigned URLs sign; default ['host'] (host is always signed) */
  signedHeaders?: SignableHeader[];
  /** presigned URL expiry, default 3600 */
  linkTtlSeconds?: number;
  /** time between status steps after an upload, default 200 */
  stepDelayMs?: number;
  /** after an upload, answer the previous status this many times before showing progress; default 0 */
  staleFirstPolls?: number;
  /**
   * …but only this long after the upload (by `now`): the platform team's code waits 30 s before
   * its first poll, so staleness is a matter of seconds. Default: as long as it takes.
   */
  staleForMs?: number;
  /** what a second upload does while one is in progress; default 'fail-ingestion' */
  concurrentUpload?: ConcurrentUploadBehaviour;
  /** default 401 */
  authFailureStatus?: 401 | 403;
  /** clock (ms), default Date.now */
  now?: () => number;
}

export type FaultEndpoint =
  | 'whoami'
  | 'upload-link'
  | 'append-link'
  | 'ingestion-status'
  | 'metadata'
  | 'put';

/**
 * Applies to the next `times` matching requests: `status` answers that status with `body`,
 * `delayMs` delays the answer, `resetAfterBytes` destroys the socket after that many body bytes
 * were received (0, dropping the connection unanswered, on any endpoint; more on put only), `stallAfterBytes` (put only) stops reading the body after that many
 * bytes and never answers, as a network path that goes silent.
 */
export interface FaultRule {
  endpoint: FaultEndpoint;
  status?: number;
  body?: string;
  delayMs?: number;
  resetAfterBytes?: number;
  stallAfterBytes?: number;
  times: number;
}

export interface ReceivedUpload {
  datasetId: string;
  mode: UploadMode;
  bytes: number;
  md5Base64: string;
  md5Hex: string;
  contentType: string | undefined;
  receivedAt: number;
  /** where the bytes are on disk */
  path: string;
  /** request headers, lower-cased, without secrets */
  headers: Record<string, string>;
  /** Whether its rows were ingested, and if not why; set as the ingestion ends. */
  fate: UploadFate;
  /** The index (in uploads()) of the upload that was in progress when this one arrived, if any. */
  arrivedDuring: number | null;
}

export interface RequestLogEntry {
  method: string;
  /** path and query, with X-Amz-Signature, X-Amz-Security-Token and X-Amz-Credential redacted */
  path: string;
  /** 0 when no response was sent (connection reset or aborted) */
  status: number;
  /** Set once a `stallAfterBytes` fault stopped reading the body: the bytes received by then. */
  stalledAtBytes?: number;
  at: number;
}

export interface DatasetStatusView {
  version: number;
  updatedAt: number;
  status: string;
  failures: unknown;
}

export interface LocalDataGovSg {
  /** http://127.0.0.1:PORT (admin + public API) */
  baseUrl: string;
  /** origin of presigned PUT urls */
  uploadOrigin: string;
  /** live, mutable switches */
  options: LocalDataGovSgOptions;
  /** queues outcomes of the next uploads of a dataset, in order; default success */
  script(datasetId: string, outcomes: IngestionOutcome[]): void;
  fault(rule: FaultRule): void;
  /** Drops every scripted fault not yet taken. */
  clearFaults(): void;
  uploads(datasetId?: string): ReceivedUpload[];
  requests(): RequestLogEntry[];
  /** the true current status (never stale), spelled per `statusSpelling` */
  statusOf(datasetId: string): DatasetStatusView;
  close(): Promise<void>;
}
