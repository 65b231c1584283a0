import type { Log } from '../../lib/observability.js';
import { exposeToScan } from '../leak-scan.js';

/** A logger that keeps what it was told, so tests can assert on stable messages; its lines are scanned for secrets. */
export function recordingLog(): Log & { lines: Array<{ level: string; message: string; fields: unknown }> } {
  const lines: Array<{ level: string; message: string; fields: unknown }> = [];
  const at =
    (level: string) =>
    (message: unknown, ...rest: unknown[]) => {
      const line = { level, message: String(message), fields: rest[0] };
      lines.push(line);
      exposeToScan('a recording log', safeJson(line));
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as Log & {
    lines: typeof lines;
  };
}

function safeJson(value: unknown): string {
  try {
    // Errors serialise as {} by default; a person reading the log would see their text.
    return (
      JSON.stringify(value, (_key, field: unknown) =>
        field instanceof Error
          ? { name: field.name, message: field.message, stack: field.stack, cause: field.cause }
          : field,
      ) ?? String(value)
    );
  } catch {
    return String(value);
  }
}
