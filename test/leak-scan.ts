import { appendFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The suite-wide secret scan. Every test file runs with the service logging at DEBUG; whatever a
 * person could read (log lines, the test doubles' log lines, reports, events, invocation errors,
 * the output of child processes) is exposed here, and after each file it is searched for every
 * secret the file registered and for presigned-URL credentials. A leak fails that file.
 */

interface ScanState {
  readable: Array<{ source: string; text: string }>;
  secrets: Set<string>;
}

const STATE_KEY = Symbol.for('govpub.leakScan');
const globalState = globalThis as { [STATE_KEY]?: ScanState };
// The setup file and the test file may each load this module; they must share one scan.
globalState[STATE_KEY] ??= { readable: [], secrets: new Set() };
const state: ScanState = globalState[STATE_KEY];

/** Shorter values would match innocent text; tests give credentials at least this long. */
export const MIN_SECRET_LENGTH = 8;

/** Marks a value as a credential the product must never show anyone; returns it. */
export function testSecret<T extends string>(value: T): T {
  if (value.length < MIN_SECRET_LENGTH) {
    throw new Error(`a test secret needs at least ${MIN_SECRET_LENGTH} characters to be scanned for`);
  }
  state.secrets.add(value);
  return value;
}

/** Adds text a person or another system could read to what is scanned after this test file. */
export function exposeToScan(source: string, text: string): void {
  if (text) state.readable.push({ source, text });
}

/** Credentials that may only ever appear redacted, whatever the secret. */
const CREDENTIAL_PATTERNS: Array<{ name: string; pattern: RegExp }> = [
  { name: 'X-Amz-Signature', pattern: /X-Amz-Signature=(?!REDACTED)[0-9a-fA-F]/i },
  { name: 'X-Amz-Security-Token', pattern: /X-Amz-Security-Token=(?!REDACTED)[^&"\s]/i },
  { name: 'X-Amz-Credential', pattern: /X-Amz-Credential=(?!REDACTED)[^&"\s]/i },
  { name: 'a bearer token', pattern: /Bearer [A-Za-z0-9._~+/-]{8,}/ },
];

export interface Leak {
  what: string;
  source: string;
  /** The text around the leak with the secret itself masked, so the failure does not leak it again. */
  excerpt: string;
}

export function findLeaks(): Leak[] {
  const leaks: Leak[] = [];
  const secrets = [...state.secrets];
  for (const { source, text } of state.readable) {
    for (const [index, secret] of secrets.entries()) {
      const at = text.indexOf(secret);
      if (at >= 0)
        leaks.push({ what: `test secret #${index + 1}`, source, excerpt: around(text, at, secrets) });
    }
    for (const { name, pattern } of CREDENTIAL_PATTERNS) {
      const match = pattern.exec(text);
      if (match) leaks.push({ what: name, source, excerpt: around(text, match.index, secrets) });
    }
  }
  return leaks;
}

function around(text: string, at: number, secrets: string[]): string {
  const excerpt = text.slice(Math.max(0, at - 80), at + 120);
  const masked = secrets.reduce((out, secret) => out.split(secret).join('[SECRET]'), excerpt);
  return masked
    .replace(/((?:Signature|Token|Credential)=)[^&"\s]+/gi, '$1[SECRET]')
    .replace(/Bearer \S+/g, 'Bearer [SECRET]');
}

/** Scans what this file exposed, records the tally for the run's summary, and forgets it. */
export function scanAndReset(file: string, tallyDir: string | undefined): Leak[] {
  const leaks = findLeaks();
  if (tallyDir) {
    const lines = state.readable.reduce((sum, entry) => sum + entry.text.split('\n').length, 0);
    const bytes = state.readable.reduce((sum, entry) => sum + entry.text.length, 0);
    appendFileSync(
      join(tallyDir, 'tally.ndjson'),
      `${JSON.stringify({ file, lines, bytes, leaks: leaks.length })}\n`,
    );
  }
  state.readable = [];
  state.secrets.clear();
  return leaks;
}

/** Powertools' JSON log lines: captured for the scan, kept off the console. */
export function isServiceLogLine(text: string): boolean {
  return text.startsWith('{"level":"');
}
