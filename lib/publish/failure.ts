import { CsvRejectedError, DropRejectedError, UploadFailedError } from '../errors.js';
import type { CaughtError, PollState, Publication, PublicationState, StatusSeen } from './publication.js';

/** Why a file did not end published: a stable code for machines and a sentence for people. */
export interface Failure {
  code: string;
  message: string;
}

/**
 * How a file's publication ended. `failed`: nothing of it was published (data.gov.sg said so,
 * or nothing was sent), so it can be fixed and dropped again. `unconfirmed`: it was sent, and
 * whether data.gov.sg published it is not known; dropping it again could publish it twice.
 */
export type Verdict = { outcome: 'published' } | { outcome: 'failed' | 'unconfirmed'; failure: Failure };

export const PUBLISHED: Verdict = { outcome: 'published' };

export function failed(failure: Failure): Verdict {
  return { outcome: 'failed', failure };
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
  ParameterUnavailableError: 'SECRET_STORE_UNAVAILABLE',
  ConfigError: 'CONFIGURATION',
  CsvRejectedError: 'CSV_INVALID',
  'States.Timeout': 'TASK_TIMEOUT',
  'Sandbox.Timedout': 'TASK_TIMEOUT',
};

/**
 * Errors our code throws only when the operation that failed stored nothing at data.gov.sg
 * (sendFile's contract). Any other error of a task that sends (a Lambda killed or timed out, a
 * bug) may have struck after the last byte left.
 */
const NOTHING_STORED_ERRORS = new Set([
  'DgsAuthError',
  'DgsNotFoundError',
  'DgsTransientError',
  'DgsResponseError',
  'DatasetBusyError',
  'UploadUrlNotAllowedError',
  'UploadFailedError',
  'SourceChangedError',
  'LockStoreUnavailableError',
  'ParameterUnavailableError',
  'ConfigError',
]);

/** What a person should do next when nothing was published, per code; appended to the error's own sentence. */
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
  SECRET_STORE_UNAVAILABLE:
    'The API key could not be read from SSM; nothing was published. Drop the file again later.',
  CONFIGURATION: 'Nothing was sent. Fix the configuration, then drop the file again.',
  TASK_TIMEOUT:
    'A step of the pipeline timed out. Check the dataset in the admin dashboard before dropping the file again.',
  INTERNAL:
    'This is a bug in govpub; the logs have the details. Check the dataset in the admin dashboard before dropping the file again.',
};

/** Describes an error thrown in this process (the upload function), before anything was sent. */
export function failureFromError(error: unknown): Failure {
  if (error instanceof DropRejectedError) return { code: error.code, message: error.message };
  if (
    error instanceof CsvRejectedError &&
    error.report.problems.find((problem) => problem.severity === 'error')?.code === 'COLUMNS_DO_NOT_MATCH'
  ) {
    // "Is this the right dataset at all?" has its own code, when it is what stopped the file
    // (a file of binary junk also shares no column, but its encoding is the first thing wrong).
    return { code: 'COLUMNS_DO_NOT_MATCH', message: error.message };
  }
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  const code = CODE_BY_ERROR_NAME[name] ?? 'INTERNAL';
  const detail = error instanceof UploadFailedError && error.s3Code ? ` [S3 ${error.s3Code}]` : '';
  return withNextStep(code, `${message.replace(/\.$/, '')}${detail}.`);
}

/**
 * The outcome of a publication the state machine carried: what polling decided, or what the
 * error it caught means. Once the file was sent, only data.gov.sg's own terminal status makes it
 * `published` or `failed`; everything else (an outage past the deadline, a task that died, a
 * refused key while checking) is `unconfirmed`, never "failed, drop it again".
 */
export function verdictOfPublication(
  state: PublicationState,
  lock: {
    /** The lock record shows a send begun that `publication.uploads` does not hold, or is not ours. */ unrecordedSend: boolean;
  },
): Verdict {
  const { publication, poll, error } = state;
  if (error) {
    const code = CODE_BY_ERROR_NAME[error.Error] ?? 'INTERNAL';
    const cause = `${causeMessage(error.Cause) || error.Error}.`;
    // A re-upload after Ingestion Failed that failed without sending: data.gov.sg's failure stands.
    if (NOTHING_STORED_ERRORS.has(error.Error) && lastUploadFailedAtDgs(poll) && !lock.unrecordedSend) {
      return failed({
        code,
        message:
          `data.gov.sg failed to ingest the file (Ingestion Failed), and sending it again failed: ${cause} Nothing was published. ${NEXT_STEP[code] ?? ''}`.trim(),
      });
    }
    return unconfirmed(publication, poll, code, `then the pipeline could not follow it: ${cause}`);
  }
  switch (poll.result) {
    case 'published':
      return PUBLISHED;
    case 'validation-failed':
      return failed({
        code: 'DGS_VALIDATION_FAILED',
        message:
          'data.gov.sg rejected the file in validation: at least one row has a value that does not fit its column, and the API does not say which. Fix the data and drop the file again; to see the exact rows, upload the same file in the data.gov.sg admin dashboard, which lists them. The failures data.gov.sg returned are in `failures`.',
      });
    case 'ingestion-failed':
      return failed({
        code: 'DGS_INGESTION_FAILED',
        message: `data.gov.sg failed to ingest the file ${publication.uploads.length} time(s) (Ingestion Failed: a problem on its side, not in the data). Nothing was published. Drop the file again later; if it keeps failing, contact the data.gov.sg team.`,
      });
    case 'not-arrived':
      return unconfirmed(
        publication,
        poll,
        'UPLOAD_UNCONFIRMED',
        'but the connection broke before S3 answered, and data.gov.sg never showed it arriving (its status stayed exactly as it was before the send).',
      );
    case 'deadline-passed':
      return unconfirmed(
        publication,
        poll,
        'INGESTION_TIMEOUT',
        `but data.gov.sg had not finished processing it by ${poll.deadlineAt}; it may still complete.`,
      );
    case 'no-answer':
      return unconfirmed(
        publication,
        poll,
        'DGS_UNAVAILABLE',
        `but its status could not be read from ${poll.outage?.since ?? 'the last check'} until the deadline (${poll.outage?.lastError ?? 'no answer'}).`,
      );
    default:
      return unconfirmed(
        publication,
        poll,
        'INTERNAL',
        'but polling ended without a result (a bug in govpub).',
      );
  }
}

/** Describes an error caught by the state machine: `Cause` is a message or a Lambda error JSON. */
export function failureFromCaught(caught: CaughtError): Failure {
  const code = CODE_BY_ERROR_NAME[caught.Error] ?? 'INTERNAL';
  return withNextStep(code, `${causeMessage(caught.Cause) || caught.Error}.`);
}

/**
 * A file that was sent but whose outcome is not known. The message says that it was sent, what
 * data.gov.sg last showed, and what to check; never to drop it again, which could publish it twice.
 */
export function unconfirmed(
  publication: Pick<Publication, 'uploads' | 'mode'>,
  poll: Pick<PollState, 'statuses'> | undefined,
  code: string,
  what: string,
): Verdict {
  const sent = publication.uploads.length;
  const last = poll?.statuses.at(-1);
  const shown = last ? describeStatus(last) : 'nothing yet (no status was read after the send)';
  const rows = publication.mode === 'append' ? 'its rows are in the dataset' : 'the dataset holds its rows';
  return {
    outcome: 'unconfirmed',
    failure: {
      code,
      message:
        `The file was sent to data.gov.sg (${sent} time${sent === 1 ? '' : 's'}), ${what.endsWith('.') ? what : `${what}.`} ` +
        `data.gov.sg last showed: ${shown}. It may have been published, so it is filed in unconfirmed/, not failed/. ` +
        `Before doing anything, open the dataset in the data.gov.sg admin dashboard and check whether ${rows} and when it was last updated. ` +
        'If it was published, nothing more is needed. If it was not, and no upload is in progress there, publish it by copying it from unconfirmed/ back to incoming/.',
    },
  };
}

function describeStatus(seen: StatusSeen): string {
  const which = seen.ofThisUpload ? 'for this upload' : "still the previous upload's";
  return `"${seen.rawStatus}" (${which}; version ${seen.version ?? 'none'}, last read ${seen.lastSeenAt})`;
}

/** The newest status read belongs to the last upload and is Ingestion Failed. */
function lastUploadFailedAtDgs(poll: PollState): boolean {
  const last = poll.statuses.at(-1);
  return poll.decision === 'reupload' && last?.ofThisUpload === true && last.status === 'INGESTION_FAILED';
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
