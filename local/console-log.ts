import type { Log } from '../lib/observability.js';

type Fields = Record<string, unknown> | undefined;
type Print = (line: string) => void;

/** What a passing failure's error name means, for a person. */
const PASSING: Record<string, string> = {
  DgsTransientError: 'data.gov.sg is failing or slow',
  LockStoreUnavailableError: 'the lock table is unavailable',
  LockLostError: 'this run lost the dataset lock',
  ParameterUnavailableError: 'SSM (the API key parameter) is unavailable',
};

/**
 * One readable line for each of the pipeline's stable messages; null keeps it off the console
 * (another line says it), undefined means it has no line of its own.
 */
function describe(message: string, f: Fields): string | null | undefined {
  const key = String(f?.key ?? f?.sourceKey ?? '');
  const dataSet = `${f?.dataGroup}/${f?.dataType}`;
  switch (message) {
    case 'DATASET_HELD':
      return `waiting   ${f?.datasetId}: busy with ${f?.holderKey ?? 'another file'}; new files wait in incoming/`;
    case 'DATASET_BUSY_AT_DGS':
      return `waiting   ${key}: data.gov.sg shows another upload in progress; the sweep retries`;
    case 'UPLOAD_STARTED':
      return `uploading ${key} (${f?.size} bytes, ${f?.mode})`;
    case 'UPLOAD_SENT':
      return `uploaded  ${key}`;
    case 'UPLOAD_RETRYING':
      return `retrying  ${key}: the upload was refused or cut (${f?.reason}); sending again on a new link`;
    case 'UPLOAD_UNCONFIRMED':
      return `sent?     ${key}: the answer to the upload was lost (${f?.reason}); data.gov.sg's status will show whether it arrived`;
    case 'UPLOAD_ABORTED_BAD_CSV':
      return `stopped   ${key}: the CSV check found ${f?.errors} error(s); the upload was cut off before it completed`;
    case 'UPLOAD_DEFERRED':
      return `waiting   ${key}: ${PASSING[String(f?.error)] ?? String(f?.error)}; the sweep sends it later`;
    case 'UPLOAD_FAILED':
      return null; // PUBLISH_FAILED names the file and its code.
    case 'STATUS_CHECKED':
      return `status    ${f?.datasetId}: ${f?.status}${f?.ofThisUpload ? '' : ' (previous upload)'}`;
    case 'STATUS_UNKNOWN':
      return `status    ${f?.datasetId}: data.gov.sg answered a status govpub does not know ("${f?.rawStatus}"); checking again`;
    case 'STATUS_CHECK_FAILED':
      return `waiting   ${f?.datasetId}: the status check failed (${f?.error}, ${f?.failedChecks} in a row); checking again later`;
    case 'UNCONFIRMED_UPLOAD_NOT_ARRIVED':
      return `resending ${f?.datasetId}: the send whose answer was lost never arrived (${f?.polls} checks)`;
    case 'UNCONFIRMED_UPLOAD_ARRIVED_LATE':
      return `following ${f?.datasetId}: the send whose answer was lost arrived after all (${f?.status})`;
    case 'REUPLOAD_ALREADY_SENT':
      return `following ${f?.datasetId}: an earlier try of the re-upload sent the file; not sending it again`;
    case 'REUPLOAD_MAY_HAVE_ARRIVED':
      return `following ${f?.datasetId}: an earlier try of the re-upload may have sent the file; not sending it again`;
    case 'SEND_NOT_RECORDED_IN_LOCK':
    case 'SEND_INTENT_NOT_CLEARED':
      return `warning   ${f?.datasetId}: the lock table could not record the send (${f?.error}); a take-over reads data.gov.sg's status instead`;
    case 'STALE_LOCK_TAKEN_OVER':
      return `taking over ${f?.datasetId}: the run holding ${f?.holderKey ?? 'it'} stopped while ${f?.phase}; take-over ${f?.takeovers}`;
    case 'PUBLICATION_RESUMED':
      return `resuming  ${key}: following the stopped run's send, not sending again (take-over ${f?.takeovers})`;
    case 'HANDED_OVER':
      return `handing over ${key}: too little time left in this run to send it; a fresh run takes it`;
    case 'PUBLISH_SUCCEEDED': {
      const warnings = Number(f?.warnings ?? 0);
      const note =
        warnings > 0
          ? ` (${warnings} warning${warnings === 1 ? '' : 's'}: see the report's check.problems)`
          : '';
      return `published ${key} -> ${f?.fileKey}${note}`;
    }
    case 'PUBLISH_FAILED':
      return `failed    ${key} -> ${f?.fileKey} [${f?.errorCode}]`;
    case 'PUBLISH_UNCONFIRMED':
      return `unconfirmed ${key} -> ${f?.fileKey} [${f?.errorCode}]: sent, outcome unknown; read the report before doing anything`;
    case 'FILING_FINISHED':
      return `filed     ${key} -> ${f?.fileKey}: finished the filing a stopped run had begun`;
    case 'PUBLISH_REQUEST_REFUSED':
      return `refused   a publish request${key ? ` for ${key}` : ''} [${f?.errorCode}]`;
    case 'PP_CHUNK_STORED':
      return `forwarded chunk ${f?.chunk} of ${dataSet} (records ${f?.from}–${Number(f?.to) - 1})`;
    case 'PP_CHUNK_FAILED':
      return `failed    chunk ${f?.chunk} of ${dataSet} (records ${f?.from}–${Number(f?.to) - 1}): ${f?.kind}${f?.status ? ` ${f?.status}` : ''} after ${f?.attempts} attempt(s)`;
    case 'PP_FORWARD_DONE':
      return f?.outcome === 'forwarded' || f?.outcome === 'empty'
        ? null // PP_FILE_FORWARDED, or the HTTP answer, says it.
        : `failed    forwarding to ${dataSet}: ${f?.outcome}, ${f?.stored} of ${f?.chunks} chunk(s) stored, ${f?.errors} error(s)`;
    case 'PP_FORWARD_DEFERRED':
      return `waiting   ${key}: the Performance Platform is failing; it will be sent again`;
    case 'PP_FILE_FORWARDED':
      return `forwarded ${key} (${f?.records} records)`;
    case 'PP_FILE_FAILED':
      return `failed    ${key} [${f?.errorCode}]`;
    case 'PP_EVENT_REFUSED':
      return `refused   a Performance Records Submitted event: ${Array.isArray(f?.problems) ? f.problems.length : 'its'} problem(s)`;
    case 'PP_DATA_SET_EMPTIED':
      return `emptied   ${dataSet}, as ${f?.requestedBy ?? 'an unauthenticated local caller'} asked`;
    case 'PP_EMPTY_FAILED':
      return `failed    emptying ${dataSet}: ${f?.kind}${f?.status ? ` ${f?.status}` : ''} after ${f?.attempts} attempt(s)`;
    case 'FILE_LEASE_TAKEN_OVER':
      return `taking over ${f?.lease}: the run forwarding it stopped before it was done; forwarding it again`;
    case 'FILE_LEASE_NOT_RELEASED':
      return `warning   the lease on ${f?.lease} could not be released (${f?.error}); it ends on its own`;
    case 'DROPPED_BY_NOT_RECORDED':
      return `warning   who dropped ${key} could not be recorded (${f?.error}); it is published all the same, its report says droppedBy null`;
    case 'DROPPED_BY_NOT_READ':
      return `warning   who dropped ${key} could not be read (${f?.error}); its report says droppedBy null`;
    case 'HTTP_UNEXPECTED_ERROR':
      return `error     an HTTP request failed unexpectedly (${f?.error}: ${f?.message}); it was answered 500${typeof f?.stack === 'string' ? `\n${f.stack.replace(/^/gm, '            ')}` : ''}`;
    default:
      return undefined;
  }
}

/** `SOME_CODE` and its fields as words: the line of a warning without one of its own. */
function inWords(level: string, message: string, fields: Fields): string {
  const pairs = Object.entries(fields ?? {})
    .map(([name, value]) => `${name} ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(', ');
  return `${level.padEnd(9)} ${message.toLowerCase().replaceAll('_', ' ')}${pairs ? `: ${pairs}` : ''}`;
}

/**
 * A Log for people watching `npm start`: the pipeline's stable messages become one readable line
 * each; everything else stays quiet unless it is a warning or an error. JSON logs are for
 * POWERTOOLS_LOG_LEVEL (the functions' own logger) and `--debug`.
 */
export function consoleLog(print: Print = (line) => process.stdout.write(`${line}\n`)): Log {
  const say = (text: string) => print(`${new Date().toISOString().slice(11, 19)}  ${text}`);
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (message: unknown, ...rest: unknown[]) => {
      const fields = rest[0] as Fields;
      const line = describe(String(message), fields);
      if (line) say(line);
      else if (line === undefined && (level === 'warn' || level === 'error'))
        say(inWords(level === 'warn' ? 'warning' : 'error', String(message), fields));
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as Log;
}

/** A progress line every 10% of a file's bytes. */
export function progressPrinter(print: Print = (line) => process.stdout.write(`${line}\n`)) {
  const shown = new Map<string, number>();
  return ({ key, bytesSent, size }: { key: string; bytesSent: number; size: number }) => {
    const tenth = size === 0 ? 10 : Math.floor((bytesSent / size) * 10);
    if ((shown.get(key) ?? -1) >= tenth) return;
    shown.set(key, tenth);
    print(`          ${key}: ${bytesSent} of ${size} bytes (${tenth * 10}%)`);
  };
}
