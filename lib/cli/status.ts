import type { IngestionStatus } from '../datagovsg/status.js';
import { DropBucket } from '../drop-bucket.js';
import { type FiledOutcomeView, recentOutcomes } from '../publish/dataset-view.js';
import { createDataGovSgClient } from '../runtime.js';
import { type BucketLocation, findBucket } from './bucket.js';
import {
  aliasesOf,
  type CommonOptions,
  cliDatasets,
  dataGovSgIsLocal,
  resolveDataset,
  settingsFromEnv,
} from './common.js';
import { CliError, EXIT, type ExitCode } from './exit.js';
import type { Output } from './output.js';
import { cliS3Client } from './s3.js';

export interface StatusOptions extends CommonOptions {
  bucket?: string;
  endpoint?: string;
}

/** How many filed outcomes `status` lists when it knows the drop bucket. */
const OUTCOMES_SHOWN = 5;

/**
 * `govpub status ID`: the latest ingestion status of a dataset, readable; with a drop bucket
 * (`--bucket` or DROP_BUCKET), also the dataset's latest filed outcomes and where their reports are.
 */
export async function status(out: Output, ref: string, options: StatusOptions): Promise<ExitCode> {
  const settings = settingsFromEnv();
  const location = findBucket(out, options, settings.DROP_BUCKET);
  if (location?.local && location.sampleAliases && !dataGovSgIsLocal()) {
    // The bucket is the local run's, but the status would come from the real data.gov.sg.
    throw new CliError(
      EXIT.usage,
      "The status comes from data.gov.sg, and DGS_API_BASE_URL is not the local run's.",
      {
        hints: ['For the local run, export the DGS_* lines its banner prints.'],
      },
    );
  }
  // A sample alias only when that data.gov.sg is the stand-in.
  const datasets = cliDatasets(dataGovSgIsLocal());
  const datasetId = resolveDataset(ref, datasets);
  const current = await createDataGovSgClient(settings).ingestionStatus(datasetId);
  const aliases = aliasesOf(datasetId, datasets);
  out.info(`dataset     ${datasetId}${aliases.length > 0 ? ` (${aliases.join(', ')})` : ''}`);
  out.info(`status      ${current.rawStatus}`);
  out.info(`version     ${current.version ?? 'none'}`);
  out.info(`updated at  ${formatTime(current.updatedAt)}`);
  out.info(`failures    ${formatFailures(current.failures)}`);
  const outcomes = location ? await filedOutcomes(out, location, datasets.refsFor(datasetId)) : undefined;
  if (location && outcomes) printOutcomes(out, location.bucket, outcomes);
  out.result({
    ok: true,
    command: 'status',
    datasetId,
    ...statusJson(current),
    ...(outcomes ? { outcomes } : {}),
  });
  return EXIT.ok;
}

async function filedOutcomes(
  out: Output,
  { bucket, endpoint }: BucketLocation,
  refs: string[],
): Promise<FiledOutcomeView[]> {
  const s3 = cliS3Client(out, endpoint);
  try {
    return await recentOutcomes(new DropBucket(s3), bucket, refs, OUTCOMES_SHOWN);
  } finally {
    s3.destroy();
  }
}

/** Newest first: each drop is filed at its own key, stamped with when it was dropped. */
function printOutcomes(out: Output, bucket: string, outcomes: FiledOutcomeView[]): void {
  if (outcomes.length === 0) {
    out.info(`filed       nothing yet in s3://${bucket}/ (processed/, failed/, unconfirmed/)`);
    return;
  }
  out.info(
    `filed       the last ${outcomes.length} in s3://${bucket}/, newest first (reports beside them, .report.json):`,
  );
  for (const filed of outcomes) {
    const code = filed.error ? ` [${filed.error.code}]` : '';
    out.info(`  ${filed.finishedAt}  ${filed.outcome.padEnd(11)} ${filed.fileKey}${code}`);
  }
}

/** Local time and ISO 8601, or "never". */
export function formatTime(epochMs: number | null): string {
  if (epochMs === null) return 'never';
  const at = new Date(epochMs);
  return `${at.toLocaleString()} (${at.toISOString()})`;
}

export function formatFailures(failures: unknown): string {
  if (failures === null || failures === undefined) return 'none';
  if (Array.isArray(failures) && failures.length === 0) return 'none';
  return JSON.stringify(failures, null, 2).replace(/\n/g, '\n            ');
}

export function statusJson(current: IngestionStatus) {
  return {
    status: current.status,
    rawStatus: current.rawStatus,
    version: current.version,
    updatedAt: current.updatedAt === null ? null : new Date(current.updatedAt).toISOString(),
    failures: current.failures ?? null,
  };
}
