import type { DataGovSgClient } from '../datagovsg/client.js';
import type { DatasetLock } from '../dataset-lock.js';
import type { DatasetDirectory } from '../datasets.js';
import type { DropBucket } from '../drop-bucket.js';
import { OUTCOME_PREFIX, OUTCOMES } from '../outcome-keys.js';
import type { PublishReport } from './file-outcome.js';

export interface DatasetView {
  datasetId: string;
  refs: string[];
  waiting: Array<{ key: string; size: number; droppedAt: string }>;
  inFlight: { key: string | null; phase: string; since: string; leaseExpiresAt: string } | null;
  lastOutcome:
    | (Pick<PublishReport, 'outcome' | 'sourceKey' | 'fileKey' | 'reportKey' | 'error'> & {
        finishedAt: string;
      })
    | null;
  dataGovSg:
    | { status: string; rawStatus: string; version: number | null; updatedAt: string | null }
    | { error: string };
}

export interface DatasetViewDeps {
  bucket: DropBucket;
  lock: DatasetLock;
  dgs: Pick<DataGovSgClient, 'ingestionStatus'>;
  datasets: DatasetDirectory;
}

/**
 * What a person wants to know about a dataset: the files waiting in incoming/, the one in flight,
 * the last filed outcome, and what data.gov.sg says now.
 */
export async function describeDataset(
  deps: DatasetViewDeps,
  bucket: string,
  datasetId: string,
): Promise<DatasetView> {
  const refs = deps.datasets.refsFor(datasetId);
  const [waiting, held, lastOutcome, dataGovSg] = await Promise.all([
    deps.bucket.listWaiting(bucket, refs),
    deps.lock.get(datasetId),
    lastReport(deps.bucket, bucket, refs),
    deps.dgs.ingestionStatus(datasetId).then(
      (status) => ({
        status: status.status,
        rawStatus: status.rawStatus,
        version: status.version,
        updatedAt: status.updatedAt === null ? null : new Date(status.updatedAt).toISOString(),
      }),
      (error: unknown) => ({ error: error instanceof Error ? error.message : String(error) }),
    ),
  ]);
  return {
    datasetId,
    refs,
    waiting: waiting.map((object) => ({
      key: object.key,
      size: object.size,
      droppedAt: object.lastModified.toISOString(),
    })),
    inFlight: held
      ? {
          key: held.holderKey ?? null,
          phase: held.phase,
          since: new Date(held.acquiredAt).toISOString(),
          leaseExpiresAt: new Date(held.leaseExpiresAt).toISOString(),
        }
      : null,
    lastOutcome,
    dataGovSg,
  };
}

async function lastReport(
  bucket: DropBucket,
  name: string,
  refs: string[],
): Promise<DatasetView['lastOutcome']> {
  const prefixes = refs.flatMap((ref) => OUTCOMES.map((outcome) => `${OUTCOME_PREFIX[outcome]}${ref}/`));
  const reports = (await Promise.all(prefixes.map((prefix) => bucket.listReports(name, prefix)))).flat();
  const latest = reports.sort((a, b) => b.lastModified.getTime() - a.lastModified.getTime())[0];
  if (!latest) return null;
  const report = (await bucket.getJson(name, latest.key)) as PublishReport;
  return {
    outcome: report.outcome,
    sourceKey: report.sourceKey,
    fileKey: report.fileKey,
    reportKey: report.reportKey,
    error: report.error,
    finishedAt: report.times.finishedAt,
  };
}
