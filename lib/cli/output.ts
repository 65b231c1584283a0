import type { Log } from '../observability.js';
import { classify, EXIT, type ExitCode } from './exit.js';

type Stream = Pick<NodeJS.WriteStream, 'write'> & { isTTY?: boolean };

/** The secrets a command could print by accident: every one is redacted from the output. */
export function secretsFromEnv(env: NodeJS.ProcessEnv = process.env): Array<string | undefined> {
  return [env.DGS_API_KEY, env.PP_TOKEN, env.AWS_SECRET_ACCESS_KEY, env.AWS_SESSION_TOKEN];
}

export interface OutputOptions {
  json: boolean;
  debug: boolean;
  /** Values never printed (the API key, tokens): replaced by [redacted] wherever they appear. */
  secrets: readonly (string | undefined)[];
  stdout?: Stream;
  stderr?: Stream;
}

/**
 * Where a command writes. Human lines go to stdout, or to stderr with --json so that stdout holds
 * exactly one JSON object; progress and errors go to stderr. Every write is redacted.
 */
export class Output {
  readonly json: boolean;
  readonly debug: boolean;
  readonly stdout: Stream;
  readonly stderr: Stream;
  readonly #secrets: string[];

  constructor(options: OutputOptions) {
    this.json = options.json;
    this.debug = options.debug;
    this.stdout = options.stdout ?? process.stdout;
    this.stderr = options.stderr ?? process.stderr;
    this.#secrets = options.secrets.filter((secret): secret is string =>
      Boolean(secret && secret.length >= 4),
    );
  }

  redact(text: string): string {
    return this.#secrets.reduce((out, secret) => out.split(secret).join('[redacted]'), text);
  }

  /** Text for a terminal: redacted, and what came from files or services cannot steer it. */
  #forPeople(text: string): string {
    return escapeControls(this.redact(text));
  }

  /** A line for people. */
  info(line: string): void {
    (this.json ? this.stderr : this.stdout).write(`${this.#forPeople(line)}\n`);
  }

  /** A line for people that is a warning or a problem, always on stderr. */
  warn(line: string): void {
    this.stderr.write(`${this.#forPeople(line)}\n`);
  }

  /** The one JSON object of a command run with --json; nothing otherwise. */
  result(value: Record<string, unknown>): void {
    // JSON escapes C0 controls itself; DEL and C1 (U+0080–U+009F, 8-bit CSI among them) it leaves.
    const json = this.redact(JSON.stringify(value)).replace(
      C1_AND_DEL,
      (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
    if (this.json) this.stdout.write(`${json}\n`);
  }

  /** Reports a failure: one sentence (and hints) on stderr, the JSON object on stdout; returns its exit code. */
  fail(command: string, error: unknown, details: Record<string, unknown> = {}): ExitCode {
    const { exitCode, message, hints, details: own } = classify(error);
    this.stderr.write(`govpub ${command}: ${this.#forPeople(message)}\n`);
    for (const hint of hints) this.stderr.write(`  hint: ${this.#forPeople(hint)}\n`);
    if (this.debug && error instanceof Error) this.stderr.write(`${this.#forPeople(describeChain(error))}\n`);
    this.result({ ok: false, command, exitCode, error: message, ...details, ...own });
    return exitCode === EXIT.ok ? EXIT.other : exitCode;
  }

  /** What lib/ logs: nothing, or with --debug one line per message on stderr. */
  get log(): Log {
    const write =
      (level: string) =>
      (message: unknown, ...rest: unknown[]): void => {
        if (!this.debug) return;
        const fields = rest.length > 0 ? ` ${safeJson(rest[0])}` : '';
        this.stderr.write(`${this.#forPeople(`[${level}] ${String(message)}${fields}`)}\n`);
      };
    return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') } as Log;
  }
}

/** C0 controls but tab and newline, DEL, and C1 (U+0080–U+009F). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
const C1_AND_DEL = /[\u007f-\u009f]/g;

/**
 * Control characters shown as `\xHH`: a header, value or message that holds an escape sequence
 * (ESC [ …) or a carriage return cannot move the cursor, recolour or rewrite the terminal.
 */
export function escapeControls(text: string): string {
  return text.replace(CONTROLS, (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function describeChain(error: Error): string {
  const parts: string[] = [error.stack ?? `${error.name}: ${error.message}`];
  let cause = error.cause;
  for (let depth = 0; cause instanceof Error && depth < 5; depth++) {
    parts.push(`caused by: ${cause.stack ?? cause.message}`);
    cause = cause.cause;
  }
  return parts.join('\n');
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

const MiB = 1024 * 1024;

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < MiB) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 * MiB) return `${(bytes / MiB).toFixed(1)} MiB`;
  return `${(bytes / 1024 / MiB).toFixed(2)} GiB`;
}

export interface Progress {
  update(bytes: number): void;
  /** The upload completed: shows 100 %. */
  done(): void;
  /** The upload failed: ends the bar's line so that the error starts on its own. */
  stop(): void;
}

/**
 * The upload's progress on stderr: a bar redrawn in place on a terminal, otherwise a line at
 * every 10 %. Starts over when a new link is tried.
 */
export function progressBar(stream: Stream, label: string, size: number): Progress {
  const tty = Boolean(stream.isTTY);
  let lastDraw = 0;
  let lastStep = -1;
  let finished = false;
  let drawn = false;
  const percentOf = (bytes: number) => (size === 0 ? 100 : Math.floor((bytes / size) * 100));
  const draw = (bytes: number) => {
    const percent = percentOf(bytes);
    const width = 30;
    const filled = Math.round((percent / 100) * width);
    drawn = true;
    stream.write(
      `\r${escapeControls(label)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(percent).padStart(3)}% ${formatBytes(bytes)} of ${formatBytes(size)}\u001b[K`,
    );
  };
  return {
    update(bytes) {
      if (finished) return;
      if (tty) {
        const now = Date.now();
        if (now - lastDraw < 100 && bytes < size) return;
        lastDraw = now;
        draw(bytes);
        return;
      }
      const step = Math.floor(percentOf(bytes) / 10);
      if (step < lastStep) lastStep = -1;
      if (step > lastStep) {
        lastStep = step;
        stream.write(`${label} ${step * 10}% (${formatBytes(bytes)} of ${formatBytes(size)})\n`);
      }
    },
    done() {
      if (finished) return;
      finished = true;
      if (tty) {
        draw(size);
        stream.write('\n');
      } else if (lastStep < 10) {
        stream.write(`${label} 100% (${formatBytes(size)} of ${formatBytes(size)})\n`);
      }
    },
    stop() {
      if (finished) return;
      finished = true;
      if (drawn) stream.write('\n');
    },
  };
}
