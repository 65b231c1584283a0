import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbClient } from '../../../lib/aws-clients.js';
import { DynamoDatasetLock } from '../../../lib/dataset-lock.js';
import { LockLostError, LockStoreUnavailableError } from '../../../lib/errors.js';
import {
  ensureTable,
  type LocalDynamoDb,
  localDynamoClientConfig,
  startLocalDynamoDb,
} from '../../../local/aws/dynamodb.js';

describe('DynamoDatasetLock on dynalite', () => {
  let dynamo: LocalDynamoDb;
  let clock = 1_000_000;
  let lock: DynamoDatasetLock;

  beforeAll(async () => {
    dynamo = await startLocalDynamoDb();
    const client = createDynamoDbClient(localDynamoClientConfig(dynamo.endpoint));
    await ensureTable(client, { tableName: 'locks', partitionKey: 'datasetId' });
    lock = new DynamoDatasetLock(client, 'locks', () => clock);
  });
  afterAll(async () => dynamo.close());

  it('lets one holder in at a time', async () => {
    const first = await lock.acquire('d_a', 60_000);
    const second = await lock.acquire('d_a', 60_000);
    expect(first).toMatchObject({ acquired: true, previous: undefined });
    expect(second).toMatchObject({ acquired: false, current: { phase: 'selecting' } });
  });

  it('records progress only for the holder, and releases only for the holder', async () => {
    const held = await lock.acquire('d_b', 60_000);
    if (!held.acquired) throw new Error('not acquired');
    await lock.update('d_b', held.token, {
      phase: 'uploading',
      holderKey: 'incoming/x.csv',
      resumeState: '{}',
      leaseMs: 1,
    });
    expect(await lock.get('d_b')).toMatchObject({
      phase: 'uploading',
      holderKey: 'incoming/x.csv',
      resumeState: '{}',
    });
    await expect(lock.update('d_b', 'not-the-token', { leaseMs: 1 })).rejects.toBeInstanceOf(LockLostError);
    expect(await lock.release('d_b', 'not-the-token')).toBe(false);
    expect(await lock.release('d_b', held.token)).toBe(true);
    expect(await lock.get('d_b')).toBeUndefined();
  });

  it('hands a lock whose lease ran out to the next caller, with the stale record', async () => {
    const crashed = await lock.acquire('d_c', 1_000);
    if (!crashed.acquired) throw new Error('not acquired');
    await lock.update('d_c', crashed.token, {
      phase: 'polling',
      holderKey: 'incoming/y.csv',
      leaseMs: 1_000,
    });
    expect((await lock.acquire('d_c', 1_000)).acquired).toBe(false);
    clock += 1_001;
    const next = await lock.acquire('d_c', 1_000);
    expect(next).toMatchObject({
      acquired: true,
      previous: { token: crashed.token, phase: 'polling', holderKey: 'incoming/y.csv' },
    });
    await expect(lock.update('d_c', crashed.token, { leaseMs: 1 })).rejects.toBeInstanceOf(LockLostError);
  });

  it('reports an unreachable store as LockStoreUnavailableError', async () => {
    const nowhere = new DynamoDatasetLock(
      createDynamoDbClient({ ...localDynamoClientConfig('http://127.0.0.1:1'), maxAttempts: 1 }),
      'locks',
    );
    await expect(nowhere.acquire('d_d', 1)).rejects.toBeInstanceOf(LockStoreUnavailableError);
  });
});
