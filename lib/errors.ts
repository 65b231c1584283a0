/**
 * The pipeline's error family. Every class sets `name` explicitly: the state machine's
 * Retry/Catch `ErrorEquals` matches on it, and reports map it to a stable error code.
 */
export class GovpubError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GovpubError';
  }
}

/** Configuration is missing or invalid; raised at start-up, never half-way through work. */
export class ConfigError extends GovpubError {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** A dropped file cannot be published as it is (layout, alias, id, mode, type, size). */
export class DropRejectedError extends GovpubError {
  readonly code: DropRejectionCode;
  constructor(code: DropRejectionCode, message: string) {
    super(message);
    this.name = 'DropRejectedError';
    this.code = code;
  }
}

export type DropRejectionCode =
  | 'KEY_LAYOUT'
  | 'UNKNOWN_ALIAS'
  | 'BAD_DATASET_ID'
  | 'BAD_MODE'
  | 'NOT_CSV'
  | 'EMPTY_FILE'
  | 'TOO_LARGE'
  | 'BAD_DATA_SET'
  | 'NOT_JSON';

/** data.gov.sg refused the API key (401/403): never retried. */
export class DgsAuthError extends GovpubError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DgsAuthError';
  }
}

/** data.gov.sg does not know the dataset, or this key may not manage it (404). */
export class DgsNotFoundError extends GovpubError {
  constructor(message: string) {
    super(message);
    this.name = 'DgsNotFoundError';
  }
}

/**
 * A failure that may pass: rate limited (429), busy (409/423), server error (5xx), timeout or
 * network error. `kind` says which; retried with backoff where it helps.
 */
export class DgsTransientError extends GovpubError {
  readonly kind: 'rate-limited' | 'busy' | 'server' | 'timeout' | 'network';
  readonly status: number | undefined;
  constructor(
    kind: DgsTransientError['kind'],
    message: string,
    options?: { cause?: unknown; status?: number },
  ) {
    super(message, options);
    this.name = 'DgsTransientError';
    this.kind = kind;
    this.status = options?.status;
  }
}

/** data.gov.sg answered something we cannot read (bad JSON, `code` not 0, missing fields). */
export class DgsResponseError extends GovpubError {
  constructor(message: string) {
    super(message);
    this.name = 'DgsResponseError';
  }
}

/** A presigned upload URL is not on the allowed host list: nothing is sent to it. */
export class UploadUrlNotAllowedError extends GovpubError {
  constructor(message: string) {
    super(message);
    this.name = 'UploadUrlNotAllowedError';
  }
}

/**
 * The presigned PUT was rejected or broke. `retryWithNewLink` is true when asking for a new link
 * and sending again is safe and useful (expired link, connection lost before the whole body was
 * sent, S3 5xx); false for rejections that would repeat (BadDigest, signature, chunked).
 */
export class UploadFailedError extends GovpubError {
  readonly s3Code: string | undefined;
  readonly status: number | undefined;
  readonly retryWithNewLink: boolean;
  constructor(
    message: string,
    details: { s3Code?: string; status?: number; retryWithNewLink: boolean; cause?: unknown },
  ) {
    super(message, { cause: details.cause });
    this.name = 'UploadFailedError';
    this.s3Code = details.s3Code;
    this.status = details.status;
    this.retryWithNewLink = details.retryWithNewLink;
  }
}

/**
 * The whole body was sent but no answer came back: S3 may have stored it. Never re-sent blindly,
 * because a second copy could publish the rows twice.
 */
export class UploadUnconfirmedError extends GovpubError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UploadUnconfirmedError';
  }
}

/** The dropped object changed or vanished between its event and its upload. */
export class SourceChangedError extends GovpubError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SourceChangedError';
  }
}

/** The dataset lock is no longer held by this token (it expired and was taken over). */
export class LockLostError extends GovpubError {
  constructor(message: string) {
    super(message);
    this.name = 'LockLostError';
  }
}

/** The lock store (DynamoDB) could not be reached or answered an unexpected error. */
export class LockStoreUnavailableError extends GovpubError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LockStoreUnavailableError';
  }
}

/**
 * SSM could not give a parameter for a reason that may pass (throttling, a 5xx, a timeout or a
 * network error): the file waits, as for an outage of data.gov.sg. A parameter that is missing or
 * unreadable is a ConfigError instead.
 */
export class ParameterUnavailableError extends GovpubError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ParameterUnavailableError';
  }
}

/** Narrows `unknown` from a catch clause to an Error without losing non-Error throws. */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : JSON.stringify(value));
}

/** data.gov.sg shows an ingestion in progress for the dataset: a new upload would fail. */
export class DatasetBusyError extends GovpubError {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetBusyError';
  }
}

/** The CSV checker found errors: the upload was aborted before it completed. */
export class CsvRejectedError extends GovpubError {
  readonly report: import('./csv-check/types.js').CsvCheckReport;
  constructor(report: import('./csv-check/types.js').CsvCheckReport) {
    // Each problem's message names its row and column already.
    const first = report.problems.find((problem) => problem.severity === 'error');
    super(
      `The file has ${report.errors} error(s) and was not sent to data.gov.sg.${first ? ` The first: ${first.message}` : ''} Fix the file and drop it again; the report lists the problems.`,
    );
    this.name = 'CsvRejectedError';
    this.report = report;
  }
}

/** One record encodes to more JSON than one Performance Platform request may carry; `index` names it. */
export class PpRecordTooLargeError extends GovpubError {
  readonly index: number;
  readonly bytes: number;
  readonly limit: number;
  constructor(index: number, bytes: number, limit: number) {
    super(
      `Record ${index} is ${bytes} bytes as JSON, over the ${limit}-byte limit of one Performance Platform request; split it or shorten its values.`,
    );
    this.name = 'PpRecordTooLargeError';
    this.index = index;
    this.bytes = bytes;
    this.limit = limit;
  }
}

/** A file of records for the Performance Platform cannot be read as JSON or NDJSON (shape, size). */
export class PpSourceError extends GovpubError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PpSourceError';
  }
}

/** A forward that failed for a reason that may pass (5xx, timeout, connection): retried later. */
export class PpForwardDeferredError extends GovpubError {
  constructor(message: string) {
    super(message);
    this.name = 'PpForwardDeferredError';
  }
}

/** No bearer token is configured for a Performance Platform data set (SSM or local config). */
export class PpTokenMissingError extends GovpubError {
  constructor(message: string) {
    super(message);
    this.name = 'PpTokenMissingError';
  }
}
