import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbClient } from '../../../lib/aws-clients/dynamodb.js';
import { DynamoDatasetLock } from '../../../lib/dataset-lock.js';
import { LockStoreUnavailableError } from '../../../lib/errors.js';
import { fileLeaseId, underFileLease } from '../../../lib/file-lease.js';
import { noMetrics } from '../../../lib/metrics.js';
import {
  ensureTable,
  type LocalDynamoDb,
  localDynamoClientConfig,
  startLocalDynamoDb,
} from '../../../local/aws/dynamodb.js';
import { MemoryLock } from '../../fakes/memory-lock.js';
import { recordingLog } from '../../fakes/recording-log.js';

describe('underFileLease on dynalite', () => {
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

  it('names a file’s lease apart from any dataset lock', () => {
    expect(fileLeaseId('drop', 'incoming/performance/g/t/a.ndjson')).toBe(
      'file:drop/incoming/performance/g/t/a.ndjson',
    );
  });

  it('runs the work while holding the lease, and releases it after', async () => {
    const log = recordingLog();
    const result = await underFileLease({ lock, log, metrics: noMetrics }, 'file:b/one', 60_000, async () => {
      expect(await lock.get('file:b/one')).toMatchObject({ leaseExpiresAt: clock + 60_000 });
      return 'done';
    });
    expect(result).toBe('done');
    expect(await lock.get('file:b/one')).toBeUndefined();
  });

  it('answers held without running the work while another run holds the file', async () => {
    const log = recordingLog();
    let ran = false;
    const outer = underFileLease({ lock, log, metrics: noMetrics }, 'file:b/two', 60_000, async () => {
      const inner = await underFileLease(
        { lock, log, metrics: noMetrics },
        'file:b/two',
        60_000,
        async () => {
          ran = true;
        },
      );
      expect(inner).toBe('held');
      return 'outer';
    });
    expect(await outer).toBe('outer');
    expect(ran).toBe(false);
    expect(log.lines.map((line) => line.message)).toContain('FILE_HELD');
  });

  it('releases the lease when the work fails, and lets the error through', async () => {
    const failure = new Error('the write API failed');
    await expect(
      underFileLease({ lock, log: recordingLog(), metrics: noMetrics }, 'file:b/three', 60_000, async () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await lock.get('file:b/three')).toBeUndefined();
  });

  it('keeps a dead run’s file until its lease ends, then gives it to the next run', async () => {
    clock = 2_000_000;
    await lock.acquire('file:b/dead', 960_000);
    const log = recordingLog();
    expect(
      await underFileLease({ lock, log, metrics: noMetrics }, 'file:b/dead', 960_000, async () => 'sent'),
    ).toBe('held');
    clock = 2_960_001;
    expect(
      await underFileLease({ lock, log, metrics: noMetrics }, 'file:b/dead', 960_000, async () => 'sent'),
    ).toBe('sent');
  });

  it('logs a release that failed instead of failing done work', async () => {
    const log = recordingLog();
    const flaky = Object.assign(Object.create(lock) as DynamoDatasetLock, {
      release: async () => {
        throw new LockStoreUnavailableError('The dataset lock store failed to release (TimeoutError)');
      },
    });
    expect(
      await underFileLease(
        { lock: flaky, log, metrics: noMetrics },
        'file:b/four',
        60_000,
        async () => 'done',
      ),
    ).toBe('done');
    expect(log.lines).toContainEqual({
      level: 'warn',
      message: 'FILE_LEASE_NOT_RELEASED',
      fields: { lease: 'file:b/four', error: 'LockStoreUnavailableError' },
    });
  });

  it('names the holder of a held file in the log, or none when the holder let go meanwhile', async () => {
    const log = recordingLog();
    const held = await lock.acquire('file:b/five', 60_000);
    if (!held.acquired) throw new Error('not acquired');
    expect(
      await underFileLease({ lock, log, metrics: noMetrics }, 'file:b/five', 60_000, async () => 'x'),
    ).toBe('held');
    expect(log.lines).toContainEqual({
      level: 'info',
      message: 'FILE_HELD',
      fields: { lease: 'file:b/five', holder: held.token },
    });
    const gone = new MemoryLock();
    gone.acquire = async () => ({ acquired: false, current: undefined });
    expect(
      await underFileLease({ lock: gone, log, metrics: noMetrics }, 'file:b/six', 60_000, async () => 'x'),
    ).toBe('held');
    expect(log.lines.at(-1)).toEqual({
      level: 'info',
      message: 'FILE_HELD',
      fields: { lease: 'file:b/six', holder: undefined },
    });
  });

  it('logs a release that failed with something other than an Error', async () => {
    const log = recordingLog();
    const odd = new MemoryLock();
    odd.release = async () => {
      throw 'a string';
    };
    expect(
      await underFileLease(
        { lock: odd, log, metrics: noMetrics },
        'file:b/seven',
        60_000,
        async () => 'done',
      ),
    ).toBe('done');
    expect(log.lines.at(-1)).toEqual({
      level: 'warn',
      message: 'FILE_LEASE_NOT_RELEASED',
      fields: { lease: 'file:b/seven', error: 'unknown' },
    });
  });
});
