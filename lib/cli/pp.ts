import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { noMetrics } from '../metrics.js';
import { createPpClient } from '../performance-platform/create-client.js';
import type { ChunkReport, EmptyResult, ForwardResult } from '../performance-platform/forward.js';
import { emptyDataSet, forwardStream } from '../performance-platform/forward.js';
import { type ForwardProblem, problemSummary } from '../performance-platform/problems.js';
import { ppTokenProvider } from '../performance-platform/tokens.js';
import { type CommonOptions, fileSize, settingsFromEnv } from './common.js';
import { CliError, EXIT, type ExitCode } from './exit.js';
import type { Output } from './output.js';

const GROUP_OR_TYPE = /^[a-z0-9-]+$/;
const LISTED_ERRORS = 20;

export interface PpSendOptions extends CommonOptions {
  ndjson?: boolean;
}

/**
 * `govpub pp send GROUP TYPE [FILE|-]`: the forwarder from a shell. Reads a JSON array or object,
 * or NDJSON (`.ndjson` or --ndjson), from FILE or stdin; validates every record before sending
 * any; sends in chunks with the forwarder's ids and retries.
 */
export async function ppSend(
  out: Output,
  dataGroup: string,
  dataType: string,
  file: string | undefined,
  options: PpSendOptions,
  stdin: Readable & { isTTY?: boolean } = process.stdin,
): Promise<ExitCode> {
  checkDataSet(dataGroup, dataType);
  const settings = settingsFromEnv();
  const client = createPpClient(settings, ppTokenProvider(settings));
  const fromStdin = file === undefined || file === '-';
  if (file === undefined && stdin.isTTY) {
    throw new CliError(EXIT.usage, 'Give a FILE of records, or pipe them in (use - for stdin).');
  }
  const format = options.ndjson || (!fromStdin && /\.ndjson$/i.test(file)) ? 'ndjson' : 'json';
  if (!fromStdin) await fileSize(file);
  // NDJSON is read twice (validate, then send): stdin is kept in a temporary file meanwhile.
  const spool = fromStdin && format === 'ndjson' ? await spoolToFile(stdin) : undefined;
  try {
    const path = spool?.path ?? (fromStdin ? undefined : file);
    const result = await forwardStream(
      // A person at a terminal reads the result; no dashboard watches the CLI.
      { client, log: out.log, metrics: noMetrics },
      {
        dataGroup,
        dataType,
        format,
        open: async () => (path === undefined ? stdin : createReadStream(path)),
        chunkSize: settings.PP_CHUNK_SIZE,
        concurrency: settings.PP_CONCURRENCY,
        generateIds: settings.PP_GENERATE_IDS,
        maxJsonBytes: settings.PP_MAX_JSON_BYTES,
      },
    );
    return report(out, result, settings.PP_GENERATE_IDS);
  } finally {
    await spool?.remove();
  }
}

/** `govpub pp empty GROUP TYPE`: empties a data set (PUT []). */
export async function ppEmpty(
  out: Output,
  dataGroup: string,
  dataType: string,
  _options: CommonOptions,
): Promise<ExitCode> {
  checkDataSet(dataGroup, dataType);
  const settings = settingsFromEnv();
  const client = createPpClient(settings, ppTokenProvider(settings));
  const result: EmptyResult = await emptyDataSet({ client, log: out.log }, dataGroup, dataType);
  const body = { command: 'pp empty', ...result };
  if (!result.ok) {
    throw failure(`Could not empty ${dataGroup}/${dataType}`, result.error, body);
  }
  out.info(`${dataGroup}/${dataType} now holds 0 records.`);
  out.result(body);
  return EXIT.ok;
}

function checkDataSet(dataGroup: string, dataType: string): void {
  if (!GROUP_OR_TYPE.test(dataGroup) || !GROUP_OR_TYPE.test(dataType)) {
    throw new CliError(EXIT.usage, 'The data group and data type are lower-case letters, digits and "-".');
  }
}

function report(out: Output, result: ForwardResult, stableIds: boolean): ExitCode {
  const target = `${result.dataGroup}/${result.dataType}`;
  const body = { command: 'pp send', ...result };
  if (result.outcome === 'forwarded' || result.outcome === 'empty') {
    out.info(
      result.outcome === 'empty'
        ? 'No records to send; nothing was sent.'
        : `Forwarded ${result.records} record(s) to ${target} in ${result.chunks.length} request(s).`,
    );
    out.result({ ok: true, ...body });
    return EXIT.ok;
  }
  if (result.outcome === 'invalid') {
    const total = result.errorCount ?? result.errors.length;
    for (const line of problemLines(result.errors, total, LISTED_ERRORS)) out.warn(line);
    throw new CliError(EXIT.validation, `${problemSummary(result)} for ${target}; nothing was sent.`, {
      details: body,
    });
  }
  const failed = result.chunks.find((chunk) => chunk.status === 'failed');
  const stored = result.chunks.filter((chunk) => chunk.status === 'stored');
  const storedRecords = stored.reduce((sum, chunk) => sum + chunk.to - chunk.from, 0);
  const what =
    result.outcome === 'partial'
      ? `Only ${storedRecords} of ${result.records} record(s) were stored in ${target}${stableIds ? ' (sending the same records again completes it: they have stable ids)' : ''}`
      : `Nothing was stored in ${target}`;
  throw failure(what, failed?.error, body);
}

/**
 * The first `max` problems for people, under a line naming their record (and NDJSON line), in
 * the result's order (by record); then how many more there are (`total` in all) and where.
 */
export function problemLines(problems: readonly ForwardProblem[], total: number, max: number): string[] {
  const listed = problems.filter((problem) => problem.code !== 'NOT_LISTED');
  const lines: string[] = [];
  let heading: string | undefined;
  for (const problem of listed.slice(0, max)) {
    if (problem.index === null) {
      heading = undefined;
      lines.push(problem.message);
      continue;
    }
    const record = `record ${problem.index}${problem.line === undefined ? '' : ` (line ${problem.line})`}:`;
    if (record !== heading) lines.push(record);
    heading = record;
    lines.push(`  ${problem.message}`);
  }
  const more = total - Math.min(max, listed.length);
  if (more > 0) {
    const where = listed.length >= total ? 'all are' : `the first ${listed.length} are`;
    lines.push(`… and ${more} more (${where} in --json output).`);
  }
  return lines;
}

/** A failed request as its exit code and one sentence. */
function failure(what: string, error: ChunkReport['error'], details: Record<string, unknown>): CliError {
  const kind = error?.kind ?? 'http';
  const status = error?.status === undefined ? '' : ` (HTTP ${error.status})`;
  const said = error?.messages[0] ? `: ${error.messages[0].replace(/[.\s]+$/, '')}` : '';
  const reasons: Record<string, [ExitCode, string]> = {
    unauthorised: [EXIT.auth, `the Performance Platform refused the token${status}; check PP_TOKEN`],
    validation: [EXIT.validation, `the Performance Platform rejected the records${status}${said}`],
    'too-large': [EXIT.validation, `the request was too large${status}; lower PP_CHUNK_SIZE`],
    'not-found': [EXIT.http, `the Performance Platform has no such data set${status}`],
    http: [EXIT.http, `the Performance Platform failed${status}${said}`],
    connection: [EXIT.connection, `the Performance Platform could not be reached${said}`],
    timeout: [EXIT.timeout, `the Performance Platform did not answer in time${said}`],
    token: [EXIT.usage, `no token could be read${said}`],
  };
  const [exitCode, reason] = reasons[kind] ?? [EXIT.other, `${kind}${said}`];
  return new CliError(exitCode, `${what}: ${reason}.`, { details });
}

async function spoolToFile(stdin: Readable): Promise<{ path: string; remove: () => Promise<void> }> {
  const directory = await mkdtemp(join(tmpdir(), 'govpub-stdin-'));
  const path = join(directory, 'records.ndjson');
  const remove = () => rm(directory, { recursive: true, force: true });
  try {
    await pipeline(stdin, createWriteStream(path));
  } catch (error) {
    await remove();
    throw error;
  }
  return { path, remove };
}
