import type { Readable } from 'node:stream';
import type { DatasetLock } from '../dataset-lock.js';
import type { DropBucket, DroppedObject } from '../drop-bucket.js';
import { PERFORMANCE_PREFIX } from '../drop-key.js';
import { type DropperRecords, dropperOf, unknownDropperNote } from '../dropped-by.js';
import { DropRejectedError, PpForwardDeferredError, PpTokenMissingError } from '../errors.js';
import { fileLeaseId, underFileLease } from '../file-lease.js';
import { fileReport } from '../filing.js';
import type { Metrics } from '../metrics.js';
import type { Log } from '../observability.js';
import type { OutcomeEvents } from '../outcome-events.js';
import type { ForwardResult } from './forward.js';
import { problemSummary } from './problems.js';

const GROUP_OR_TYPE = /^[a-z0-9-]+$/;

/** A file under `incoming/performance/<dataGroup>/<dataType>/<name>.json|.ndjson`, taken apart. */
export interface PerformanceDropKey {
  key: string;
  dataGroup: string;
  dataType: string;
  name: string;
  format: 'json' | 'ndjson';
}

/** Throws DropRejectedError for a key outside the layout or a file that is not JSON. */
export function parsePerformanceKey(key: string): PerformanceDropKey {
  const layout = 'Expected incoming/performance/<data-group>/<data-type>/<name>.json or .ndjson';
  const segments = key.slice(PERFORMANCE_PREFIX.length).split('/');
  const [dataGroup = '', dataType = '', ...nameParts] = segments;
  const name = nameParts.join('/');
  if (
    !key.startsWith(PERFORMANCE_PREFIX) ||
    nameParts.length === 0 ||
    segments.some((s) => s === '' || s === '.' || s === '..')
  ) {
    throw new DropRejectedError('KEY_LAYOUT', `The key ${key} does not follow the layout. ${layout}.`);
  }
  if (!GROUP_OR_TYPE.test(dataGroup) || !GROUP_OR_TYPE.test(dataType)) {
    throw new DropRejectedError(
      'BAD_DATA_SET',
      `"${dataGroup}/${dataType}" is not a data set: data groups and types are lower-case letters, digits and "-". ${layout}.`,
    );
  }
  const lower = name.toLowerCase();
  const format = lower.endsWith('.ndjson') ? 'ndjson' : lower.endsWith('.json') ? 'json' : undefined;
  if (!format) {
    throw new DropRejectedError(
      'NOT_JSON',
      `Only .json (an array or one object) and .ndjson (one record a line) files can be forwarded; ${name} is neither.`,
    );
  }
  return { key, dataGroup, dataType, name, format };
}

/**
 * The report beside a forwarded file, and the detail of its event.
 * 2: `requestedBy` and `droppedBy`, with a note saying where to look when droppedBy is null.
 */
export interface ForwardFileReport {
  reportVersion: 2;
  outcome: 'forwarded' | 'failed';
  dataGroup: string | null;
  dataType: string | null;
  bucket: string;
  sourceKey: string;
  fileKey: string;
  reportKey: string;
  size: number;
  /** The HTTP caller's IAM ARN for records the forwarder's route queued as this file; else null. */
  requestedBy: string | null;
  /** Who put the file: its S3 event's principal id; null when no event of it was recorded. */
  droppedBy: string | null;
  times: { droppedAt: string; startedAt: string; finishedAt: string };
  result: ForwardResult | null;
  error: { code: string; message: string } | null;
  notes: string[];
}

export interface ForwardFileDeps {
  bucket: DropBucket;
  /** Leases on files, in the dataset lock table: one run per file at a time. */
  lock: DatasetLock;
  /** Who dropped which file, as the upload function recorded it from the S3 events. */
  droppers: DropperRecords;
  events: OutcomeEvents;
  log: Log;
  metrics: Metrics;
  now: () => Date;
  /** Forwards records read from the file (the forwarder's streaming use case, bound to a client). */
  forward: (request: {
    dataGroup: string;
    dataType: string;
    open: () => Promise<Readable>;
    format: 'json' | 'ndjson';
  }) => Promise<ForwardResult>;
  settings: { MAX_WAIT_SECONDS: number; PP_FILE_LEASE_SECONDS: number; PP_GENERATE_IDS: boolean };
}

/**
 * Forwards a dropped file under a lease: the upload function's hand-over, Lambda's retries and
 * the sweep may all ask for one file at once, and only one run may send it. A run that finds the
 * file held does nothing ('held'); one that dies holds it until its lease ends, after which the
 * sweep's next kick takes it. A newer version dropped at the key meanwhile is forwarded next.
 */
export async function forwardDroppedFile(
  deps: ForwardFileDeps,
  bucket: string,
  key: string,
): Promise<ForwardFileReport | 'held' | undefined> {
  let report: ForwardFileReport | undefined;
  for (let round = 0; round < 3; round++) {
    const filed = await underFileLease(
      deps,
      fileLeaseId(bucket, key),
      deps.settings.PP_FILE_LEASE_SECONDS * 1000,
      () => forwardHeldFile(deps, bucket, key),
    );
    if (filed === 'held') return report ?? 'held';
    if (!filed) return report;
    report = filed;
    if (!(await deps.bucket.head(bucket, key))) return report;
  }
  return report;
}

/**
 * Forwards a dropped JSON or NDJSON file and files its outcome like the CSV pipeline does. A
 * failure that may pass leaves the file in incoming/ (PpForwardDeferredError; the Lambda's retries
 * and the sweep try again, and deterministic ids make that safe) until MAX_WAIT_SECONDS.
 */
async function forwardHeldFile(
  deps: ForwardFileDeps,
  bucket: string,
  key: string,
): Promise<ForwardFileReport | undefined> {
  const object = await deps.bucket.head(bucket, key);
  if (!object) return undefined;
  const startedAt = deps.now().toISOString();
  let drop: PerformanceDropKey;
  try {
    drop = parsePerformanceKey(key);
  } catch (error) {
    if (!(error instanceof DropRejectedError)) throw error;
    return file(deps, object, startedAt, null, null, { code: error.code, message: error.message });
  }
  let result: ForwardResult;
  try {
    result = await deps.forward({
      dataGroup: drop.dataGroup,
      dataType: drop.dataType,
      format: drop.format,
      open: () => deps.bucket.open(object),
    });
  } catch (error) {
    if (!(error instanceof PpTokenMissingError)) throw error;
    return file(deps, object, startedAt, drop, null, {
      code: 'PP_NO_TOKEN',
      message: `${error.message}. Configure it, then drop the file again.`,
    });
  }
  const failure = failureOf(result, deps.settings.PP_GENERATE_IDS);
  if (failure === 'passing') {
    const waited = deps.now().getTime() - object.lastModified.getTime();
    if (waited <= deps.settings.MAX_WAIT_SECONDS * 1000) {
      deps.log.warn('PP_FORWARD_DEFERRED', { key, outcome: result.outcome });
      throw new PpForwardDeferredError(
        `The Performance Platform did not store every chunk of ${key}; it will be sent again`,
      );
    }
  }
  return file(
    deps,
    object,
    startedAt,
    drop,
    result,
    failure === 'passing' ? unavailable(result, deps.settings.PP_GENERATE_IDS) : failure,
  );
}

type Failure = { code: string; message: string } | null | 'passing';

function failureOf(result: ForwardResult, generateIds: boolean): Failure {
  if (result.outcome === 'forwarded' || result.outcome === 'empty') return null;
  if (result.outcome === 'invalid') {
    const listed = result.errors.filter((e) => e.code !== 'NOT_LISTED');
    const shown = listed
      .slice(0, 3)
      .map((e) => (e.index === null ? e.message : `record ${e.index}: ${e.message}`));
    return {
      code: 'PP_INVALID_RECORDS',
      message: `${problemSummary(result)}, so nothing was sent (the Performance Platform stores all or nothing): ${shown.join('; ')}${listed.length > 3 ? '; …' : ''}. Fix them and drop the file again; result.errors lists them by record${listed.some((e) => e.backdropMessage) ? ", with backdrop's own words as backdropMessage" : ''}.`,
    };
  }
  const failed = result.chunks.find((chunk) => chunk.status === 'failed');
  const stored = result.chunks.filter((chunk) => chunk.status === 'stored').length;
  // With chunks in flight together, stored ones may come after the failed one: say how many.
  const storedNote =
    stored > 0
      ? ` ${stored} of ${result.chunks.length} chunks were stored; ${
          generateIds
            ? 'sending the file again replaces them (records have stable ids).'
            : 'sending the file again stores them a second time unless its records carry an _id (PP_GENERATE_IDS is off).'
        }`
      : '';
  switch (failed?.error?.kind) {
    case 'unauthorised':
      return {
        code: 'PP_AUTH',
        message: `The Performance Platform refused the token configured for ${result.dataGroup}/${result.dataType}. Check the token in SSM (or local config), then drop the file again.${storedNote}`,
      };
    case 'not-found':
      return {
        code: 'PP_NOT_FOUND',
        message: `The Performance Platform has no data set ${result.dataGroup}/${result.dataType}. Check the folder names.${storedNote}`,
      };
    case 'validation':
    case 'too-large':
      return {
        code: 'PP_REJECTED',
        message: `The Performance Platform rejected chunk ${failed.index} (HTTP ${failed.error.status}): ${failed.error.messages.join('; ')}.${storedNote}`,
      };
    default:
      return 'passing';
  }
}

function unavailable(result: ForwardResult, generateIds: boolean): { code: string; message: string } {
  const failed = result.chunks.find((chunk) => chunk.status === 'failed');
  return {
    code: 'PP_UNAVAILABLE',
    message: `The Performance Platform kept failing (${failed?.error?.kind ?? 'unknown'}${failed?.error?.status ? ` ${failed.error.status}` : ''}). Drop the file again later; ${generateIds ? 'records have stable ids, so nothing is duplicated.' : 'records without an _id are stored again (PP_GENERATE_IDS is off).'}`,
  };
}

async function file(
  deps: ForwardFileDeps,
  object: DroppedObject,
  startedAt: string,
  drop: PerformanceDropKey | null,
  result: ForwardResult | null,
  error: { code: string; message: string } | null,
): Promise<ForwardFileReport> {
  const droppedBy = await dropperOf(deps, object);
  const droppedAt = object.lastModified.toISOString();
  const { report } = await fileReport(deps, {
    bucket: object.bucket,
    sourceKey: object.key,
    outcome: error ? 'failed' : 'processed',
    detailType: error ? 'Performance Records Forward Failed' : 'Performance Records Forwarded',
    version: { etag: object.etag, droppedAt: object.lastModified },
    report: ({ fileKey, reportKey, notes }): ForwardFileReport => ({
      reportVersion: 2,
      outcome: error ? 'failed' : 'forwarded',
      dataGroup: drop?.dataGroup ?? null,
      dataType: drop?.dataType ?? null,
      bucket: object.bucket,
      sourceKey: object.key,
      fileKey,
      reportKey,
      size: object.size,
      requestedBy: object.requestedBy ?? null,
      droppedBy,
      times: { droppedAt, startedAt, finishedAt: deps.now().toISOString() },
      result,
      error,
      notes: droppedBy === null ? [...notes, unknownDropperNote(object.key, droppedAt)] : notes,
    }),
  });
  if (error) deps.log.warn('PP_FILE_FAILED', { key: object.key, errorCode: error.code });
  else deps.log.info('PP_FILE_FORWARDED', { key: object.key, records: result?.records });
  return report;
}
