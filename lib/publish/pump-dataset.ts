import type { DataGovSgClient } from '../datagovsg/client.js';
import { belongsToUpload, type StatusBaseline } from '../datagovsg/status.js';
import type { DatasetLock, DatasetLockRecord } from '../dataset-lock.js';
import type { DatasetDirectory } from '../datasets.js';
import type { DropBucket, DroppedObject } from '../drop-bucket.js';
import { type DropKey, isDropCandidate, parseDropKey } from '../drop-key.js';
import { DatasetBusyError, DgsAuthError, DropRejectedError, SourceChangedError } from '../errors.js';
import type { PublicationExecutions } from '../executions.js';
import type { Log } from '../observability.js';
import type { OutcomeEvents } from '../outcome-events.js';
import { failureFromError } from './failure.js';
import { fileOutcome } from './file-outcome.js';
import { initialPoll, type PollSettings } from './poll.js';
import type { Publication, PublicationState, UploadAttempt } from './publication.js';
import { sendFile } from './send-file.js';

export interface PumpSettings extends PollSettings {
  MAX_FILE_BYTES: number;
  UPLOAD_MAX_ATTEMPTS: number;
  LOCK_UPLOAD_LEASE_SECONDS: number;
}

export interface PumpDeps {
  bucket: DropBucket;
  dgs: Pick<DataGovSgClient, 'uploadLink' | 'appendLink' | 'ingestionStatus'>;
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
  | { result: 'locked' | 'idle' | 'dataset-busy' | 'stopped' };

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
  const { settings, log } = deps;
  const uploadLeaseMs = settings.LOCK_UPLOAD_LEASE_SECONDS * 1000;
  const acquired = await deps.lock.acquire(datasetId, uploadLeaseMs);
  if (!acquired.acquired) {
    log.info('DATASET_HELD', {
      datasetId,
      holderKey: acquired.current?.holderKey,
      phase: acquired.current?.phase,
    });
    return { result: 'locked' };
  }
  const token = acquired.token;
  let keepLock = false;
  try {
    if (acquired.previous) {
      log.warn('STALE_LOCK_TAKEN_OVER', {
        datasetId,
        holderKey: acquired.previous.holderKey,
        phase: acquired.previous.phase,
      });
      const resumed = await resumeStale(deps, bucket, token, acquired.previous);
      if (resumed) {
        keepLock = true;
        return resumed;
      }
    }
    for (;;) {
      const next = (await deps.bucket.listWaiting(bucket, deps.datasets.refsFor(datasetId)))[0];
      if (!next) return { result: 'idle' };
      const outcome = await publishOne(deps, token, next);
      if (outcome === 'next') continue;
      if (outcome.result === 'uploaded') keepLock = true;
      return outcome;
    }
  } finally {
    if (!keepLock) await deps.lock.release(datasetId, token);
  }
}

/** Publishes the first waiting file; 'next' means it was filed without upload, try the next. */
async function publishOne(
  deps: PumpDeps,
  token: string,
  listed: DroppedObject,
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
      size: listed.size,
      droppedAt: listed.lastModified,
      failure: failureFromError(error),
    });
    return 'next';
  }
  const object = await deps.bucket.head(listed.bucket, listed.key);
  if (!object) return 'next';
  const md5 = await deps.bucket.md5(object);
  const publication = newPublication(token, object, drop, md5);
  let attempt: UploadAttempt;
  try {
    attempt = await sendFile(
      {
        ...deps,
        onSending: (baseline) =>
          deps.lock.update(drop.datasetId, token, {
            phase: 'uploading',
            holderKey: object.key,
            resumeState: JSON.stringify({ publication, baseline }),
            leaseMs: settings.LOCK_UPLOAD_LEASE_SECONDS * 1000,
          }),
      },
      { object, datasetId: drop.datasetId, mode: drop.mode, md5Base64: md5.base64 },
    );
  } catch (error) {
    if (error instanceof DatasetBusyError) {
      log.info('DATASET_BUSY_AT_DGS', { datasetId: drop.datasetId, key: object.key });
      return { result: 'dataset-busy' };
    }
    if (error instanceof SourceChangedError) return 'next';
    await fileOutcome(deps, {
      bucket: object.bucket,
      sourceKey: object.key,
      datasetId: drop.datasetId,
      datasetRef: drop.datasetRef,
      mode: drop.mode,
      size: object.size,
      droppedAt: object.lastModified,
      failure: failureFromError(error),
    });
    log.warn('UPLOAD_FAILED', {
      datasetId: drop.datasetId,
      key: object.key,
      error: error instanceof Error ? error.name : 'unknown',
    });
    // A refused key would be refused for every file: leave the rest waiting for a fixed key.
    return error instanceof DgsAuthError ? { result: 'stopped' } : 'next';
  }
  const uploaded = { ...publication, uploads: [attempt] };
  await startPolling(deps, uploaded, `${token}-1`);
  return { result: 'uploaded', key: object.key, publicationId: token };
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
 * otherwise the file is treated as never sent.
 */
async function resumeStale(
  deps: PumpDeps,
  bucket: string,
  token: string,
  previous: DatasetLockRecord,
): Promise<PumpResult | undefined> {
  if (!previous.resumeState || !previous.holderKey || previous.phase === 'selecting') return undefined;
  const saved = JSON.parse(previous.resumeState) as { publication: Publication; baseline?: StatusBaseline };
  const object = await deps.bucket.head(bucket, previous.holderKey);
  if (!object || object.etag !== saved.publication.etag) return undefined;
  const publication: Publication = { ...saved.publication, lockToken: token };
  if (previous.phase === 'uploading' && saved.baseline) {
    const current = await deps.dgs.ingestionStatus(publication.datasetId);
    if (!belongsToUpload(current, saved.baseline)) return undefined;
    const at = deps.now().toISOString();
    publication.uploads = [
      ...publication.uploads,
      { startedAt: at, finishedAt: at, baseline: saved.baseline, links: 1, unconfirmed: true },
    ];
  }
  if (publication.uploads.length === 0) return undefined;
  await startPolling(
    deps,
    publication,
    `${publication.publicationId}-${publication.uploads.length}-r${Date.now()}`,
  );
  deps.log.warn('PUBLICATION_RESUMED', { datasetId: publication.datasetId, key: object.key });
  return { result: 'resumed', key: object.key, publicationId: publication.publicationId };
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
