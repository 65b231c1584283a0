import type { FaultEndpoint, FaultRule } from './types.js';

interface QueuedFault {
  rule: FaultRule;
  remaining: number;
}

/** Scripted failures, consumed in the order they were added, per endpoint. */
export class FaultQueue {
  readonly #queue: QueuedFault[] = [];

  add(rule: FaultRule): void {
    if (!Number.isInteger(rule.times) || rule.times < 1) {
      throw new RangeError(`fault.times must be a positive integer, got ${rule.times}`);
    }
    // A connection dropped before any answer (resetAfterBytes 0) can happen on any endpoint.
    if (rule.resetAfterBytes !== undefined && rule.resetAfterBytes > 0 && rule.endpoint !== 'put') {
      throw new RangeError('fault.resetAfterBytes above 0 applies to the put endpoint only');
    }
    if (rule.stallAfterBytes !== undefined && rule.endpoint !== 'put') {
      throw new RangeError('fault.stallAfterBytes applies to the put endpoint only');
    }
    this.#queue.push({ rule: { ...rule }, remaining: rule.times });
  }

  clear(): void {
    this.#queue.length = 0;
  }

  take(endpoint: FaultEndpoint): FaultRule | undefined {
    const index = this.#queue.findIndex((fault) => fault.rule.endpoint === endpoint);
    const fault = this.#queue[index];
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining === 0) this.#queue.splice(index, 1);
    return fault.rule;
  }
}
