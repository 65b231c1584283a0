import type { CsvProblem } from '../csv-check/types.js';
import { DropBucket, type DroppedObject } from '../drop-bucket.js';
import { OUTCOME_PREFIX, OUTCOMES, type Outcome, REPORT_SUFFIX } from '../outcome-keys.js';
import type { ForwardFileReport } from '../performance-platform/forward-file.js';
import type { PublishReport } from '../publish/file-outcome.js';
import { resolveBucket } from './bucket.js';
import { type CommonOptions, cliDatasets, formatProblem, resolveDataset, settingsFromEnv } from './common.js';
import { CliError, EXIT, type ExitCode } from './exit.js';
import type { Output } from './output.js';
import { problemLines } from './pp.js';
import { cliS3Client } from './s3.js';

export interface ReportsOptions extends CommonOptions {
  dataset?: string;
  failed?: boolean;
  since?: string;
  limit?: number;
  bucket?: string;
  endpoint?: string;
}

export interface ReportOptions extends CommonOptions {
  bucket?: string;
  endpoint?: string;
}

/** One line of `govpub reports`: what a person scans for. */
export interface ReportSummary {
  finishedAt: string;
  outcome: string;
  /** The dataset (data.gov.sg) or `group/type` (Performance Platform). */
  target: string | null;
  code: string | null;
  sourceKey: string;
  reportKey: string;
}

type AnyReport = PublishReport | ForwardFileReport;

const DEFAULT_LIMIT = 20;
/** Reports read at once: a listing of thousands is read a page of lines at a time, not all at once. */
const READ_CONCURRENCY = 8;
const SHOWN_PROBLEMS = 10;

/**
 * `govpub reports`: the latest filed outcomes in the drop bucket, newest first, from the reports
 * beside them; `--dataset`, `--failed` (failed/ and unconfirmed/: whatever was not published) and
 * `--since` narrow the listing.
 */
export async function reports(out: Output, options: ReportsOptions): Promise<ExitCode> {
  const settings = settingsFromEnv();
  const { bucket, endpoint, sampleAliases } = resolveBucket(out, options, settings.DROP_BUCKET);
  const since = options.since === undefined ? undefined : parseSince(options.since, new Date());
  const limit = options.limit ?? DEFAULT_LIMIT;
  const outcomes: Outcome[] = options.failed ? ['failed', 'unconfirmed'] : [...OUTCOMES];
  const datasets = cliDatasets(sampleAliases);
  const refs = options.dataset
    ? datasets.refsFor(resolveDataset(options.dataset, datasets)).map((ref) => `${ref}/`)
    : [''];
  const s3 = cliS3Client(out, endpoint);
  try {
    const dropBucket = new DropBucket(s3);
    const prefixes = outcomes.flatMap((outcome) => refs.map((ref) => `${OUTCOME_PREFIX[outcome]}${ref}`));
    const listed = (await Promise.all(prefixes.map((prefix) => dropBucket.listReports(bucket, prefix))))
      .flat()
      .filter((object) => since === undefined || object.lastModified >= since)
      .sort((a, b) => b.lastModified.getTime() - a.lastModified.getTime());
    const shown = await mapLimited(listed.slice(0, limit), READ_CONCURRENCY, async (object) =>
      summarise((await dropBucket.getJson(bucket, object.key)) as AnyReport, object),
    );
    printSummaries(out, bucket, shown, listed.length);
    out.result({ ok: true, command: 'reports', bucket, total: listed.length, reports: shown });
    return EXIT.ok;
  } finally {
    s3.destroy();
  }
}

/** `govpub report KEY`: one report, readable (or whole with --json). */
export async function report(out: Output, ref: string, options: ReportOptions): Promise<ExitCode> {
  const settings = settingsFromEnv();
  const fromUrl = /^s3:\/\/([^/]+)\/(.+)$/.exec(ref);
  const location = resolveBucket(
    out,
    { ...options, bucket: fromUrl?.[1] ?? options.bucket },
    settings.DROP_BUCKET,
  );
  const key = reportKeyOf(fromUrl?.[2] ?? ref);
  const s3 = cliS3Client(out, location.endpoint);
  try {
    let filed: AnyReport;
    try {
      filed = (await new DropBucket(s3).getJson(location.bucket, key)) as AnyReport;
    } catch (error) {
      if ((error as Error).name !== 'NoSuchKey') throw error;
      throw new CliError(EXIT.http, `There is no report at s3://${location.bucket}/${key}.`, {
        hints: ['govpub reports lists the filed outcomes and their report keys.'],
        cause: error,
      });
    }
    for (const line of describeReport(filed)) out.info(line);
    out.result({ ok: true, command: 'report', bucket: location.bucket, key, report: filed });
    return EXIT.ok;
  } finally {
    s3.destroy();
  }
}

/** A report's key from what a person copies: the report's key or the filed file's. */
export function reportKeyOf(key: string): string {
  return key.endsWith(REPORT_SUFFIX) ? key : `${key}${REPORT_SUFFIX}`;
}

/** `--since`: a duration back from now (`90m`, `24h`, `7d`) or a date or time (ISO 8601). */
export function parseSince(value: string, now: Date): Date {
  const duration = /^(\d+)\s*([mhd])$/i.exec(value.trim());
  if (duration) {
    const unitMs = { m: 60_000, h: 3_600_000, d: 86_400_000 }[duration[2]?.toLowerCase() as 'm' | 'h' | 'd'];
    return new Date(now.getTime() - Number(duration[1]) * unitMs);
  }
  const at = /^\d{4}-\d{2}-\d{2}/.test(value) ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(at.getTime())) {
    throw new CliError(
      EXIT.usage,
      `--since takes a duration (30m, 24h, 7d) or a date (2026-12-01, 2026-12-01T08:00:00Z), not "${value}".`,
    );
  }
  return at;
}

export function summarise(
  filed: AnyReport,
  object: Pick<DroppedObject, 'key' | 'lastModified'>,
): ReportSummary {
  const target =
    'datasetId' in filed
      ? (filed.datasetRef ?? filed.datasetId)
      : filed.dataGroup && filed.dataType
        ? `${filed.dataGroup}/${filed.dataType}`
        : null;
  return {
    finishedAt: filed.times?.finishedAt ?? object.lastModified.toISOString(),
    outcome: filed.outcome,
    target,
    code: filed.error?.code ?? null,
    sourceKey: filed.sourceKey,
    reportKey: object.key,
  };
}

function printSummaries(out: Output, bucket: string, shown: ReportSummary[], total: number): void {
  if (shown.length === 0) {
    out.info(`No filed outcomes found in s3://${bucket}/ (processed/, failed/, unconfirmed/).`);
    return;
  }
  for (const line of shown) {
    out.info(
      `${line.finishedAt}  ${line.outcome.padEnd(11)}  ${(line.target ?? '?').padEnd(24)}  ${(line.code ?? '').padEnd(20)}  ${line.sourceKey}`,
    );
    out.info(`  ${line.reportKey}`);
  }
  const more = total > shown.length ? ` of ${total} (--limit shows more)` : '';
  out.info(`${shown.length}${more} in s3://${bucket}/, newest first; govpub report <key> shows one.`);
}

/** The lines of `govpub report`: what happened, to which file, what was wrong, where it is now. */
export function describeReport(filed: AnyReport): string[] {
  const field = (name: string, value: string) => `${name.padEnd(12)} ${value}`;
  const lines = [field('outcome', `${filed.outcome}${filed.error ? ` (${filed.error.code})` : ''}`)];
  if ('datasetId' in filed) {
    const dataset = filed.datasetId ?? 'unknown';
    const alias = filed.datasetRef && filed.datasetRef !== filed.datasetId ? ` (${filed.datasetRef})` : '';
    lines.push(field('dataset', `${dataset}${alias}${filed.mode ? `, ${filed.mode}` : ''}`));
  } else {
    lines.push(field('data set', filed.dataGroup ? `${filed.dataGroup}/${filed.dataType}` : 'unknown'));
  }
  lines.push(field('dropped as', filed.sourceKey), field('filed at', filed.fileKey));
  if (filed.size !== null) lines.push(field('size', `${filed.size} bytes`));
  lines.push(field('dropped at', filed.times.droppedAt), field('finished at', filed.times.finishedAt));
  // Reports before reportVersion 5 (2 for forwarded files) have neither field.
  if (filed.droppedBy) lines.push(field('dropped by', filed.droppedBy));
  if (filed.requestedBy) lines.push(field('asked by', filed.requestedBy));
  if (filed.error) lines.push(field('error', filed.error.message));
  if ('datasetId' in filed) lines.push(...publicationLines(filed, field));
  else lines.push(...forwardLines(filed, field));
  for (const note of filed.notes) lines.push(field('note', note));
  lines.push(field('report', filed.reportKey));
  return lines;
}

function publicationLines(filed: PublishReport, field: (name: string, value: string) => string): string[] {
  const lines: string[] = [];
  if (filed.check) {
    const { check } = filed;
    lines.push(
      field(
        'CSV check',
        `${check.passed ? 'passed' : 'failed'}: ${count(check.rows, 'row')}, ${count(check.errors, 'error')}, ${count(check.warnings, 'warning')}`,
      ),
    );
    for (const problem of check.problems.slice(0, SHOWN_PROBLEMS))
      lines.push(`  ${formatProblem(problem as CsvProblem)}`);
    const more = check.errors + check.warnings - Math.min(check.problems.length, SHOWN_PROBLEMS);
    if (more > 0) lines.push(`  … and ${more} more (--json shows the listed ones)`);
  }
  for (const status of filed.statuses) {
    lines.push(
      field(
        'status',
        `${status.rawStatus} (version ${status.version ?? '-'}, ${status.updatedAt ?? 'no time'})`,
      ),
    );
  }
  if (filed.failures !== null && filed.failures !== undefined) {
    lines.push(field('failures', JSON.stringify(filed.failures)));
  }
  return lines;
}

function forwardLines(filed: ForwardFileReport, field: (name: string, value: string) => string): string[] {
  const result = filed.result;
  if (!result) return [];
  const problems = problemLines(result.errors, result.errorCount ?? result.errors.length, SHOWN_PROBLEMS);
  return [field('records', `${result.records} (${result.outcome})`), ...problems.map((line) => `  ${line}`)];
}

/** `items` mapped with at most `limit` calls at once, in order. */
async function mapLimited<T, R>(items: T[], limit: number, map: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await map(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
