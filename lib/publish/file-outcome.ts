import type { CsvCheckReport } from '../csv-check/types.js';
import type { DatasetLock } from '../dataset-lock.js';
import type { DropBucket } from '../drop-bucket.js';
import { unknownDropperNote } from '../dropped-by.js';
import { filedOutcomeOf, fileReport, finishFiling } from '../filing.js';
import type { Metrics } from '../metrics.js';
import type { Log } from '../observability.js';
import type { OutcomeDetailType, OutcomeEvents } from '../outcome-events.js';
import { type FiledVersion, type Outcome, reportKeyFor } from '../outcome-keys.js';
import type { Failure, Verdict } from './failure.js';
import type { PollState, Publication, StatusSeen } from './publication.js';

/**
 * 2: outcome keys carry the version stamp, and `unconfirmed` is an outcome.
 * 3: `statuses[].updatedAt` is ISO 8601, as every other time in the report (it was epoch ms).
 * 4: `requestedBy`.
 * 5: `droppedBy`, and a note saying where to look when it is null.
 */
export const REPORT_VERSION = 5;

/** A status as the report shows it: its data.gov.sg time in ISO 8601, like the report's other times. */
export type ReportedStatus = Omit<StatusSeen, 'updatedAt'> & { updatedAt: string | null };

/** The report filed beside every file that leaves `incoming/`, and the detail of its event. */
export interface PublishReport {
  reportVersion: number;
  /** `unconfirmed`: the file was sent, but whether data.gov.sg published it is not known. */
  outcome: Verdict['outcome'];
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
  /** Who asked for it through the HTTP API (the caller's IAM ARN) or an event; null for a plain drop. */
  requestedBy: string | null;
  /**
   * Who put the file into the bucket: the principal id of its S3 event (`AWS:AROA…:<session>`,
   * `AWS:AIDA…`); null when no event of the version was recorded (a note says where to look).
   */
  droppedBy: string | null;
  times: {
    droppedAt: string;
    uploadStartedAt: string | null;
    uploadFinishedAt: string | null;
    finishedAt: string;
  };
  uploads: number;
  statuses: ReportedStatus[];
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
  version: FiledVersion;
  datasetId?: string;
  datasetRef?: string;
  mode?: string;
  size?: number;
  /** Who asked for the file, when the outcome is filed before a publication exists. */
  requestedBy?: string;
  /** Who put the file, when the outcome is filed before a publication exists. */
  droppedBy?: string | null;
  publication?: Publication;
  poll?: PollState;
  verdict: Verdict;
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
  metrics: Metrics;
  now: () => Date;
}

const FILED: Record<Verdict['outcome'], { folder: Outcome; detailType: OutcomeDetailType }> = {
  published: { folder: 'processed', detailType: 'Dataset Publish Succeeded' },
  failed: { folder: 'failed', detailType: 'Dataset Publish Failed' },
  unconfirmed: { folder: 'unconfirmed', detailType: 'Dataset Publish Unconfirmed' },
};
const VERDICT_FILED_IN: Record<Outcome, Verdict['outcome']> = {
  processed: 'published',
  failed: 'failed',
  unconfirmed: 'unconfirmed',
};

/**
 * Files a file's outcome: writes the report, moves the file to processed/, failed/ or
 * unconfirmed/ beside it, sends the outcome event, and releases the dataset. Each step is
 * idempotent, so a retried filing completes the job; the lock is released last so no other file
 * starts before this one has left incoming/.
 */
export async function fileOutcome(deps: FileOutcomeDeps, facts: OutcomeFacts): Promise<PublishReport> {
  const filed = FILED[facts.verdict.outcome];
  const { report, moved } = await fileReport(deps, {
    bucket: facts.bucket,
    sourceKey: facts.sourceKey,
    version: facts.version,
    outcome: filed.folder,
    detailType: filed.detailType,
    report: ({ fileKey, notes }) => {
      const report = buildReport(facts, fileKey, deps.now());
      const unknown = report.droppedBy === null;
      return {
        ...report,
        notes: unknown ? [...notes, unknownDropperNote(report.sourceKey, report.times.droppedAt)] : notes,
      };
    },
  });
  const datasetId = facts.publication?.datasetId ?? facts.datasetId;
  if (facts.lockToken && datasetId) await deps.lock.release(datasetId, facts.lockToken);
  // Once the filing is complete, so that a retried filing task does not count the file twice.
  measureFiling(deps.metrics, report);
  const logFields = {
    sourceKey: facts.sourceKey,
    fileKey: report.fileKey,
    datasetId,
    moved,
    errorCode: report.error?.code,
  };
  if (report.outcome === 'published') {
    deps.log.info('PUBLISH_SUCCEEDED', { ...logFields, warnings: report.check?.warnings ?? 0 });
  } else if (report.outcome === 'unconfirmed') deps.log.warn('PUBLISH_UNCONFIRMED', logFields);
  else deps.log.warn('PUBLISH_FAILED', logFields);
  return report;
}

/**
 * Finishes the filing of a version that a run already filed, or began to (its report is written),
 * for a take-over that still finds the version in the lock record: that run's release, or the rest
 * of its filing, met an outage. The report decides: the version is never polled or filed again,
 * where data.gov.sg may by now show something else. Returns the report, or undefined when no
 * outcome was filed for the version.
 */
export async function finishEarlierFiling(
  deps: FileOutcomeDeps,
  facts: Pick<OutcomeFacts, 'bucket' | 'sourceKey' | 'version'>,
): Promise<PublishReport | undefined> {
  const filed = await filedOutcomeOf(deps.bucket, facts);
  if (!filed) return undefined;
  const written = (await deps.bucket.getJson(facts.bucket, reportKeyFor(filed.fileKey))) as PublishReport;
  const { report, moved } = await finishFiling(
    deps,
    { ...facts, detailType: FILED[VERDICT_FILED_IN[filed.outcome]].detailType },
    { fileKey: filed.fileKey, report: written },
  );
  // The run that began this filing stopped before its end, where it would have counted the file.
  measureFiling(deps.metrics, report);
  deps.log.warn('FILING_FINISHED', { sourceKey: facts.sourceKey, fileKey: filed.fileKey, moved });
  return report;
}

/**
 * A filed file's metrics, from its report: its outcome (by code), the CSV check's problems, and
 * how long data.gov.sg took from the end of the upload to the terminal status seen for it.
 */
function measureFiling(metrics: Metrics, report: PublishReport): void {
  if (report.outcome === 'published') metrics.add('FilesPublished', 1);
  else
    metrics.addByCode(
      report.outcome === 'failed' ? 'FilesFailed' : 'FilesUnconfirmed',
      report.error?.code ?? 'INTERNAL',
    );
  if (report.check) metrics.add('CsvProblems', report.check.errors + report.check.warnings);
  const uploaded = report.times.uploadFinishedAt;
  const terminal = report.finalStatus === null ? undefined : report.statuses.at(-1);
  if (report.outcome !== 'unconfirmed' && uploaded && terminal?.ofThisUpload) {
    const seconds = (Date.parse(terminal.firstSeenAt) - Date.parse(uploaded)) / 1000;
    if (Number.isFinite(seconds)) metrics.add('IngestionSeconds', Math.max(0, seconds));
  }
}

export function buildReport(facts: OutcomeFacts, fileKey: string, finishedAt: Date): PublishReport {
  const { publication, poll } = facts;
  const firstUpload = publication?.uploads[0];
  const lastUpload = publication?.uploads.at(-1);
  const lastStatus = poll?.statuses.at(-1);
  const failure: Failure | null = facts.verdict.outcome === 'published' ? null : facts.verdict.failure;
  return {
    reportVersion: REPORT_VERSION,
    outcome: facts.verdict.outcome,
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
    requestedBy: publication?.requestedBy ?? facts.requestedBy ?? null,
    droppedBy: publication?.droppedBy ?? facts.droppedBy ?? null,
    times: {
      droppedAt: new Date(facts.version.droppedAt).toISOString(),
      uploadStartedAt: firstUpload?.startedAt ?? null,
      uploadFinishedAt: lastUpload?.finishedAt ?? null,
      finishedAt: finishedAt.toISOString(),
    },
    uploads: publication?.uploads.length ?? 0,
    statuses: (poll?.statuses ?? []).map((seen) => ({
      ...seen,
      updatedAt: seen.updatedAt === null ? null : new Date(seen.updatedAt).toISOString(),
    })),
    finalStatus: lastStatus?.ofThisUpload ? lastStatus.rawStatus : null,
    failures: poll?.failures ?? null,
    error: failure,
    check: facts.check ?? publication?.uploads.find((upload) => upload.check)?.check ?? null,
    notes: [],
  };
}
