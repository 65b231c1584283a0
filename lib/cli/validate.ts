import { DgsAuthError } from '../errors.js';
import { checkOptionsFor } from '../publish/check-options.js';
import { createDataGovSgClient } from '../runtime.js';
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
  const dgs = createDataGovSgClient(settings, async () => {
    throw new DgsAuthError('validate reads only public endpoints and has no API key');
  });
  const check = await checkOptionsFor(
    dgs,
    datasetId,
    mode,
    settings.CSV_CHECK_MAX_PROBLEMS,
    newColumnsOf(options, mode),
  );
  const { report } = await readFileOnce(file, check);
  if (!report) throw new Error('the check did not run');
  printReport(out, report);
  const summary = `${report.rows} row(s), ${report.columns.length} column(s), ${report.errors} error(s), ${report.warnings} warning(s)${report.metadata === 'compared' ? '' : '; the header was not compared with the dataset'}`;
  const body = { command: 'validate', file, datasetId, mode, check: report };
  if (!report.passed) {
    throw new CliError(
      EXIT.validation,
      `${file} would be rejected as ${mode === 'append' ? 'an append' : 'a replacement'} to ${datasetId}: ${summary}.`,
      { details: body },
    );
  }
  out.info(`${file} passes the check for ${mode} to ${datasetId}: ${summary}.`);
  out.result({ ok: true, ...body });
  return EXIT.ok;
}
