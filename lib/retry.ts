export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export interface BackoffPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** "Full jitter" exponential backoff: spreads retries of many clients over the whole window. */
export function backoffDelayMs(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(random() * ceiling);
}

/**
 * Runs `work` until it succeeds, `shouldRetry` says no, or the attempts run out; the last error
 * is rethrown unchanged so callers see the named error.
 */
export async function withRetries<T>(
  work: (attempt: number) => Promise<T>,
  options: { policy: BackoffPolicy; shouldRetry: (error: unknown) => boolean; sleep?: Sleep },
): Promise<T> {
  const sleep = options.sleep ?? realSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(attempt);
    } catch (error) {
      if (attempt >= options.policy.maxAttempts || !options.shouldRetry(error)) throw error;
      await sleep(backoffDelayMs(attempt, options.policy));
    }
  }
}
