import type { Failure } from './failure.js';

/** An invocation's time limit: a fresh invocation's whole time, and what is left of this one. */
export interface TimeBudget {
  totalMs: number;
  leftMs: () => number;
}

export interface SendTimeSettings {
  UPLOAD_ASSUMED_MIB_PER_SECOND: number;
  IDLE_CONFIRM_SECONDS: number;
}

/** Link requests, status reads (with retries) and the hand-off to the state machine. */
const FIXED_OVERHEAD_MS = 30_000;

export type SendTiming =
  | { verdict: 'send' | 'hand-over'; neededMs: number; leftMs: number }
  | { verdict: 'too-slow'; failure: Failure };

/**
 * Whether this invocation can finish sending a file before its time runs out, at a conservative
 * throughput: a send cut off by the time limit leaves the file in doubt, and each take-over would
 * start it again. With too little time left, a fresh invocation takes the file (hand-over); a file
 * that no invocation could send in time is refused before anything is sent.
 */
export function timeToSend(
  budget: TimeBudget | undefined,
  size: number,
  readTwice: boolean,
  settings: SendTimeSettings,
): SendTiming {
  if (!budget) return { verdict: 'send', neededMs: 0, leftMs: Number.POSITIVE_INFINITY };
  const bytesPerMs = (settings.UPLOAD_ASSUMED_MIB_PER_SECOND * 1024 * 1024) / 1000;
  const neededMs = Math.ceil(
    ((readTwice ? 2 : 1) * size) / bytesPerMs + FIXED_OVERHEAD_MS + settings.IDLE_CONFIRM_SECONDS * 1000,
  );
  if (neededMs > budget.totalMs) {
    const message = `The file is ${size} bytes: at the assumed ${settings.UPLOAD_ASSUMED_MIB_PER_SECOND} MiB/s between S3 and data.gov.sg (UPLOAD_ASSUMED_MIB_PER_SECOND), ${readTwice ? 'hashing and sending' : 'sending'} it would take about ${Math.ceil(neededMs / 1000)} s, more than the upload function's ${Math.floor(budget.totalMs / 1000)} s. Nothing was sent. Split it into smaller files (the first with replace, the rest with append)${readTwice ? ', or upload it in one part so that its ETag is its MD5 and it is read once' : ''}.`;
    return { verdict: 'too-slow', failure: { code: 'TOO_LARGE_FOR_TIME_LIMIT', message } };
  }
  const leftMs = budget.leftMs();
  return { verdict: neededMs > leftMs ? 'hand-over' : 'send', neededMs, leftMs };
}
