import { createReadStream } from 'node:fs';
import type { Settings } from '../config.js';
import type { CsvCheckOptions, CsvCheckReport } from '../csv-check/types.js';
import type { DataGovSgClient } from '../datagovsg/client.js';
import {
  belongsToUpload,
  type IngestionStatus,
  isTerminal,
  type StatusBaseline,
} from '../datagovsg/status.js';
import type { PublishMode } from '../drop-key.js';
import { CsvRejectedError, DgsTransientError } from '../errors.js';
import { noMetrics } from '../metrics.js';
import { checkOptionsFor } from '../publish/check-options.js';
import { nextWait } from '../publish/poll.js';
import type { UploadAttempt } from '../publish/publication.js';
import { sendFile } from '../publish/send-file.js';
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
  sleep,
} from './common.js';
import { CliError, EXIT, type ExitCode } from './exit.js';
import { type Output, progressBar } from './output.js';
import { withPipelineLock } from './pipeline-lock.js';
import { statusJson } from './status.js';

export interface PublishOptions extends CommonOptions {
  dataset: string;
  append?: boolean;
  replace?: boolean;
  newColumns?: boolean;
  wait?: boolean;
  check: boolean;
  /** Seconds --wait waits at most (default POLL_DEADLINE_SECONDS). */
  timeout?: number;
  /** A fixed wait between status checks instead of POLL_* (for tests). */
  pollIntervalMs?: number;
}

interface StatusLine extends ReturnType<typeof statusJson> {
  ofThisUpload: boolean;
  seenAt: string;
}

/**
 * `govpub publish FILE --dataset ID --append|--replace [--wait]`: sends a local file straight to
 * data.gov.sg. One read first hashes it and runs the CSV check (a bad file is reported before
 * anything is asked of data.gov.sg but its public metadata); then sendFile streams it with the
 * in-flight check as well; with --wait, the ingestion status is followed until it ends.
 */
export async function publish(out: Output, file: string, options: PublishOptions): Promise<ExitCode> {
  const datasetId = resolveDataset(options.dataset);
  const mode = modeOf(options);
  const newColumns = newColumnsOf(options, mode);
  const settings = settingsFromEnv();
  const dgs = createDataGovSgClient(settings);
  const size = await fileSize(file, settings.MAX_FILE_BYTES);
  const body: Record<string, unknown> = { command: 'publish', file, datasetId, mode, size };

  const check =
    options.check && settings.CSV_CHECK
      ? await checkOptionsFor(dgs, datasetId, mode, settings.CSV_CHECK_MAX_PROBLEMS, newColumns)
      : undefined;
  const { md5Hex, md5Base64, report } = await readFileOnce(file, check);
  Object.assign(body, { md5: md5Hex, check: report ?? null });
  if (report) rejectBadCsv(out, file, report, body);

  // Held through the send and, with --wait, until the outcome: the pipeline's own turn is as long.
  return withPipelineLock(out, settings, datasetId, async () => {
    const upload = await send(out, { dgs, settings, file, size, datasetId, mode, md5Base64, check }, body);
    return finish(out, { dgs, settings, datasetId, mode, file, upload, body, options });
  });
}

async function finish(
  out: Output,
  {
    dgs,
    settings,
    datasetId,
    mode,
    file,
    upload,
    body,
    options,
  }: {
    dgs: DataGovSgClient;
    settings: Settings;
    datasetId: string;
    mode: string;
    file: string;
    upload: UploadAttempt;
    body: Record<string, unknown>;
    options: PublishOptions;
  },
): Promise<ExitCode> {
  Object.assign(body, {
    upload: {
      startedAt: upload.startedAt,
      finishedAt: upload.finishedAt,
      links: upload.links,
      unconfirmed: upload.unconfirmed,
    },
  });
  if (!options.wait) {
    if (upload.unconfirmed) {
      throw new CliError(
        EXIT.connection,
        `The whole file was sent but the connection failed before data.gov.sg's storage confirmed it; check with "govpub status ${options.dataset}" rather than sending it again.`,
        { details: body },
      );
    }
    out.info(
      `Sent ${file} to ${datasetId} (${mode}); data.gov.sg is ingesting it: follow with "govpub status ${options.dataset}".`,
    );
    out.result({ ok: true, outcome: 'sent', ...body });
    return EXIT.ok;
  }

  const statuses: StatusLine[] = [];
  body.statuses = statuses;
  const final = await follow(out, dgs, settings, datasetId, upload.baseline, options, statuses, body);
  body.finalStatus = statusJson(final);
  if (final.status === 'INGESTION_SUCCESS') {
    out.info(`Published ${file} to ${datasetId} (${mode}).`);
    out.result({ ok: true, outcome: 'published', ...body });
    return EXIT.ok;
  }
  if (final.failures) out.warn(`failures: ${JSON.stringify(final.failures).slice(0, 2000)}`);
  if (final.status === 'VALIDATION_FAILED') {
    throw new CliError(
      EXIT.validation,
      `data.gov.sg answered Validation Failed: a row does not fit its column (upload the file in the admin dashboard to see which).`,
      { details: { outcome: 'validation-failed', ...body } },
    );
  }
  throw new CliError(
    EXIT.http,
    `data.gov.sg answered Ingestion Failed on its side; publishing the same file again may succeed.`,
    { details: { outcome: 'ingestion-failed', ...body } },
  );
}

function rejectBadCsv(
  out: Output,
  file: string,
  report: CsvCheckReport,
  body: Record<string, unknown>,
): void {
  if (report.passed) {
    if (report.warnings > 0) printReport(out, report);
    return;
  }
  printReport(out, report);
  throw new CliError(
    EXIT.validation,
    `${file} has ${report.errors} CSV error(s) and was not sent to data.gov.sg.`,
    { details: { outcome: 'csv-invalid', ...body } },
  );
}

interface SendInput {
  dgs: DataGovSgClient;
  settings: Settings;
  file: string;
  size: number;
  datasetId: string;
  mode: PublishMode;
  md5Base64: string;
  check: CsvCheckOptions | undefined;
}

async function send(out: Output, input: SendInput, body: Record<string, unknown>): Promise<UploadAttempt> {
  if (input.settings.IDLE_CONFIRM_SECONDS > 0) {
    out.info(
      `Checking that no other upload to ${input.datasetId} is starting: two status reads ${input.settings.IDLE_CONFIRM_SECONDS} s apart (IDLE_CONFIRM_SECONDS).`,
    );
  }
  const progress = progressBar(out.stderr, 'upload', input.size);
  try {
    const upload = await sendFile(
      {
        dgs: input.dgs,
        settings: input.settings,
        log: out.log,
        // A person at a terminal reads the result; no dashboard watches the CLI.
        metrics: noMetrics,
        now: () => new Date(),
        onProgress: ({ bytesSent }) => progress.update(bytesSent),
      },
      {
        source: {
          key: input.file,
          size: input.size,
          open: async () => createReadStream(input.file),
        },
        datasetId: input.datasetId,
        mode: input.mode,
        md5Base64: input.md5Base64,
        ...(input.check ? { check: input.check } : {}),
      },
    );
    progress.done();
    return upload;
  } catch (error) {
    progress.stop();
    if (error instanceof CsvRejectedError) {
      // The file changed after the first read: the in-flight check stopped the upload.
      printReport(out, error.report);
      throw new CliError(EXIT.validation, `${input.file} has CSV errors and was not stored by data.gov.sg.`, {
        details: { outcome: 'csv-invalid', ...body, check: error.report },
      });
    }
    throw error;
  }
}

/** Polls until a terminal status of this upload, printing each new one; times out at the deadline. */
async function follow(
  out: Output,
  dgs: DataGovSgClient,
  settings: Settings,
  datasetId: string,
  baseline: StatusBaseline,
  options: PublishOptions,
  statuses: StatusLine[],
  body: Record<string, unknown>,
): Promise<IngestionStatus> {
  const timeoutSeconds = options.timeout ?? settings.POLL_DEADLINE_SECONDS;
  const startedAt = Date.now();
  const deadline = startedAt + timeoutSeconds * 1000;
  let last: IngestionStatus | undefined;
  for (let polls = 0; ; polls++) {
    const left = deadline - Date.now();
    if (left <= 0) {
      const seen = last ? ` (last status: ${last.rawStatus})` : '';
      throw new CliError(
        EXIT.timeout,
        `data.gov.sg had not finished ingesting within ${timeoutSeconds} s${seen}; it may still complete: check with "govpub status ${options.dataset}".`,
        { details: { outcome: 'timeout', ...body } },
      );
    }
    const waitSeconds =
      polls === 0 ? settings.POLL_FIRST_WAIT_SECONDS : nextWait(settings, (Date.now() - startedAt) / 1000);
    const waitMs = options.pollIntervalMs ?? waitSeconds * 1000;
    await sleep(Math.min(waitMs, left));
    let current: IngestionStatus;
    try {
      current = await dgs.ingestionStatus(datasetId);
    } catch (error) {
      // The client already retried; keep following until the deadline.
      if (!(error instanceof DgsTransientError)) throw error;
      out.warn(`status check failed (${error.message}); trying again`);
      continue;
    }
    const ofThisUpload = belongsToUpload(current, baseline);
    const previous = statuses.at(-1);
    if (
      !previous ||
      previous.status !== current.status ||
      previous.version !== current.version ||
      previous.ofThisUpload !== ofThisUpload
    ) {
      statuses.push({ ...statusJson(current), ofThisUpload, seenAt: new Date().toISOString() });
      out.info(
        `status  ${current.rawStatus}  (version ${current.version ?? 'none'}${current.updatedAt === null ? '' : `, updated ${new Date(current.updatedAt).toLocaleTimeString()}`}${ofThisUpload ? '' : "; the previous upload's, waiting for this one"})`,
      );
    }
    last = current;
    if (ofThisUpload && isTerminal(current.status)) return current;
  }
}
