import { DropRejectedError, UploadFailedError } from '../errors.js';
import type { CaughtError, PollState } from './publication.js';

/** Why a file ended in `failed/`: a stable code for machines and a sentence for people. */
export interface Failure {
  code: string;
  message: string;
}

const CODE_BY_ERROR_NAME: Record<string, string> = {
  DgsAuthError: 'DGS_AUTH',
  DgsNotFoundError: 'DGS_NOT_FOUND',
  DgsTransientError: 'DGS_UNAVAILABLE',
  DgsResponseError: 'DGS_BAD_RESPONSE',
  DatasetBusyError: 'DGS_BUSY',
  UploadUrlNotAllowedError: 'UPLOAD_URL_NOT_ALLOWED',
  UploadFailedError: 'UPLOAD_REJECTED',
  SourceChangedError: 'SOURCE_CHANGED',
  LockLostError: 'LOCK_LOST',
  LockStoreUnavailableError: 'LOCK_STORE_UNAVAILABLE',
  CsvRejectedError: 'CSV_INVALID',
  'States.Timeout': 'TASK_TIMEOUT',
};

/** What a person should do next, per code; appended to the error's own sentence. */
const NEXT_STEP: Record<string, string> = {
  DGS_UNAVAILABLE:
    'Nothing was published. Drop the file again later; if it keeps failing, check the data.gov.sg status page or contact the data.gov.sg team.',
  DGS_BAD_RESPONSE:
    'Nothing is known to be published. Check the dataset in the data.gov.sg admin dashboard before dropping the file again.',
  DGS_BUSY:
    'Another upload to this dataset is in progress outside this pipeline. Drop the file again once it has finished.',
  UPLOAD_URL_NOT_ALLOWED:
    'Nothing was sent. If data.gov.sg moved its upload storage, add the new origin to UPLOAD_ALLOWED_ORIGINS after checking it is genuine.',
  UPLOAD_REJECTED:
    'The file was not stored. Drop it again; if the same error repeats, report it with this file.',
  SOURCE_CHANGED:
    'The file was replaced or deleted while it was being published; the newer copy, if any, is handled on its own.',
  LOCK_LOST:
    'The run lost its hold on the dataset. Check the dataset in the admin dashboard before dropping the file again.',
  LOCK_STORE_UNAVAILABLE: 'The lock table could not be reached; nothing was published. Drop the file again.',
  TASK_TIMEOUT:
    'A step of the pipeline timed out. Check the dataset in the admin dashboard before dropping the file again.',
  INTERNAL:
    'This is a bug in govpub; the logs have the details. Check the dataset in the admin dashboard before dropping the file again.',
};

/** Describes an error thrown in this process (the upload function). */
export function failureFromError(error: unknown): Failure {
  if (error instanceof DropRejectedError) return { code: error.code, message: error.message };
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  const code = CODE_BY_ERROR_NAME[name] ?? 'INTERNAL';
  const detail = error instanceof UploadFailedError && error.s3Code ? ` [S3 ${error.s3Code}]` : '';
  return withNextStep(code, `${message.replace(/\.$/, '')}${detail}.`);
}

/** Describes an error caught by the state machine: `Cause` is a message or a Lambda error JSON. */
export function failureFromCaught(caught: CaughtError): Failure {
  const code = CODE_BY_ERROR_NAME[caught.Error] ?? 'INTERNAL';
  return withNextStep(code, `${causeMessage(caught.Cause) || caught.Error}.`);
}

/** Describes how polling ended, when it did not end in success. */
export function failureFromPoll(poll: PollState, uploads: number): Failure | undefined {
  switch (poll.result) {
    case 'published':
      return undefined;
    case 'validation-failed':
      return {
        code: 'DGS_VALIDATION_FAILED',
        message:
          'data.gov.sg rejected the file in validation: at least one row has a value that does not fit its column, and the API does not say which. Fix the data and drop the file again; to see the exact rows, upload the same file in the data.gov.sg admin dashboard, which lists them. The failures data.gov.sg returned are in `failures`.',
      };
    case 'ingestion-failed':
      return {
        code: 'DGS_INGESTION_FAILED',
        message: `data.gov.sg failed to ingest the file ${uploads} time(s) (Ingestion Failed: a problem on its side, not in the data). Drop the file again later; if it keeps failing, contact the data.gov.sg team.`,
      };
    case 'not-arrived':
      return {
        code: 'UPLOAD_UNCONFIRMED',
        message: `The file was sent ${uploads} time(s) but the connection broke before S3 answered, and data.gov.sg never showed it arriving. Nothing was published. Drop the file again.`,
      };
    case 'deadline-passed':
      return {
        code: 'INGESTION_TIMEOUT',
        message: `data.gov.sg did not finish processing the file by ${poll.deadlineAt} (last status: ${poll.statuses.at(-1)?.rawStatus ?? 'none'}). The upload may still complete: check the dataset in the admin dashboard before dropping the file again.`,
      };
    default:
      return { code: 'INTERNAL', message: 'Polling ended without a result. This is a bug in govpub.' };
  }
}

function withNextStep(code: string, message: string): Failure {
  const next = NEXT_STEP[code];
  return { code, message: next ? `${message} ${next}` : message };
}

function causeMessage(cause: string | undefined): string {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage.replace(/\.$/, '');
  } catch {
    // A plain message, as the local engine and some service errors give.
  }
  return cause.replace(/\.$/, '');
}
