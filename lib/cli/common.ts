import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { loadSettings, type Settings } from '../config.js';
import { checkCsv } from '../csv-check/checker.js';
import type { CsvCheckOptions, CsvCheckReport, CsvProblem } from '../csv-check/types.js';
import {
  ALIAS_PATTERN,
  bundledDatasetDirectory,
  DATASET_ID_PATTERN,
  type DatasetDirectory,
} from '../datasets.js';
import { localDatasetDirectory } from '../datasets-local.js';
import type { PublishMode } from '../drop-key.js';
import { isLoopbackUrl } from '../loopback.js';
import { CliError, EXIT } from './exit.js';
import type { Output } from './output.js';

/** Options every command takes. */
export interface CommonOptions {
  json?: boolean;
  debug?: boolean;
}

export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): Settings {
  return loadSettings(env);
}

/**
 * The aliases the CLI knows: the agency's (config/datasets.json), and the local stand-in's samples
 * (config/datasets-local.json) only when `withSamples`: the command talks to the stand-in, never
 * to a data.gov.sg where a sample alias could name a real dataset.
 */
export function cliDatasets(withSamples: boolean): DatasetDirectory {
  return withSamples ? localDatasetDirectory : bundledDatasetDirectory;
}

/** True when the data.gov.sg the CLI talks to is a local stand-in. */
export function dataGovSgIsLocal(env: NodeJS.ProcessEnv = process.env): boolean {
  return isLoopbackUrl(env.DGS_API_BASE_URL);
}

/** A datasetId, or an alias from config/datasets.json, as its datasetId. */
export function resolveDataset(
  ref: string,
  datasets: DatasetDirectory = cliDatasets(dataGovSgIsLocal()),
): string {
  const datasetId = datasets.resolve(ref);
  if (datasetId) return datasetId;
  if (ref.startsWith('d_') || !ALIAS_PATTERN.test(ref)) {
    throw new CliError(
      EXIT.usage,
      `"${ref}" is not a datasetId (d_ and 32 lower-case hex digits, as in the dataset's URL) nor an alias.`,
    );
  }
  const sample = localDatasetDirectory.resolve(ref) !== undefined;
  throw new CliError(
    EXIT.usage,
    `"${ref}" is not a known dataset alias; add it to config/datasets.json or use the datasetId.`,
    sample
      ? {
          hints: [
            `"${ref}" is a sample of the local stand-in (config/datasets-local.json), known only against a local run (DGS_API_BASE_URL or --endpoint on 127.0.0.1).`,
          ],
        }
      : {},
  );
}

/** The aliases of a dataset, for display. */
export function aliasesOf(
  datasetId: string,
  datasets: DatasetDirectory = cliDatasets(dataGovSgIsLocal()),
): string[] {
  return datasets.refsFor(datasetId).filter((ref) => !DATASET_ID_PATTERN.test(ref));
}

/** `--new-columns`, which only a replace may carry. */
export function newColumnsOf(options: { newColumns?: boolean }, mode: PublishMode): boolean {
  if (!options.newColumns) return false;
  if (mode !== 'replace') {
    throw new CliError(EXIT.usage, '--new-columns goes with --replace: an append never changes the columns.');
  }
  return true;
}

export function modeOf(
  options: { append?: boolean; replace?: boolean },
  fallback?: PublishMode,
): PublishMode {
  if (options.append && options.replace) {
    throw new CliError(EXIT.usage, 'Choose one of --append and --replace, not both.');
  }
  if (options.append) return 'append';
  if (options.replace) return 'replace';
  if (fallback) return fallback;
  throw new CliError(
    EXIT.usage,
    'Say how to publish: --append adds the rows, --replace replaces the whole dataset.',
  );
}

/** The size of a regular file; a usage error when it cannot be read, a validation error when empty or too large. */
export async function fileSize(file: string, maxBytes?: number): Promise<number> {
  let size: number;
  try {
    const facts = await stat(file);
    if (!facts.isFile()) throw new CliError(EXIT.usage, `${file} is not a file.`);
    size = facts.size;
  } catch (error) {
    if (error instanceof CliError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new CliError(EXIT.usage, `Cannot read ${file} (${code}).`, { cause: error });
  }
  if (size === 0) throw new CliError(EXIT.validation, `${file} is empty.`);
  if (maxBytes !== undefined && size > maxBytes) {
    throw new CliError(
      EXIT.validation,
      `${file} is ${size} bytes, over the ${maxBytes}-byte limit of one upload (MAX_FILE_BYTES).`,
    );
  }
  return size;
}

export interface FileRead {
  md5Hex: string;
  md5Base64: string;
  /** What the CSV check found, when it ran. */
  report: CsvCheckReport | undefined;
}

/** One streamed read of a file: its MD5 and, when options are given, the CSV check. */
export async function readFileOnce(file: string, check: CsvCheckOptions | undefined): Promise<FileRead> {
  const hash = createHash('md5');
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  const source = createReadStream(file);
  let report: CsvCheckReport | undefined;
  if (check) {
    source.on('error', (error) => hashing.destroy(error));
    // The check stops reading once it knows a file is bad; the file is closed either way.
    report = await checkCsv(source.pipe(hashing), check).finally(() => source.destroy());
  } else {
    await pipeline(source, hashing, async (chunks: AsyncIterable<Buffer>) => {
      for await (const _ of chunks);
    });
  }
  const digest = hash.digest();
  return { md5Hex: digest.toString('hex'), md5Base64: digest.toString('base64'), report };
}

/** `row R, column "C": message`, without the row and column the message repeats. */
export function formatProblem(problem: CsvProblem): string {
  const where = [
    problem.row === undefined ? undefined : `row ${problem.row}`,
    problem.column === undefined ? undefined : `column "${problem.column}"`,
  ]
    .filter(Boolean)
    .join(', ');
  const message = where
    ? problem.message.replace(/^Row \d+(, column "[^"]*")?(:|,)?\s+/, '')
    : problem.message;
  return `${problem.severity === 'error' ? 'error  ' : 'warning'}  ${where || 'file'}: ${message}`;
}

/** Prints a check report's problems and its one-line summary. */
export function printReport(out: Output, report: CsvCheckReport): void {
  const print = (line: string) => (report.passed ? out.info(line) : out.warn(line));
  for (const problem of report.problems) print(formatProblem(problem));
  const more = report.errors + report.warnings - report.problems.length;
  if (more > 0) print(`… and ${more} more problem(s) not listed (CSV_CHECK_MAX_PROBLEMS).`);
  if (report.metadataNote) out.warn(`note: ${report.metadataNote}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
