import { DgsAuthError } from '../errors.js';
import { checkOptionsFor } from '../publish/check-options.js';
import { createDataGovSgClient } from '../runtime.js';
import { readColumnsFile } from './columns-file.js';
import {
  type CommonOptions,
  fileSize,
  modeOf,
  newColumnsOf,
  printReport,
  readFileOnce,
  resolveDataset,
  settingsFromEnv,
} from './common.js';
import { CliError, EXIT, type ExitCode } from './exit.js';
import type { Output } from './output.js';

export interface ValidateOptions extends CommonOptions {
  dataset: string;
  append?: boolean;
  replace?: boolean;
  newColumns?: boolean;
  /** The dataset's columns from a local file instead of data.gov.sg (offline). */
  columns?: string;
}

/**
 * `govpub validate FILE --dataset ID`: the in-flight checker over a local file. Offline except
 * for the dataset's public column metadata, which needs no key. Without a mode it checks as
 * --append, the stricter (a replace may change the columns; an append may not).
 */
export async function validate(out: Output, file: string, options: ValidateOptions): Promise<ExitCode> {
  const datasetId = resolveDataset(options.dataset);
  const mode = modeOf(options, options.newColumns ? 'replace' : 'append');
  const settings = settingsFromEnv();
  await fileSize(file);
  const newColumns = newColumnsOf(options, mode);
  const maxProblems = settings.CSV_CHECK_MAX_PROBLEMS;
  const check = options.columns
    ? { mode, newColumns, maxProblems, expectedColumns: await readColumnsFile(options.columns, datasetId) }
    : await checkOptionsFor(
        createDataGovSgClient(settings, async () => {
          throw new DgsAuthError('validate reads only public endpoints and has no API key');
        }),
        datasetId,
        mode,
        maxProblems,
        newColumns,
      );
  const { report } = await readFileOnce(file, check);
  if (!report) throw new Error('the check did not run');
  printReport(out, report);
  const compared = report.metadata === 'compared';
  const summary = `${report.rows} row(s), ${report.columns.length} column(s), ${report.errors} error(s), ${report.warnings} warning(s)`;
  const body = { command: 'validate', file, datasetId, mode, check: report };
  if (!report.passed) {
    throw new CliError(
      EXIT.validation,
      `${file} would be rejected as ${mode === 'append' ? 'an append' : 'a replacement'} to ${datasetId}: ${summary}${compared ? '' : NOT_COMPARED}.`,
      { details: body },
    );
  }
  if (!compared) {
    // Not a pass: what needs the dataset's columns was not checked at all.
    throw new CliError(
      EXIT.incomplete,
      `${file} has no problem in what could be checked (${summary}), but the dataset's columns could not be read (${check.metadataUnavailable ?? 'unknown reason'}): its header and NUMERIC values were not checked. Check again when data.gov.sg answers, or give the columns with --columns FILE.`,
      { details: body },
    );
  }
  const source = options.columns ? ` (columns from ${options.columns})` : '';
  out.info(`${file} passes the check for ${mode} to ${datasetId}${source}: ${summary}.`);
  out.result({ ok: true, ...body });
  return EXIT.ok;
}

const NOT_COMPARED =
  "; the header and NUMERIC values were not checked (the dataset's columns could not be read)";
