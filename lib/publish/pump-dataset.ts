import type { DataGovSgClient } from '../datagovsg/client.js';
import { belongsToUpload } from '../datagovsg/status.js';
import type { DatasetLock, DatasetLockRecord } from '../dataset-lock.js';
import type { DatasetDirectory } from '../datasets.js';
import type { DropBucket, DroppedObject } from '../drop-bucket.js';
import { type DropKey, isDropCandidate, parseDropKey } from '../drop-key.js';
import { type DropperRecords, dropperOf } from '../dropped-by.js';
import {
  ConfigError,
  CsvRejectedError,
  DatasetBusyError,
  DgsAuthError,
  DgsTransientError,
  DropRejectedError,
  LockLostError,
  LockStoreUnavailableError,
  ParameterUnavailableError,
  SourceChangedError,
} from '../errors.js';
import type { PublicationExecutions } from '../executions.js';
import type { Kicker } from '../kicks.js';
import type { Metrics } from '../metrics.js';
import type { Log } from '../observability.js';
import type { OutcomeEvents } from '../outcome-events.js';
import type { Sleep } from '../retry.js';
import { checkOptionsFor } from './check-options.js';
import { failed, failureFromError, unconfirmed } from './failure.js';
import { fileOutcome, finishEarlierFiling } from './file-outcome.js';
import { initialPoll, type PollSettings } from './poll.js';
import {
  type Publication,
  type PublicationState,
  parseResumeState,
  type ResumeState,
  type UploadAttempt,
} from './publication.js';
import { objectSource, type SendSettings, sendFile } from './send-file.js';
import { type TimeBudget, timeToSend } from './time-budget.js';

export interface PumpSettings extends PollSettings, SendSettings {
  CSV_CHECK: boolean;
  CSV_CHECK_MAX_PROBLEMS: number;
  MAX_FILE_BYTES: number;
  MAX_WAIT_SECONDS: number;
  LOCK_UPLOAD_LEASE_SECONDS: number;
  MAX_TAKEOVERS: number;
  UPLOAD_ASSUMED_MIB_PER_SECOND: number;
}

export interface PumpDeps {
  bucket: DropBucket;
  dgs: Pick<DataGovSgClient, 'uploadLink' | 'appendLink' | 'ingestionStatus' | 'metadata' | 'redact'>;
  lock: DatasetLock;
  /** Who dropped which file, as the upload function recorded it from the S3 events. */
  droppers: DropperRecords;
  executions: PublicationExecutions;
  events: OutcomeEvents;
  datasets: DatasetDirectory;
  settings: PumpSettings;
  log: Log;
  metrics: Metrics;
  now: () => Date;
  onProgress?: (progress: { key: string; bytesSent: number; size: number }) => void;
  /** This invocation's time limit (Lambda's context); without it, sends are not timed. */
  timeBudget?: TimeBudget;
  /** Starts a fresh invocation for a dataset, when this one has too little time left to send. */
  handOver?: Kicker;
  sleep?: Sleep;
}

export type PumpResult =
  | { result: 'uploaded'; key: string; publicationId: string }
  | { result: 'resumed'; key: string; publicationId: string }
  | { result: 'handed-over'; key: string }
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
        version: { etag: object.etag, droppedAt: object.lastModified },
        size: object.size,
        droppedBy: await dropperOf(deps, object),
        verdict: failed(failureFromError(error)),
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
    if (result.result === 'handed-over' && deps.handOver) {
      // Sent once the lock is released, so that the fresh invocation finds the dataset free.
      await deps.handOver.kick({ source: 'govpub.kick', reason: 'handover', bucket, datasetId });
      deps.log.info('HANDED_OVER', { datasetId, key: result.key });
    }
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
    let carried: Carried | undefined;
    if (acquired.previous) {
      log.warn('STALE_LOCK_TAKEN_OVER', {
        datasetId,
        holderKey: acquired.previous.holderKey,
        phase: acquired.previous.phase,
        takeovers: acquired.previous.takeovers + 1,
      });
      deps.metrics.add('TakeOvers', 1);
      const taken = await takeOver(deps, bucket, token, acquired.previous, hold);
      if ('result' in taken) return taken;
      carried = taken.carried;
    }
    for (;;) {
      const next = (await deps.bucket.listWaiting(bucket, deps.datasets.refsFor(datasetId)))[0];
      if (!next) return { result: 'idle' };
      const outcome = await publishOne(deps, token, next, hold, carried);
      if (outcome !== 'next') return outcome;
    }
  } finally {
    // Once a file may have reached data.gov.sg, a failure keeps the lock: its lease runs out and
    // the take-over checks the status instead of sending the file a second time.
    if (!hold.keep) await deps.lock.release(datasetId, token);
  }
}

/** A file whose run died before sending it, and how many times that happened. */
interface Carried {
  key: string;
  etag: string;
  takeovers: number;
}

/** Publishes the first waiting file; 'next' means it was filed without upload, try the next. */
async function publishOne(
  deps: PumpDeps,
  token: string,
  listed: DroppedObject,
  hold: Hold,
  carried: Carried | undefined,
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
      version: { etag: listed.etag, droppedAt: listed.lastModified },
      size: listed.size,
      droppedBy: await dropperOf(deps, listed),
      verdict: failed(failureFromError(error)),
    });
    return 'next';
  }
  const headed = await deps.bucket.head(listed.bucket, listed.key);
  if (!headed) return 'next';
  // Read once, when the file is chosen: from here on its publication carries it to the report.
  const object = { ...headed, droppedBy: await dropperOf(deps, headed) };
  const timing = timeToSend(deps.timeBudget, object.size, deps.bucket.md5NeedsRead(object), settings);
  if (timing.verdict === 'hand-over' && deps.handOver) {
    log.info('TOO_LITTLE_TIME_LEFT', { key: object.key, size: object.size, ...timing });
    return { result: 'handed-over', key: object.key };
  }
  if (timing.verdict === 'too-slow') {
    await fileOutcome(deps, { ...factsOf(object, drop), verdict: failed(timing.failure) });
    return 'next';
  }
  const takeovers = carried?.key === object.key && carried.etag === object.etag ? carried.takeovers : 0;
  // Recorded before any work on the file, so that a run that dies on it is counted (takeOver).
  await deps.lock.update(drop.datasetId, token, {
    phase: 'selecting',
    holderKey: object.key,
    holderEtag: object.etag,
    takeovers,
    resumeState: null,
    leaseMs: settings.LOCK_UPLOAD_LEASE_SECONDS * 1000,
  });
  let publication: Publication | undefined;
  let attempt: UploadAttempt;
  try {
    const md5 = await deps.bucket.md5(object);
    const unsent = newPublication(token, object, drop, md5);
    publication = unsent;
    const check = settings.CSV_CHECK
      ? await checkOptionsFor(
          deps.dgs,
          drop.datasetId,
          drop.mode,
          settings.CSV_CHECK_MAX_PROBLEMS,
          drop.newColumns,
        )
      : undefined;
    attempt = await sendFile(
      {
        ...deps,
        onSending: async (baseline) => {
          await deps.lock.update(drop.datasetId, token, {
            phase: 'uploading',
            holderKey: object.key,
            resumeState: JSON.stringify({ publication: unsent, baseline } satisfies ResumeState),
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
      ...factsOf(object, drop),
      ...(publication ? { publication } : {}),
      ...(error instanceof CsvRejectedError ? { check: error.report } : {}),
      verdict: failed(failureFromError(error)),
    });
    log.warn('UPLOAD_FAILED', { datasetId: drop.datasetId, key: object.key, error: errorName(error) });
    // A refused key or a broken configuration would stop the next file too: leave the rest
    // waiting for the sweep.
    return error instanceof DgsAuthError || error instanceof ConfigError ? { result: 'stopped' } : 'next';
  }
  const uploaded = { ...publication, uploads: [attempt] };
  await startPolling(deps, uploaded, `${token}-1`);
  return { result: 'uploaded', key: object.key, publicationId: token };
}

/** What is known of a chosen file before it is sent, for its outcome. */
function factsOf(object: DroppedObject & { droppedBy: string | null }, drop: DropKey) {
  return {
    bucket: object.bucket,
    sourceKey: object.key,
    version: { etag: object.etag, droppedAt: object.lastModified },
    datasetId: drop.datasetId,
    datasetRef: drop.datasetRef,
    mode: drop.mode,
    size: object.size,
    ...(object.requestedBy ? { requestedBy: object.requestedBy } : {}),
    droppedBy: object.droppedBy,
  };
}

/** Failures that may pass: the file waits in incoming/ for the sweep instead of failing. */
function isPassing(error: unknown): boolean {
  return (
    error instanceof DgsTransientError ||
    error instanceof LockStoreUnavailableError ||
    error instanceof LockLostError ||
    error instanceof ParameterUnavailableError
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
  object: DroppedObject & { droppedBy?: string | null },
  drop: Pick<DropKey, 'datasetRef' | 'datasetId' | 'mode' | 'newColumns'>,
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
    newColumns: drop.newColumns,
    size: object.size,
    etag: object.etag,
    md5Hex: md5.hex,
    md5Base64: md5.base64,
    droppedAt: object.lastModified.toISOString(),
    requestedBy: object.requestedBy ?? null,
    droppedBy: object.droppedBy ?? null,
    uploads: [],
  };
}

/** Hands an uploaded file to the state machine; the lock now lives as long as it polls. */
async function startPolling(deps: PumpDeps, publication: Publication, executionName: string): Promise<void> {
  await deps.lock.update(publication.datasetId, publication.lockToken, {
    phase: 'polling',
    holderKey: publication.sourceKey,
    resumeState: JSON.stringify({ publication } satisfies ResumeState),
    leaseMs: deps.settings.LOCK_POLL_LEASE_SECONDS * 1000,
  });
  const state: PublicationState = { publication, poll: initialPoll(deps.settings, deps.now()) };
  const { alreadyStarted } = await deps.executions.start(executionName, state);
  deps.log.info('POLLING_STARTED', { datasetId: publication.datasetId, executionName, alreadyStarted });
}

/**
 * A lock whose lease ran out belongs to a run that died (killed, timed out, out of memory). The
 * lease is the grace that lets a send it may have finished show in data.gov.sg's status, so:
 * - a send recorded in the lock (its baseline) that data.gov.sg shows arriving, or a file already
 *   polled for, resumes polling: never a second send;
 * - a file it was working on that never reached data.gov.sg is sent again, by the caller's loop.
 * Take-overs of one file are counted in the record; after MAX_TAKEOVERS the file is filed
 * (`TASK_TIMEOUT`): in failed/ if nothing reached data.gov.sg, else in unconfirmed/. The record is
 * first copied under the new token, so that a crash during the take-over loses nothing either.
 */
async function takeOver(
  deps: PumpDeps,
  bucket: string,
  token: string,
  previous: DatasetLockRecord,
  hold: Hold,
): Promise<PumpResult | { carried?: Carried }> {
  const { settings } = deps;
  const saved = parseResumeState(previous.resumeState);
  const key = previous.holderKey ?? saved?.publication.sourceKey;
  const etag = previous.holderEtag ?? saved?.publication.etag;
  if (!key || !etag) return {};
  const takeovers = previous.takeovers + 1;
  await deps.lock.update(previous.datasetId, token, {
    phase: previous.phase,
    holderKey: key,
    holderEtag: etag,
    takeovers,
    ...(previous.resumeState ? { resumeState: previous.resumeState } : {}),
    leaseMs: settings.LOCK_UPLOAD_LEASE_SECONDS * 1000,
  });
  hold.keep = true;
  if (saved && (await filedEarlier(deps, previous.datasetId, token, saved.publication))) {
    hold.keep = false;
    return {};
  }
  let uploads = saved?.publication.uploads ?? [];
  if (saved?.baseline) {
    const current = await deps.dgs.ingestionStatus(previous.datasetId);
    if (belongsToUpload(current, saved.baseline)) {
      const at = deps.now().toISOString();
      uploads = [
        ...uploads,
        { startedAt: at, finishedAt: at, baseline: saved.baseline, links: 1, unconfirmed: true },
      ];
    }
  }
  if (saved && uploads.length > 0) {
    const publication: Publication = { ...saved.publication, lockToken: token, uploads };
    if (takeovers > settings.MAX_TAKEOVERS) {
      await fileOutcome(deps, {
        bucket: publication.bucket,
        sourceKey: publication.sourceKey,
        version: { etag: publication.etag, droppedAt: publication.droppedAt },
        publication,
        verdict: unconfirmed(
          publication,
          undefined,
          'TASK_TIMEOUT',
          `then the pipeline's runs stopped ${takeovers} times while following it (each ran out of time or died), so its outcome was never read.`,
        ),
      });
      hold.keep = false;
      return {};
    }
    await startPolling(
      deps,
      publication,
      `${publication.publicationId}-${uploads.length}-r${deps.now().getTime()}`,
    );
    deps.log.warn('PUBLICATION_RESUMED', {
      datasetId: publication.datasetId,
      key: publication.sourceKey,
      takeovers,
    });
    return { result: 'resumed', key: publication.sourceKey, publicationId: publication.publicationId };
  }
  // Nothing reached data.gov.sg: the file is sent again, unless it changed or its runs keep dying.
  hold.keep = false;
  const object = await deps.bucket.head(bucket, key);
  if (object?.etag !== etag) return {};
  const version = { bucket, sourceKey: key, etag, droppedAt: object.lastModified.toISOString() };
  if (!saved && (await filedEarlier(deps, previous.datasetId, token, version))) return {};
  if (takeovers > settings.MAX_TAKEOVERS) {
    const drop = saved?.publication;
    await fileOutcome(deps, {
      bucket,
      sourceKey: key,
      version: { etag, droppedAt: object.lastModified },
      size: object.size,
      ...(drop ? { datasetId: drop.datasetId, datasetRef: drop.datasetRef, mode: drop.mode } : {}),
      ...(object.requestedBy ? { requestedBy: object.requestedBy } : {}),
      droppedBy: drop?.droppedBy ?? (await dropperOf(deps, object)),
      verdict: failed({
        code: 'TASK_TIMEOUT',
        message: `The upload function stopped ${takeovers} times while publishing this file (it ran out of its 15-minute limit or of memory), and data.gov.sg never showed the file arriving: nothing was published. The file (${object.size} bytes) is probably too large, or the connection too slow, to send within the limit. Split it into smaller files (the first with replace, the rest with append) and drop those.`,
      }),
    });
    return {};
  }
  return { carried: { key, etag, takeovers } };
}

/**
 * Whether a run had filed the version a take-over found in the lock record (its release, or the
 * rest of its filing, met an outage). If so the filing is finished and the record freed of it,
 * so that the dataset's next file goes on.
 */
async function filedEarlier(
  deps: PumpDeps,
  datasetId: string,
  token: string,
  version: Pick<Publication, 'bucket' | 'sourceKey' | 'etag' | 'droppedAt'>,
): Promise<boolean> {
  const report = await finishEarlierFiling(deps, {
    bucket: version.bucket,
    sourceKey: version.sourceKey,
    version: { etag: version.etag, droppedAt: version.droppedAt },
  });
  if (!report) return false;
  await deps.lock.update(datasetId, token, {
    phase: 'selecting',
    resumeState: null,
    leaseMs: deps.settings.LOCK_UPLOAD_LEASE_SECONDS * 1000,
  });
  return true;
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
