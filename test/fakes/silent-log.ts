import type { Log } from '../../lib/observability.js';

/** A logger that keeps what it was told, so tests can assert on stable messages. */
export function recordingLog(): Log & { lines: Array<{ level: string; message: string; fields: unknown }> } {
  const lines: Array<{ level: string; message: string; fields: unknown }> = [];
  const at =
    (level: string) =>
    (message: unknown, ...rest: unknown[]) => {
      lines.push({ level, message: String(message), fields: rest[0] });
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as Log & {
    lines: typeof lines;
  };
}
