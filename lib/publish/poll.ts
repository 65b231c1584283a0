import type { DataGovSgClient } from '../datagovsg/client.js';
import {
  belongsToUpload,
  type IngestionStatus,
  isIdle,
  isKnownStatus,
  isTerminal,
  type StatusBaseline,
} from '../datagovsg/status.js';
import type { DatasetLock } from '../dataset-lock.js';
import { DgsTransientError, LockStoreUnavailableError, ParameterUnavailableError } from '../errors.js';
import type { Log } from '../observability.js';
import type { PollState, Publication, PublicationState, StatusSeen } from './publication.js';

/**
 * Step Functions state is limited to 256 KB: a larger `failures` list stays out of the state,
 * and the outcome step reads it again for the report.
 */
const MAX_FAILURES_IN_STATE_BYTES = 64 * 1024;

export interface PollSettings {
  POLL_FIRST_WAIT_SECONDS: number;
  POLL_BACKOFF_RATE: number;
  POLL_MAX_WAIT_SECONDS: number;
  POLL_DEADLINE_SECONDS: number;
  REUPLOAD_MAX_ATTEMPTS: number;
  REUPLOAD_FIRST_WAIT_SECONDS: number;
  LOCK_POLL_LEASE_SECONDS: number;
  UNCONFIRMED_GRACE_POLLS: number;
  UNCONFIRMED_GRACE_SECONDS: number;
  MAX_WAIT_SECONDS: number;
}

export interface PollDeps {
  dgs: Pick<DataGovSgClient, 'ingestionStatus'>;
  lock: DatasetLock;
  settings: PollSettings;
  log: Log;
  now: () => Date;
}

/**
 * The poll state right after an upload. The first wait is long on purpose: early polls only
 * see the previous upload's result. Earlier statuses are kept so the report shows them all.
 */
export function initialPoll(settings: PollSettings, now: Date, earlier: StatusSeen[] = []): PollState {
  return {
    startedAt: now.toISOString(),
    deadlineAt: new Date(now.getTime() + settings.POLL_DEADLINE_SECONDS * 1000).toISOString(),
    nextWaitSeconds: settings.POLL_FIRST_WAIT_SECONDS,
    polls: 0,
    statuses: earlier,
    decision: 'wait',
  };
}

/**
 * One status check: renews the dataset lock, reads the ingestion status and decides what the
 * state machine does next (wait, re-upload, or file the outcome). Only a terminal status that
 * belongs to this upload ends the loop; unknown statuses keep it polling until the deadline. A
 * check that fails for a reason that may pass (data.gov.sg, the lock store or SSM unavailable)
 * is an outage: the publication waits at the backoff cap, since the file was sent and only
 * data.gov.sg can say what became of it.
 */
export async function checkIngestion(deps: PollDeps, state: PublicationState): Promise<PollState> {
  const { publication, poll } = state;
  const { settings } = deps;
  let current: IngestionStatus;
  try {
    await deps.lock.update(publication.datasetId, publication.lockToken, {
      phase: 'polling',
      leaseMs: settings.LOCK_POLL_LEASE_SECONDS * 1000,
    });
    current = await deps.dgs.ingestionStatus(publication.datasetId);
  } catch (error) {
    if (!isOutage(error)) throw error;
    return waitThroughOutage(deps, state, error);
  }
  const now = deps.now();
  const { outage, ...answered } = poll;
  // Time lost to an outage does not count against the deadline, up to the longest wait allowed.
  const deadlineAt = outage
    ? new Date(
        Math.min(
          Date.parse(poll.deadlineAt) + (now.getTime() - Date.parse(outage.since)),
          outageDeadline(publication, poll, settings),
        ),
      ).toISOString()
    : poll.deadlineAt;
  const lastUpload = publication.uploads.at(-1);
  const ofThisUpload = lastUpload ? belongsToUpload(current, lastUpload.baseline) : false;
  if (!isKnownStatus(current.status)) {
    deps.log.warn('STATUS_UNKNOWN', { datasetId: publication.datasetId, rawStatus: current.rawStatus });
  }
  const statuses = recordStatus(poll.statuses, current, ofThisUpload, now);
  const polls = poll.polls + 1;
  const base = { ...answered, deadlineAt, polls, statuses };
  deps.log.info('STATUS_CHECKED', {
    datasetId: publication.datasetId,
    status: current.status,
    ofThisUpload,
    polls,
  });

  if (ofThisUpload && isTerminal(current.status)) {
    if (current.status === 'INGESTION_SUCCESS') return { ...base, decision: 'file', result: 'published' };
    const failures = boundedFailures(current.failures);
    if (current.status === 'VALIDATION_FAILED') {
      return { ...base, decision: 'file', result: 'validation-failed', ...failures };
    }
    const reuploadsDone = publication.uploads.length - 1;
    if (reuploadsDone < settings.REUPLOAD_MAX_ATTEMPTS) {
      return {
        ...base,
        decision: 'reupload',
        nextWaitSeconds: settings.REUPLOAD_FIRST_WAIT_SECONDS * 2 ** reuploadsDone,
        ...failures,
      };
    }
    return { ...base, decision: 'file', result: 'ingestion-failed', ...failures };
  }
  // A send whose answer was lost, and which data.gov.sg never shows arriving, did not arrive
  // (S3 stores nothing short of its Content-Length): send it again rather than wait for the deadline.
  if (lastUpload?.unconfirmed && neverArrived(current, lastUpload, settings, polls, now)) {
    if (publication.uploads.length - 1 < settings.REUPLOAD_MAX_ATTEMPTS) {
      deps.log.warn('UNCONFIRMED_UPLOAD_NOT_ARRIVED', { datasetId: publication.datasetId, polls });
      return { ...base, decision: 'reupload', nextWaitSeconds: 1 };
    }
    return { ...base, decision: 'file', result: 'not-arrived' };
  }
  const secondsLeft = Math.floor((Date.parse(deadlineAt) - now.getTime()) / 1000);
  if (secondsLeft <= 0) return { ...base, decision: 'file', result: 'deadline-passed' };
  const elapsedSeconds = (now.getTime() - Date.parse(poll.startedAt)) / 1000;
  return {
    ...base,
    decision: 'wait',
    nextWaitSeconds: Math.max(1, Math.min(nextWait(settings, elapsedSeconds), secondsLeft)),
  };
}

/** Failures that may pass; anything else (a refused key, a lost lock, a bug) ends the polling. */
function isOutage(error: unknown): error is Error {
  return (
    error instanceof DgsTransientError ||
    error instanceof LockStoreUnavailableError ||
    error instanceof ParameterUnavailableError
  );
}

/**
 * A failed check: wait at the backoff cap and check again, until the later of the polling
 * deadline and MAX_WAIT_SECONDS after the first send; then the file is filed as unconfirmed.
 */
function waitThroughOutage(deps: PollDeps, state: PublicationState, error: Error): PollState {
  const { publication, poll } = state;
  const now = deps.now();
  const outage = {
    since: poll.outage?.since ?? now.toISOString(),
    failedChecks: (poll.outage?.failedChecks ?? 0) + 1,
    lastError: `${error.name}: ${error.message}`,
  };
  deps.log.warn('STATUS_CHECK_FAILED', {
    datasetId: publication.datasetId,
    error: error.name,
    failedChecks: outage.failedChecks,
  });
  const secondsLeft = Math.floor((outageDeadline(publication, poll, deps.settings) - now.getTime()) / 1000);
  if (secondsLeft <= 0) return { ...poll, outage, decision: 'file', result: 'no-answer' };
  return {
    ...poll,
    outage,
    decision: 'wait',
    nextWaitSeconds: Math.max(1, Math.min(deps.settings.POLL_MAX_WAIT_SECONDS, secondsLeft)),
  };
}

/** The latest a sent file may wait for an answer: the polling deadline, or MAX_WAIT_SECONDS after the first send. */
function outageDeadline(
  publication: Pick<Publication, 'uploads'>,
  poll: Pick<PollState, 'deadlineAt' | 'startedAt'>,
  settings: Pick<PollSettings, 'MAX_WAIT_SECONDS'>,
): number {
  const firstSent = Date.parse(publication.uploads[0]?.startedAt ?? poll.startedAt);
  return Math.max(Date.parse(poll.deadlineAt), firstSent + settings.MAX_WAIT_SECONDS * 1000);
}

function boundedFailures(failures: unknown): Pick<PollState, 'failures' | 'failuresOmitted'> {
  const size = Buffer.byteLength(JSON.stringify(failures ?? null));
  return size <= MAX_FAILURES_IN_STATE_BYTES ? { failures } : { failuresOmitted: true };
}

/**
 * Only when nothing at all happened: the status is idle and still exactly the pre-upload one
 * (status, version, updatedAt), after both a number of polls and a time grace. A send that was
 * stored shows Pending or a moved version/updatedAt well within that time.
 */
function neverArrived(
  current: IngestionStatus,
  upload: { baseline: StatusBaseline; finishedAt: string },
  settings: PollSettings,
  polls: number,
  now: Date,
): boolean {
  const unchanged =
    current.status === upload.baseline.status &&
    current.version === upload.baseline.version &&
    current.updatedAt === upload.baseline.updatedAt &&
    isIdle(current.status);
  const waited = now.getTime() - Date.parse(upload.finishedAt) >= settings.UNCONFIRMED_GRACE_SECONDS * 1000;
  return unchanged && waited && polls >= settings.UNCONFIRMED_GRACE_POLLS;
}

/**
 * The wait after a status check made `elapsedSeconds` after polling started (the wait before the
 * first check is POLL_FIRST_WAIT_SECONDS). Each check comes POLL_BACKOFF_RATE times as long after
 * the start as the one before, at most POLL_MAX_WAIT_SECONDS apart. The wait is thus a fixed
 * fraction of the time already waited, so an ingestion of any length T from the first wait on is
 * seen less than (rate − 1) × T after it ended, and within the cap (waits that themselves grow
 * geometrically leave a long gap after the first check: see docs/architecture.md). It is taken
 * from the clock, not from a count of polls, so the time a check takes does not push the
 * schedule later. An elapsed time below the first wait (clocks of two functions) counts as the
 * first wait: no wait is shorter than the one after the first check.
 */
export function nextWait(
  settings: Pick<PollSettings, 'POLL_FIRST_WAIT_SECONDS' | 'POLL_BACKOFF_RATE' | 'POLL_MAX_WAIT_SECONDS'>,
  elapsedSeconds: number,
): number {
  // A start time that does not parse (NaN) waits as after the first check: a NaN wait would stop
  // the execution in its Wait state, with no catch.
  const elapsed = Number.isFinite(elapsedSeconds)
    ? Math.max(settings.POLL_FIRST_WAIT_SECONDS, elapsedSeconds)
    : settings.POLL_FIRST_WAIT_SECONDS;
  const wait = Math.round((settings.POLL_BACKOFF_RATE - 1) * elapsed);
  return Math.max(1, Math.min(settings.POLL_MAX_WAIT_SECONDS, wait));
}

/** Appends a status, folding repeats of the same status and version into one entry. */
function recordStatus(
  seen: StatusSeen[],
  current: IngestionStatus,
  ofThisUpload: boolean,
  now: Date,
): StatusSeen[] {
  const last = seen.at(-1);
  const at = now.toISOString();
  if (
    last &&
    last.status === current.status &&
    last.version === current.version &&
    last.ofThisUpload === ofThisUpload
  ) {
    return [...seen.slice(0, -1), { ...last, lastSeenAt: at, polls: last.polls + 1 }];
  }
  return [
    ...seen,
    {
      status: current.status,
      rawStatus: current.rawStatus,
      version: current.version,
      updatedAt: current.updatedAt,
      ofThisUpload,
      firstSeenAt: at,
      lastSeenAt: at,
      polls: 1,
    },
  ];
}
