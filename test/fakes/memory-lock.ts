import { randomUUID } from 'node:crypto';
import type { AcquireResult, DatasetLock, DatasetLockRecord, LockUpdate } from '../../lib/dataset-lock.js';
import { LockLostError } from '../../lib/errors.js';

/** An in-memory DatasetLock with the DynamoDB one's rules, for unit tests of its callers. */
export class MemoryLock implements DatasetLock {
  readonly records = new Map<string, DatasetLockRecord>();
  readonly updates: Array<{ datasetId: string } & LockUpdate> = [];

  constructor(private readonly now: () => number = Date.now) {}

  async acquire(datasetId: string, leaseMs: number): Promise<AcquireResult> {
    const current = this.records.get(datasetId);
    if (current && current.leaseExpiresAt >= this.now()) return { acquired: false, current };
    const token = randomUUID();
    this.records.set(datasetId, {
      datasetId,
      token,
      phase: 'selecting',
      holderKey: undefined,
      holderEtag: undefined,
      takeovers: 0,
      acquiredAt: this.now(),
      leaseExpiresAt: this.now() + leaseMs,
      resumeState: undefined,
    });
    return { acquired: true, token, previous: current };
  }

  async update(datasetId: string, token: string, update: LockUpdate): Promise<void> {
    const current = this.records.get(datasetId);
    if (current?.token !== token) throw new LockLostError(`lost ${datasetId}`);
    this.updates.push({ datasetId, ...update });
    this.records.set(datasetId, {
      ...current,
      ...(update.phase ? { phase: update.phase } : {}),
      ...(update.holderKey ? { holderKey: update.holderKey } : {}),
      ...(update.holderEtag ? { holderEtag: update.holderEtag } : {}),
      ...(update.takeovers !== undefined ? { takeovers: update.takeovers } : {}),
      ...(update.resumeState !== undefined ? { resumeState: update.resumeState ?? undefined } : {}),
      leaseExpiresAt: this.now() + update.leaseMs,
    });
  }

  async release(datasetId: string, token: string): Promise<boolean> {
    if (this.records.get(datasetId)?.token !== token) return false;
    this.records.delete(datasetId);
    return true;
  }

  async get(datasetId: string): Promise<DatasetLockRecord | undefined> {
    return this.records.get(datasetId);
  }
}
