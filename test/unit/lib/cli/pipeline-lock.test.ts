import { describe, expect, it } from 'vitest';
import { Output } from '../../../../lib/cli/output.js';
import { withPipelineLock } from '../../../../lib/cli/pipeline-lock.js';
import { MemoryLock } from '../../../fakes/memory-lock.js';

const DATASET = 'd_5f2a6e1b9c0d4e7f8a3b2c1d0e9f8a7b';
const SETTINGS = { LOCK_TABLE_NAME: 'locks', LOCK_UPLOAD_LEASE_SECONDS: 960 };

function quietOutput(): Output {
  const sink = { write: () => true };
  return new Output({ json: false, debug: false, secrets: [], stdout: sink, stderr: sink });
}

describe('publish and the pipeline lock', () => {
  it('sends without a lock when no lock table is configured', async () => {
    let opened = false;
    const result = await withPipelineLock(
      quietOutput(),
      { ...SETTINGS, LOCK_TABLE_NAME: undefined },
      DATASET,
      async () => 'sent',
      async () => {
        opened = true;
        return new MemoryLock();
      },
    );
    expect(result).toBe('sent');
    expect(opened).toBe(false);
  });

  it('holds the dataset while sending and frees it after, also when the send fails', async () => {
    const lock = new MemoryLock();
    const seen = await withPipelineLock(
      quietOutput(),
      SETTINGS,
      DATASET,
      async () => lock.get(DATASET),
      async () => lock,
    );
    expect(seen).toMatchObject({ datasetId: DATASET, holderKey: undefined });
    expect(await lock.get(DATASET)).toBeUndefined();
    await expect(
      withPipelineLock(
        quietOutput(),
        SETTINGS,
        DATASET,
        async () => {
          throw new Error('the upload link refused the file');
        },
        async () => lock,
      ),
    ).rejects.toThrow('the upload link refused the file');
    expect(await lock.get(DATASET)).toBeUndefined();
  });

  it("hands back a crashed run's record it took in a race, expired, for the pipeline's own take-over", async () => {
    let now = 1_000_000;
    const lock = new MemoryLock(() => now);
    const run = await lock.acquire(DATASET, 1_000);
    if (!run.acquired) throw new Error('no lock');
    await lock.update(DATASET, run.token, {
      phase: 'polling',
      holderKey: 'incoming/online-transactions/append/theirs.csv',
      holderEtag: 'etag-1',
      resumeState: '{"publication":{}}',
      leaseMs: 1_000,
    });
    now += 5_000;
    // The look finds nothing (the record expired and was read in between, as a race would have it).
    const racing = Object.assign(Object.create(lock) as MemoryLock, { get: async () => undefined });
    let sent = false;
    await expect(
      withPipelineLock(
        quietOutput(),
        SETTINGS,
        DATASET,
        async () => {
          sent = true;
        },
        async () => racing,
      ),
    ).rejects.toMatchObject({ exitCode: 5 });
    expect(sent).toBe(false);
    expect(await lock.get(DATASET)).toMatchObject({
      phase: 'polling',
      holderKey: 'incoming/online-transactions/append/theirs.csv',
      holderEtag: 'etag-1',
      resumeState: '{"publication":{}}',
      leaseExpiresAt: now,
    });
  });
});
