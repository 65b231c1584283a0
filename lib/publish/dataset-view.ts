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
  lastOutcome: FiledOutcomeView | null;
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
    recentOutcomes(deps.bucket, bucket, refs, 1).then((latest) => latest[0] ?? null),
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

/** A filed outcome as a person looks it up: what happened, to which file, and where its report is. */
export type FiledOutcomeView = Pick<
  PublishReport,
  'outcome' | 'sourceKey' | 'fileKey' | 'reportKey' | 'error'
> & {
  finishedAt: string;
};

/**
 * The dataset's latest filed outcomes, newest first, from the reports under processed/, failed/
 * and unconfirmed/ for each of its key segments (each drop has its own, by its version stamp).
 */
export async function recentOutcomes(
  bucket: DropBucket,
  name: string,
  refs: string[],
  limit: number,
): Promise<FiledOutcomeView[]> {
  const prefixes = refs.flatMap((ref) => OUTCOMES.map((outcome) => `${OUTCOME_PREFIX[outcome]}${ref}/`));
  const listed = (await Promise.all(prefixes.map((prefix) => bucket.listReports(name, prefix)))).flat();
  const latest = listed.sort((a, b) => b.lastModified.getTime() - a.lastModified.getTime()).slice(0, limit);
  return Promise.all(
    latest.map(async (object) => {
      const report = (await bucket.getJson(name, object.key)) as PublishReport;
      return {
        outcome: report.outcome,
        sourceKey: report.sourceKey,
        fileKey: report.fileKey,
        reportKey: report.reportKey,
        error: report.error,
        finishedAt: report.times.finishedAt,
      };
    }),
  );
}
