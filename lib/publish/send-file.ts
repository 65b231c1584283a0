import type { Readable } from 'node:stream';
import type { Settings } from '../config.js';
import { createCsvCheck } from '../csv-check/checker.js';
import type { CsvCheckOptions } from '../csv-check/types.js';
import type { DataGovSgClient } from '../datagovsg/client.js';
import { putToPresignedUrl } from '../datagovsg/presigned-put.js';
import { type IngestionStatus, isIdle, type StatusBaseline } from '../datagovsg/status.js';
import type { DropBucket, DroppedObject } from '../drop-bucket.js';
import type { PublishMode } from '../drop-key.js';
import { CsvRejectedError, DatasetBusyError, UploadFailedError, UploadUnconfirmedError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { Log } from '../observability.js';
import { type ProxyEnv, proxyAgentFor } from '../proxy.js';
import { realSleep, type Sleep } from '../retry.js';
import type { UploadAttempt } from './publication.js';

export type SendSettings = Pick<
  Settings,
  'UPLOAD_MAX_ATTEMPTS' | 'UPLOAD_IDLE_TIMEOUT_SECONDS' | 'IDLE_CONFIRM_SECONDS'
>;

export interface SendDeps {
  dgs: Pick<DataGovSgClient, 'uploadLink' | 'appendLink' | 'ingestionStatus' | 'redact'>;
  settings: SendSettings;
  log: Log;
  metrics: Metrics;
  now: () => Date;
  /** Told before the first byte goes out, so the caller can record the baseline (crash recovery). */
  onSending?: (baseline: StatusBaseline) => Promise<void>;
  onProgress?: (progress: { key: string; bytesSent: number; size: number }) => void;
  /** The wait between the two idle reads (default: a real timer). */
  sleep?: Sleep;
  /** Where the PUT reads HTTPS_PROXY, HTTP_PROXY and NO_PROXY (default process.env). */
  env?: ProxyEnv;
}

export interface UploadSource {
  key: string;
  size: number;
  open: () => Promise<Readable>;
}

/** A dropped object as an upload source, pinned to the version that was chosen. */
export function objectSource(bucket: DropBucket, object: DroppedObject): UploadSource {
  return { key: object.key, size: object.size, open: () => bucket.open(object) };
}

export interface SendRequest {
  /** What is sent: a name for logs, its exact size, and a fresh stream of its bytes per attempt. */
  source: UploadSource;
  datasetId: string;
  mode: PublishMode;
  md5Base64: string;
  /** Check the CSV while it streams; a bad file is never sent whole. */
  check?: CsvCheckOptions;
}

/**
 * Sends one dropped object to data.gov.sg: checks that nothing is in progress for the dataset
 * (and records that status as the baseline this upload's statuses are told apart from), asks
 * for an upload or append link, and streams the source (an S3 object, or a local file) into it.
 * An expired link or a connection broken before the whole body went out gets a new link and a
 * fresh stream; other rejections are thrown as they are. Throws only when nothing was stored.
 */
export async function sendFile(deps: SendDeps, request: SendRequest): Promise<UploadAttempt> {
  const { source: object, datasetId, mode, md5Base64 } = request;
  const current = await confirmedIdle(deps, datasetId);
  const baseline: StatusBaseline = {
    status: current.status,
    version: current.version,
    updatedAt: current.updatedAt,
  };
  await deps.onSending?.(baseline);
  const startedAt = deps.now().toISOString();
  for (let links = 1; ; links++) {
    const link =
      mode === 'append'
        ? await deps.dgs.appendLink(datasetId, md5Base64)
        : await deps.dgs.uploadLink(datasetId);
    deps.log.info('UPLOAD_STARTED', { datasetId, key: object.key, size: object.size, mode, link: links });
    // Before the source opens: nothing may wait between opening it and piping it.
    const agent = await proxyAgentFor(link.url, deps.env);
    const source = await object.open();
    const inFlight = request.check ? createCsvCheck(request.check) : undefined;
    if (inFlight) source.on('error', (error) => inFlight.stream.destroy(error));
    // Only once the whole body went through the check (it holds the last chunk back until it passed).
    const attempt = async (unconfirmed: boolean): Promise<UploadAttempt> => {
      const finishedAt = deps.now();
      // The whole body left, confirmed or not: it was sent.
      deps.metrics.add('BytesSent', object.size);
      deps.metrics.add('UploadSeconds', Math.max(0, (finishedAt.getTime() - Date.parse(startedAt)) / 1000));
      return {
        startedAt,
        finishedAt: finishedAt.toISOString(),
        baseline,
        links,
        unconfirmed,
        ...(inFlight ? { check: await inFlight.report } : {}),
      };
    };
    try {
      await putToPresignedUrl({
        upload: link,
        body: inFlight ? source.pipe(inFlight.stream) : source,
        contentLength: object.size,
        md5Base64,
        idleTimeoutMs: deps.settings.UPLOAD_IDLE_TIMEOUT_SECONDS * 1000,
        redact: (text: string) => deps.dgs.redact(text),
        ...(agent ? { agent } : {}),
        ...(inFlight ? { signal: inFlight.signal } : {}),
        ...(deps.onProgress
          ? {
              onProgress: (bytesSent: number) =>
                deps.onProgress?.({ key: object.key, bytesSent, size: object.size }),
            }
          : {}),
      });
      deps.log.info('UPLOAD_SENT', { datasetId, key: object.key, size: object.size });
      return attempt(false);
    } catch (error) {
      if (inFlight?.signal.aborted) {
        const report = await inFlight.report;
        source.destroy();
        deps.log.warn('UPLOAD_ABORTED_BAD_CSV', { datasetId, key: object.key, errors: report.errors });
        throw new CsvRejectedError(report);
      }
      if (error instanceof UploadUnconfirmedError) {
        // Sending again could publish the rows twice; the status will show whether it arrived.
        deps.log.warn('UPLOAD_UNCONFIRMED', { datasetId, key: object.key, reason: error.message });
        return attempt(true);
      }
      if (
        error instanceof UploadFailedError &&
        error.retryWithNewLink &&
        links < deps.settings.UPLOAD_MAX_ATTEMPTS
      ) {
        deps.log.warn('UPLOAD_RETRYING', {
          datasetId,
          key: object.key,
          reason: error.message,
          s3Code: error.s3Code,
        });
        continue;
      }
      throw error;
    }
  }
}

/**
 * The dataset's status, read twice `IDLE_CONFIRM_SECONDS` apart and required idle and unchanged:
 * right after an upload data.gov.sg may still answer the status from before it, so one idle read
 * does not show that nobody (the web UI, another tool) has just started one. Two equal reads do
 * not prove it either (a status stale for longer, an upload started between the second read and
 * ours); the architecture doc lists those limits.
 */
async function confirmedIdle(deps: SendDeps, datasetId: string): Promise<IngestionStatus> {
  const first = await deps.dgs.ingestionStatus(datasetId);
  assertIdle(datasetId, first);
  if (deps.settings.IDLE_CONFIRM_SECONDS === 0) return first;
  await (deps.sleep ?? realSleep)(deps.settings.IDLE_CONFIRM_SECONDS * 1000);
  const second = await deps.dgs.ingestionStatus(datasetId);
  assertIdle(datasetId, second);
  if (
    second.status !== first.status ||
    second.version !== first.version ||
    second.updatedAt !== first.updatedAt
  ) {
    throw new DatasetBusyError(
      `data.gov.sg's status for ${datasetId} changed while govpub confirmed it was idle (${first.rawStatus}, version ${first.version} → ${second.rawStatus}, version ${second.version}): someone else may have just uploaded`,
    );
  }
  return second;
}

function assertIdle(datasetId: string, status: IngestionStatus): void {
  if (!isIdle(status.status)) {
    throw new DatasetBusyError(
      `data.gov.sg shows an upload to ${datasetId} in progress (status ${status.rawStatus}); a second one would fail`,
    );
  }
}
