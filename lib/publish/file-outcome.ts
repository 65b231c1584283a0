import type { CsvCheckReport } from '../csv-check/types.js';
import type { DatasetLock } from '../dataset-lock.js';
import type { DropBucket } from '../drop-bucket.js';
import { reportKeyFor } from '../drop-key.js';
import { fileReport } from '../filing.js';
import type { Log } from '../observability.js';
import type { OutcomeEvents } from '../outcome-events.js';
import type { Failure } from './failure.js';
import type { PollState, Publication, StatusSeen } from './publication.js';

export const REPORT_VERSION = 1;

/** The report filed beside every file that leaves `incoming/`, and the detail of its event. */
export interface PublishReport {
  reportVersion: number;
  outcome: 'published' | 'failed';
  datasetId: string | null;
  datasetRef: string | null;
  mode: string | null;
  bucket: string;
  sourceKey: string;
  fileKey: string;
  reportKey: string;
  size: number | null;
  md5: string | null;
  publicationId: string | null;
  times: {
    droppedAt: string | null;
    uploadStartedAt: string | null;
    uploadFinishedAt: string | null;
    finishedAt: string;
  };
  uploads: number;
  statuses: StatusSeen[];
  finalStatus: string | null;
  failures: unknown;
  error: Failure | null;
  /** What the in-flight CSV check found: rows and columns, or the problems that stopped the file. */
  check: CsvCheckReport | null;
  /** Anything unusual about the filing itself, in sentences. */
  notes: string[];
}

/** What is known about a file when its outcome is filed; the earlier it failed, the less. */
export interface OutcomeFacts {
  bucket: string;
  sourceKey: string;
  /** The version that was handled; another version found at the key is left where it is. */
  expectedEtag?: string;
  datasetId?: string;
  datasetRef?: string;
  mode?: string;
  size?: number;
  droppedAt?: Date | string;
  publication?: Publication;
  poll?: PollState;
  failure?: Failure;
  /** The CSV check's report when it, not an upload, decided the outcome. */
  check?: CsvCheckReport;
  /** Released once the outcome is filed, so the dataset's next file can go. */
  lockToken?: string;
}

export interface FileOutcomeDeps {
  bucket: DropBucket;
  events: OutcomeEvents;
  lock: DatasetLock;
  log: Log;
  now: () => Date;
}

/**
 * Files a file's outcome: writes the report, moves the file to processed/ or failed/ beside it,
 * sends the outcome event, and releases the dataset. Each step is idempotent, so a retried
 * filing completes the job; the lock is released last so no other file starts before this one
 * has left incoming/.
 */
export async function fileOutcome(deps: FileOutcomeDeps, facts: OutcomeFacts): Promise<PublishReport> {
  const { report, moved } = await fileReport(deps, {
    bucket: facts.bucket,
    sourceKey: facts.sourceKey,
    outcome: facts.failure ? 'failed' : 'processed',
    detailType: facts.failure ? 'Dataset Publish Failed' : 'Dataset Publish Succeeded',
    ...(facts.expectedEtag ? { expectedEtag: facts.expectedEtag } : {}),
    report: ({ fileKey, notes }) => ({ ...buildReport(facts, fileKey, deps.now()), notes }),
  });
  const datasetId = facts.publication?.datasetId ?? facts.datasetId;
  if (facts.lockToken && datasetId) await deps.lock.release(datasetId, facts.lockToken);
  const logFields = {
    sourceKey: facts.sourceKey,
    fileKey: report.fileKey,
    datasetId,
    moved,
    errorCode: report.error?.code,
  };
  if (report.outcome === 'published') deps.log.info('PUBLISH_SUCCEEDED', logFields);
  else deps.log.warn('PUBLISH_FAILED', logFields);
  return report;
}

export function buildReport(facts: OutcomeFacts, fileKey: string, finishedAt: Date): PublishReport {
  const { publication, poll } = facts;
  const firstUpload = publication?.uploads[0];
  const lastUpload = publication?.uploads.at(-1);
  const lastStatus = poll?.statuses.at(-1);
  const droppedAt = publication?.droppedAt ?? facts.droppedAt;
  return {
    reportVersion: REPORT_VERSION,
    outcome: facts.failure ? 'failed' : 'published',
    datasetId: publication?.datasetId ?? facts.datasetId ?? null,
    datasetRef: publication?.datasetRef ?? facts.datasetRef ?? null,
    mode: publication?.mode ?? facts.mode ?? null,
    bucket: facts.bucket,
    sourceKey: facts.sourceKey,
    fileKey,
    reportKey: reportKeyFor(fileKey),
    size: publication?.size ?? facts.size ?? null,
    md5: publication?.md5Hex ?? null,
    publicationId: publication?.publicationId ?? null,
    times: {
      droppedAt: droppedAt ? new Date(droppedAt).toISOString() : null,
      uploadStartedAt: firstUpload?.startedAt ?? null,
      uploadFinishedAt: lastUpload?.finishedAt ?? null,
      finishedAt: finishedAt.toISOString(),
    },
    uploads: publication?.uploads.length ?? 0,
    statuses: poll?.statuses ?? [],
    finalStatus: lastStatus?.ofThisUpload ? lastStatus.rawStatus : null,
    failures: poll?.failures ?? null,
    error: facts.failure ?? null,
    check: facts.check ?? publication?.uploads.find((upload) => upload.check)?.check ?? null,
    notes: [],
  };
}
