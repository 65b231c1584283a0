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
    for (const field of ['resetAfterBytes', 'stallAfterBytes'] as const) {
      if (rule[field] !== undefined && rule.endpoint !== 'put') {
        throw new RangeError(`fault.${field} applies to the put endpoint only`);
      }
    }
    this.#queue.push({ rule: { ...rule }, remaining: rule.times });
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
