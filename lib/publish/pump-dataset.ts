import type { DataGovSgClient } from '../datagovsg/client.js';
import { belongsToUpload, type StatusBaseline } from '../datagovsg/status.js';
import type { DatasetLock, DatasetLockRecord } from '../dataset-lock.js';
import type { DatasetDirectory } from '../datasets.js';
import type { DropBucket, DroppedObject } from '../drop-bucket.js';
import { type DropKey, isDropCandidate, parseDropKey } from '../drop-key.js';
import {
  CsvRejectedError,
  DatasetBusyError,
  DgsAuthError,
  DgsTransientError,
  DropRejectedError,
  LockLostError,
  LockStoreUnavailableError,
  SourceChangedError,
} from '../errors.js';
import type { PublicationExecutions } from '../executions.js';
import type { Log } from '../observability.js';
import type { OutcomeEvents } from '../outcome-events.js';
import { checkOptionsFor } from './check-options.js';
import { failureFromError } from './failure.js';
import { fileOutcome } from './file-outcome.js';
import { initialPoll, type PollSettings } from './poll.js';
import type { Publication, PublicationState, UploadAttempt } from './publication.js';
import { objectSource, type SendSettings, sendFile } from './send-file.js';

export interface PumpSettings extends PollSettings, SendSettings {
  CSV_CHECK: boolean;
  CSV_CHECK_MAX_PROBLEMS: number;
  MAX_FILE_BYTES: number;
  MAX_WAIT_SECONDS: number;
  LOCK_UPLOAD_LEASE_SECONDS: number;
}

export interface PumpDeps {
  bucket: DropBucket;
  dgs: Pick<DataGovSgClient, 'uploadLink' | 'appendLink' | 'ingestionStatus' | 'metadata'>;
  lock: DatasetLock;
  executions: PublicationExecutions;
  events: OutcomeEvents;
  datasets: DatasetDirectory;
  settings: PumpSettings;
  log: Log;
  now: () => Date;
  onProgress?: (progress: { key: string; bytesSent: number; size: number }) => void;
}

export type PumpResult =
  | { result: 'uploaded'; key: string; publicationId: string }
  | { result: 'resumed'; key: string; publicationId: string }
  | { result: 'locked' | 'idle' | 'dataset-busy' | 'deferred' | 'stopped' };

/**
 * Handles one object event (or a sweep's kick for a key): a key that cannot be published is
 * filed in failed/ at once; a good one makes its dataset move on.
 */
export async function handleDroppedKey(deps: PumpDeps, bucket: string, key: string): Promise<PumpResult> {
  if (!isDropCandidate(key)) return { result: 'idle' };
  let drop: DropKey;
  try {
    drop = parseDropKey(key, deps.datasets);
  } catch (error) {
    if (!(error instanceof DropRejectedError)) throw error;
    const object = await deps.bucket.head(bucket, key);
    if (object) {
      await fileOutcome(deps, {
        bucket,
        sourceKey: key,
        size: object.size,
        droppedAt: object.lastModified,
        failure: failureFromError(error),
      });
    }
    return { result: 'stopped' };
  }
  return pumpDataset(deps, bucket, drop.datasetId);
}

/**
 * Moves a dataset on by one file. Events are only a nudge: the truth is what waits under
 * incoming/ and who holds the dataset lock. So a duplicate or late event finds the dataset held
 * (or nothing waiting) and does nothing, and files wait, in key order, until the dataset is
 * free. Files that cannot be published are filed in failed/ on the way; the first good one is
 * uploaded and handed to the state machine, which keeps the lock until its outcome is filed.
 */
export async function pumpDataset(deps: PumpDeps, bucket: string, datasetId: string): Promise<PumpResult> {
  for (let round = 1; ; round++) {
    const result = await pumpOnce(deps, bucket, datasetId);
    // A file dropped while this round was finding nothing saw the lock held and left the work
    // to us, so look once more after releasing it rather than leave the file to the sweep.
    if (result.result !== 'idle' || round >= 3) return result;
    if ((await deps.bucket.listWaiting(bucket, deps.datasets.refsFor(datasetId))).length === 0) return result;
  }
}

/** Whether the lock must outlive this invocation: true from the moment bytes may have left. */
interface Hold {
  keep: boolean;
}

async function pumpOnce(deps: PumpDeps, bucket: string, datasetId: string): Promise<PumpResult> {
  const { settings, log } = deps;
  const acquired = await deps.lock.acquire(datasetId, settings.LOCK_UPLOAD_LEASE_SECONDS * 1000);
  if (!acquired.acquired) {
    log.info('DATASET_HELD', {
      datasetId,
      holderKey: acquired.current?.holderKey,
      phase: acquired.current?.phase,
    });
    return { result: 'locked' };
  }
  const token = acquired.token;
  const hold: Hold = { keep: false };
  try {
    if (acquired.previous) {
      log.warn('STALE_LOCK_TAKEN_OVER', {
        datasetId,
        holderKey: acquired.previous.holderKey,
        phase: acquired.previous.phase,
      });
      const resumed = await resumeStale(deps, bucket, token, acquired.previous, hold);
      if (resumed) return resumed;
    }
    for (;;) {
      const next = (await deps.bucket.listWaiting(bucket, deps.datasets.refsFor(datasetId)))[0];
      if (!next) return { result: 'idle' };
      const outcome = await publishOne(deps, token, next, hold);
      if (outcome !== 'next') return outcome;
    }
  } finally {
    // Once a file may have reached data.gov.sg, a failure keeps the lock: its lease runs out and
    // the take-over checks the status instead of sending the file a second time.
    if (!hold.keep) await deps.lock.release(datasetId, token);
  }
}

/** Publishes the first waiting file; 'next' means it was filed without upload, try the next. */
async function publishOne(
  deps: PumpDeps,
  token: string,
  listed: DroppedObject,
  hold: Hold,
): Promise<PumpResult | 'next'> {
  const { settings, log } = deps;
  let drop: DropKey;
  try {
    drop = parseDropKey(listed.key, deps.datasets);
    checkSize(listed, settings.MAX_FILE_BYTES);
  } catch (error) {
    if (!(error instanceof DropRejectedError)) throw error;
    await fileOutcome(deps, {
      bucket: listed.bucket,
      sourceKey: listed.key,
      expectedEtag: listed.etag,
      size: listed.size,
      droppedAt: listed.lastModified,
      failure: failureFromError(error),
    });
    return 'next';
  }
  const object = await deps.bucket.head(listed.bucket, listed.key);
  if (!object) return 'next';
  let publication: Publication | undefined;
  let attempt: UploadAttempt;
  try {
    const md5 = await deps.bucket.md5(object);
    const unsent = newPublication(token, object, drop, md5);
    publication = unsent;
    const check = settings.CSV_CHECK
      ? await checkOptionsFor(deps.dgs, drop.datasetId, drop.mode, settings.CSV_CHECK_MAX_PROBLEMS)
      : undefined;
    attempt = await sendFile(
      {
        ...deps,
        onSending: async (baseline) => {
          await deps.lock.update(drop.datasetId, token, {
            phase: 'uploading',
            holderKey: object.key,
            resumeState: JSON.stringify({ publication: unsent, baseline }),
            leaseMs: settings.LOCK_UPLOAD_LEASE_SECONDS * 1000,
          });
          hold.keep = true;
        },
      },
      {
        source: objectSource(deps.bucket, object),
        datasetId: drop.datasetId,
        mode: drop.mode,
        md5Base64: md5.base64,
        ...(check ? { check } : {}),
      },
    );
  } catch (error) {
    // sendFile throws only when nothing was stored: a refused or broken PUT, or a failure
    // before the PUT. So the dataset may go on.
    hold.keep = false;
    if (error instanceof SourceChangedError) return 'next';
    if (error instanceof DatasetBusyError && !waitedTooLong(object, settings, deps.now())) {
      log.info('DATASET_BUSY_AT_DGS', { datasetId: drop.datasetId, key: object.key });
      return { result: 'dataset-busy' };
    }
    if (isPassing(error) && !waitedTooLong(object, settings, deps.now())) {
      log.warn('UPLOAD_DEFERRED', { datasetId: drop.datasetId, key: object.key, error: errorName(error) });
      return { result: 'deferred' };
    }
    await fileOutcome(deps, {
      bucket: object.bucket,
      sourceKey: object.key,
      expectedEtag: object.etag,
      datasetId: drop.datasetId,
      datasetRef: drop.datasetRef,
      mode: drop.mode,
      size: object.size,
      droppedAt: object.lastModified,
      ...(publication ? { publication } : {}),
      ...(error instanceof CsvRejectedError ? { check: error.report } : {}),
      failure: failureFromError(error),
    });
    log.warn('UPLOAD_FAILED', { datasetId: drop.datasetId, key: object.key, error: errorName(error) });
    // A refused key would be refused for the next file too: leave the rest waiting for the sweep.
    return error instanceof DgsAuthError ? { result: 'stopped' } : 'next';
  }
  const uploaded = { ...publication, uploads: [attempt] };
  await startPolling(deps, uploaded, `${token}-1`);
  return { result: 'uploaded', key: object.key, publicationId: token };
}

/** Failures that may pass: the file waits in incoming/ for the sweep instead of failing. */
function isPassing(error: unknown): boolean {
  return (
    error instanceof DgsTransientError ||
    error instanceof LockStoreUnavailableError ||
    error instanceof LockLostError
  );
}

function waitedTooLong(object: DroppedObject, settings: PumpSettings, now: Date): boolean {
  return now.getTime() - object.lastModified.getTime() > settings.MAX_WAIT_SECONDS * 1000;
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'unknown';
}

/** A file's publication before its first upload; the lock token doubles as its id. */
export function newPublication(
  token: string,
  object: DroppedObject,
  drop: Pick<DropKey, 'datasetRef' | 'datasetId' | 'mode'>,
  md5: { hex: string; base64: string },
): Publication {
  return {
    publicationId: token,
    lockToken: token,
    bucket: object.bucket,
    sourceKey: object.key,
    datasetRef: drop.datasetRef,
    datasetId: drop.datasetId,
    mode: drop.mode,
    size: object.size,
    etag: object.etag,
    md5Hex: md5.hex,
    md5Base64: md5.base64,
    droppedAt: object.lastModified.toISOString(),
    uploads: [],
  };
}

/** Hands an uploaded file to the state machine; the lock now lives as long as it polls. */
async function startPolling(deps: PumpDeps, publication: Publication, executionName: string): Promise<void> {
  await deps.lock.update(publication.datasetId, publication.lockToken, {
    phase: 'polling',
    holderKey: publication.sourceKey,
    resumeState: JSON.stringify({ publication }),
    leaseMs: deps.settings.LOCK_POLL_LEASE_SECONDS * 1000,
  });
  const state: PublicationState = { publication, poll: initialPoll(deps.settings, deps.now()) };
  const { alreadyStarted } = await deps.executions.start(executionName, state);
  deps.log.info('POLLING_STARTED', { datasetId: publication.datasetId, executionName, alreadyStarted });
}

/**
 * A lock whose lease ran out belongs to a run that crashed. If its file is still waiting and
 * data.gov.sg shows that the upload arrived, polling resumes for it instead of sending it twice;
 * otherwise the file is treated as never sent. The crashed run's record is first copied under
 * the new token, so that a crash during the take-over loses nothing either.
 */
async function resumeStale(
  deps: PumpDeps,
  bucket: string,
  token: string,
  previous: DatasetLockRecord,
  hold: Hold,
): Promise<PumpResult | undefined> {
  if (!previous.resumeState || !previous.holderKey || previous.phase === 'selecting') return undefined;
  await deps.lock.update(previous.datasetId, token, {
    phase: previous.phase,
    holderKey: previous.holderKey,
    resumeState: previous.resumeState,
    leaseMs: deps.settings.LOCK_UPLOAD_LEASE_SECONDS * 1000,
  });
  hold.keep = true;
  const saved = JSON.parse(previous.resumeState) as { publication: Publication; baseline?: StatusBaseline };
  const object = await deps.bucket.head(bucket, previous.holderKey);
  const publication: Publication = { ...saved.publication, lockToken: token };
  let uploads = publication.uploads;
  if (object?.etag === publication.etag && previous.phase === 'uploading' && saved.baseline) {
    const current = await deps.dgs.ingestionStatus(publication.datasetId);
    if (belongsToUpload(current, saved.baseline)) {
      const at = deps.now().toISOString();
      uploads = [
        ...uploads,
        { startedAt: at, finishedAt: at, baseline: saved.baseline, links: 1, unconfirmed: true },
      ];
    }
  }
  if (object?.etag !== publication.etag || uploads.length === 0) {
    hold.keep = false;
    return undefined;
  }
  const resumed = { ...publication, uploads };
  await startPolling(
    deps,
    resumed,
    `${publication.publicationId}-${uploads.length}-r${deps.now().getTime()}`,
  );
  deps.log.warn('PUBLICATION_RESUMED', { datasetId: publication.datasetId, key: publication.sourceKey });
  return { result: 'resumed', key: publication.sourceKey, publicationId: publication.publicationId };
}

function checkSize(object: DroppedObject, maxBytes: number): void {
  if (object.size === 0) {
    throw new DropRejectedError(
      'EMPTY_FILE',
      'The file is empty (0 bytes): there is nothing to publish. Drop the complete CSV file.',
    );
  }
  if (object.size > maxBytes) {
    throw new DropRejectedError(
      'TOO_LARGE',
      `The file is ${object.size} bytes, over the ${maxBytes}-byte limit of one data.gov.sg upload. Split it into several files and publish the first with replace and the rest with append.`,
    );
  }
}
