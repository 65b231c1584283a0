import type { PpFaultRule } from './types.js';

interface QueuedFault {
  rule: PpFaultRule;
  remaining: number;
}

/** Scripted failures, consumed in the order they were added. */
export class FaultQueue {
  readonly #queue: QueuedFault[] = [];

  add(rule: PpFaultRule): void {
    if (!Number.isInteger(rule.times) || rule.times < 1) {
      throw new RangeError(`fault.times must be a positive integer, got ${rule.times}`);
    }
    if (
      rule.status !== undefined &&
      (!Number.isInteger(rule.status) || rule.status < 100 || rule.status > 599)
    ) {
      throw new RangeError(`fault.status must be an HTTP status code, got ${rule.status}`);
    }
    if (rule.status !== undefined && rule.dropAfterStore) {
      throw new RangeError('fault.status and fault.dropAfterStore exclude each other');
    }
    if (rule.delayMs !== undefined && !(rule.delayMs >= 0)) {
      throw new RangeError(`fault.delayMs must be >= 0, got ${rule.delayMs}`);
    }
    this.#queue.push({ rule: { ...rule }, remaining: rule.times });
  }

  /** The first queued fault for this write method, counted as used. */
  take(method: string): PpFaultRule | undefined {
    const index = this.#queue.findIndex(
      (fault) => fault.rule.method === undefined || fault.rule.method === method,
    );
    const fault = this.#queue[index];
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining === 0) this.#queue.splice(index, 1);
    return fault.rule;
  }
}
