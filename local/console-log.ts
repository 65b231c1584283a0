import type { Log } from '../lib/observability.js';

type Fields = Record<string, unknown> | undefined;
type Print = (line: string) => void;

/**
 * A Log for people watching `npm start`: the pipeline's stable messages become one readable line
 * each; everything else stays quiet unless it is a warning or an error.
 */
export function consoleLog(print: Print = (line) => process.stdout.write(`${line}\n`)): Log {
  const say = (text: string) => print(`${new Date().toISOString().slice(11, 19)}  ${text}`);
  const describe = (message: string, f: Fields): string | undefined => {
    const key = String(f?.key ?? f?.sourceKey ?? '');
    switch (message) {
      case 'DATASET_HELD':
        return `waiting   ${f?.datasetId}: busy with ${f?.holderKey ?? 'another file'}; new files wait in incoming/`;
      case 'DATASET_BUSY_AT_DGS':
        return `waiting   ${key}: data.gov.sg shows another upload in progress; the sweep retries`;
      case 'UPLOAD_STARTED':
        return `uploading ${key} (${f?.size} bytes, ${f?.mode})`;
      case 'UPLOAD_SENT':
        return `uploaded  ${key}`;
      case 'STATUS_CHECKED':
        return `status    ${f?.datasetId}: ${f?.status}${f?.ofThisUpload ? '' : ' (previous upload)'}`;
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
      case 'STATUS_CHECK_FAILED':
        return `waiting   ${f?.datasetId}: the status check failed (${f?.error}, ${f?.failedChecks} in a row); checking again later`;
      case 'HANDED_OVER':
        return `handing over ${key}: too little time left in this run to send it; a fresh run takes it`;
      case 'PP_CHUNK_STORED':
        return `forwarded chunk ${f?.chunk} of ${f?.dataGroup}/${f?.dataType} (records ${f?.from}–${Number(f?.to) - 1})`;
      case 'PP_FORWARD_DEFERRED':
        return `waiting   ${key}: the Performance Platform is failing; it will be sent again`;
      case 'PP_FILE_FORWARDED':
        return `forwarded ${key} (${f?.records} records)`;
      case 'PP_FILE_FAILED':
        return `failed    ${key} [${f?.errorCode}]`;
      default:
        return undefined;
    }
  };
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (message: unknown, ...rest: unknown[]) => {
      const fields = rest[0] as Fields;
      const line = describe(String(message), fields);
      if (line) say(line);
      else if (level === 'warn' || level === 'error')
        say(`${level.padEnd(9)} ${String(message)} ${JSON.stringify(fields ?? {})}`);
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
