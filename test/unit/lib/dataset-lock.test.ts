import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbClient } from '../../../lib/aws-clients/dynamodb.js';
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
  let client: ReturnType<typeof createDynamoDbClient>;

  /** The item as DynamoDB holds it, for the attributes the record does not show (the TTL). */
  async function item(datasetId: string) {
    return (
      await client.send(new GetItemCommand({ TableName: 'locks', Key: { datasetId: { S: datasetId } } }))
    ).Item;
  }

  beforeAll(async () => {
    dynamo = await startLocalDynamoDb();
    client = createDynamoDbClient(localDynamoClientConfig(dynamo.endpoint));
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

  it('writes the lease and a TTL a day after it, in seconds, on acquire and on every update', async () => {
    clock = 5_000_000;
    const held = await lock.acquire('d_ttl', 60_000);
    if (!held.acquired) throw new Error('not acquired');
    expect(await lock.get('d_ttl')).toMatchObject({ acquiredAt: 5_000_000, leaseExpiresAt: 5_060_000 });
    expect((await item('d_ttl'))?.expiresAt?.N).toBe(String(Math.ceil(5_060_000 / 1000) + 86_400));
    clock = 5_500_001;
    await lock.update('d_ttl', held.token, { leaseMs: 1_200_000 });
    expect((await lock.get('d_ttl'))?.leaseExpiresAt).toBe(6_700_001);
    expect((await item('d_ttl'))?.expiresAt?.N).toBe(String(Math.ceil(6_700_001 / 1000) + 86_400));
    // The TTL is never in the past while the lease runs: DynamoDB would delete a live lock.
    expect(Number((await item('d_ttl'))?.expiresAt?.N) * 1000).toBeGreaterThan(6_700_001);
  });

  it('treats a lease ending exactly now as held, and one a millisecond past as stale', async () => {
    clock = 8_000_000;
    const held = await lock.acquire('d_edge', 1_000);
    if (!held.acquired) throw new Error('not acquired');
    clock = 8_001_000;
    expect((await lock.acquire('d_edge', 1_000)).acquired).toBe(false);
    clock = 8_001_001;
    expect((await lock.acquire('d_edge', 1_000)).acquired).toBe(true);
  });

  it('keeps the file held and its take-overs across updates, and hands them to the taker', async () => {
    clock = 9_000_000;
    const held = await lock.acquire('d_file', 1_000);
    if (!held.acquired) throw new Error('not acquired');
    await lock.update('d_file', held.token, {
      phase: 'selecting',
      holderKey: 'incoming/d/append/a.csv',
      holderEtag: 'etag-1',
      takeovers: 2,
      leaseMs: 1_000,
    });
    await lock.update('d_file', held.token, { phase: 'uploading', resumeState: '{"x":1}', leaseMs: 1_000 });
    expect(await lock.get('d_file')).toMatchObject({
      phase: 'uploading',
      holderKey: 'incoming/d/append/a.csv',
      holderEtag: 'etag-1',
      takeovers: 2,
      resumeState: '{"x":1}',
    });
    await lock.update('d_file', held.token, { takeovers: 0, leaseMs: 1_000 });
    expect((await lock.get('d_file'))?.takeovers).toBe(0);
    // Left out, the resume state stays; null removes it (its file is done with).
    expect((await lock.get('d_file'))?.resumeState).toBe('{"x":1}');
    await lock.update('d_file', held.token, { phase: 'selecting', resumeState: null, leaseMs: 1_000 });
    expect(await lock.get('d_file')).toMatchObject({ phase: 'selecting', resumeState: undefined });
    clock += 1_001;
    const next = await lock.acquire('d_file', 1_000);
    expect(next).toMatchObject({ acquired: true, previous: { holderEtag: 'etag-1', takeovers: 0 } });
    // A fresh record holds no file and no take-overs.
    expect(await lock.get('d_file')).toMatchObject({
      phase: 'selecting',
      holderKey: undefined,
      takeovers: 0,
    });
  });

  it('tells a store outage from a lost lock, on every operation, and never swallows a release error', async () => {
    const nowhere = new DynamoDatasetLock(
      createDynamoDbClient({ ...localDynamoClientConfig('http://127.0.0.1:1'), maxAttempts: 1 }),
      'locks',
    );
    for (const operation of [
      () => nowhere.update('d_x', 't', { leaseMs: 1 }),
      () => nowhere.release('d_x', 't'),
      () => nowhere.get('d_x'),
    ]) {
      const error = await operation().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(LockStoreUnavailableError);
      expect(error).not.toBeInstanceOf(LockLostError);
      expect((error as Error).message).toMatch(/^The dataset lock store failed to (update|release|read) \(/);
    }
    await expect(lock.update('d_nobody', 'token', { leaseMs: 1 })).rejects.toThrow(
      /^The lock on d_nobody is no longer held by this run/,
    );
  });
});

describe('DynamoDatasetLock: errors name the operation and keep their cause', () => {
  it('an unreachable store on acquire is an outage of acquire, with the SDK error as cause', async () => {
    const nowhere = new DynamoDatasetLock(
      createDynamoDbClient({ ...localDynamoClientConfig('http://127.0.0.1:1'), maxAttempts: 1 }),
      'locks',
    );
    const error = (await nowhere.acquire('d_z', 1).catch((caught: unknown) => caught)) as Error;
    expect(error).toBeInstanceOf(LockStoreUnavailableError);
    expect(error.message).toMatch(/^The dataset lock store failed to acquire \(/);
    expect(error.cause).toBeInstanceOf(Error);
  });
});
