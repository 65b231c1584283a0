import { beforeEach, describe, expect, it } from 'vitest';
import type { IngestionStatus } from '../../../../lib/datagovsg/status.js';
import { LockLostError } from '../../../../lib/errors.js';
import { checkIngestion, initialPoll, nextWait, type PollSettings } from '../../../../lib/publish/poll.js';
import type { PublicationState } from '../../../../lib/publish/publication.js';
import { MemoryLock } from '../../../fakes/memory-lock.js';
import { recordingLog } from '../../../fakes/recording-log.js';

const ID = 'd_07c63be0f37e6e59c07a4ddc2fd87fcb';
const settings: PollSettings = {
  POLL_FIRST_WAIT_SECONDS: 30,
  POLL_BACKOFF_RATE: 1.5,
  POLL_MAX_WAIT_SECONDS: 300,
  POLL_DEADLINE_SECONDS: 3600,
  REUPLOAD_MAX_ATTEMPTS: 2,
  REUPLOAD_FIRST_WAIT_SECONDS: 120,
  LOCK_POLL_LEASE_SECONDS: 1200,
  UNCONFIRMED_GRACE_POLLS: 3,
  UNCONFIRMED_GRACE_SECONDS: 0,
  MAX_WAIT_SECONDS: 86_400,
};
const T0 = new Date('2026-11-22T00:00:00Z');

function answering(...answers: Array<Partial<IngestionStatus>>) {
  const queue = [...answers];
  return {
    ingestionStatus: async (): Promise<IngestionStatus> => ({
      status: 'NA',
      rawStatus: 'NA',
      version: 3,
      updatedAt: 1000,
      failures: null,
      ...(queue.length > 1 ? queue.shift() : queue[0]),
    }),
  };
}

describe('checkIngestion', () => {
  let lock: MemoryLock;
  let state: PublicationState;
  let token: string;

  beforeEach(async () => {
    lock = new MemoryLock(() => T0.getTime());
    const acquired = await lock.acquire(ID, 1000);
    if (!acquired.acquired) throw new Error('lock not acquired');
    token = acquired.token;
    state = {
      publication: {
        publicationId: token,
        lockToken: token,
        bucket: 'drop',
        sourceKey: `incoming/${ID}/replace/a.csv`,
        datasetRef: ID,
        datasetId: ID,
        mode: 'replace',
        size: 10,
        etag: 'e',
        md5Hex: 'm',
        md5Base64: 'b',
        droppedAt: T0.toISOString(),
        uploads: [
          {
            startedAt: T0.toISOString(),
            finishedAt: T0.toISOString(),
            baseline: { status: 'INGESTION_SUCCESS', version: 3, updatedAt: 1000 },
            links: 1,
            unconfirmed: false,
          },
        ],
      },
      poll: initialPoll(settings, T0),
    };
  });

  function deps(dgs: ReturnType<typeof answering>, now = T0) {
    return { dgs, lock, settings, log: recordingLog(), now: () => now };
  }

  it('keeps waiting while the previous upload’s terminal status is still shown', async () => {
    const poll = await checkIngestion(
      deps(answering({ status: 'INGESTION_SUCCESS', rawStatus: 'Ingestion Success' })),
      state,
    );
    expect(poll).toMatchObject({ decision: 'wait', polls: 1 });
    expect(poll.statuses[0]).toMatchObject({ status: 'INGESTION_SUCCESS', ofThisUpload: false });
  });

  it('files a success once the terminal status belongs to this upload', async () => {
    const poll = await checkIngestion(
      deps(
        answering({
          status: 'INGESTION_SUCCESS',
          rawStatus: 'Ingestion Success',
          version: 7,
          updatedAt: 2000,
        }),
      ),
      state,
    );
    expect(poll).toMatchObject({ decision: 'file', result: 'published' });
  });

  it('files Validation Failed with its failures verbatim and never re-uploads it', async () => {
    const failures = [{ row: 3, message: 'bad' }];
    const poll = await checkIngestion(
      deps(answering({ status: 'VALIDATION_FAILED', rawStatus: 'Validation Failed', version: 4, failures })),
      state,
    );
    expect(poll).toMatchObject({ decision: 'file', result: 'validation-failed', failures });
  });

  it('keeps a failures list too large for the state machine out of the state', async () => {
    const failures = Array.from({ length: 5_000 }, (_, row) => ({
      row,
      message: 'Invalid value in column population',
    }));
    const poll = await checkIngestion(
      deps(answering({ status: 'VALIDATION_FAILED', rawStatus: 'Validation Failed', version: 4, failures })),
      state,
    );
    expect(poll).toMatchObject({ decision: 'file', result: 'validation-failed', failuresOmitted: true });
    expect(poll.failures).toBeUndefined();
    expect(JSON.stringify(poll).length).toBeLessThan(64 * 1024);
  });

  it('asks for a re-upload after Ingestion Failed, with a growing wait, until the bound', async () => {
    const failed = answering({ status: 'INGESTION_FAILED', rawStatus: 'Ingestion Failed', version: 9 });
    expect(await checkIngestion(deps(failed), state)).toMatchObject({
      decision: 'reupload',
      nextWaitSeconds: 120,
    });
    const upload = state.publication.uploads[0];
    if (!upload) throw new Error('fixture has an upload');
    state.publication.uploads.push({ ...upload, baseline: { ...upload.baseline, version: 8 } });
    expect(await checkIngestion(deps(failed), state)).toMatchObject({
      decision: 'reupload',
      nextWaitSeconds: 240,
    });
    state.publication.uploads.push({ ...upload, baseline: { ...upload.baseline, version: 8 } });
    expect(await checkIngestion(deps(failed), state)).toMatchObject({
      decision: 'file',
      result: 'ingestion-failed',
    });
  });

  it('sends again a file whose answer was lost when data.gov.sg never shows it arriving', async () => {
    const upload = state.publication.uploads[0];
    if (!upload) throw new Error('fixture has an upload');
    upload.unconfirmed = true;
    const unmoved = answering({
      status: 'INGESTION_SUCCESS',
      rawStatus: 'Ingestion Success',
      version: 3,
      updatedAt: 1000,
    });
    state.poll = await checkIngestion(deps(unmoved), state);
    state.poll = await checkIngestion(deps(unmoved), state);
    expect(state.poll.decision).toBe('wait');
    expect(await checkIngestion(deps(unmoved), state)).toMatchObject({
      decision: 'reupload',
      nextWaitSeconds: 1,
    });
    state.publication.uploads.push({ ...upload }, { ...upload });
    expect(await checkIngestion(deps(unmoved), state)).toMatchObject({
      decision: 'file',
      result: 'not-arrived',
    });
  });

  it('keeps polling on an unknown status and says so in the log', async () => {
    const d = deps(answering({ status: 'QUEUED_FOR_REVIEW', rawStatus: 'Queued For Review', version: 4 }));
    expect(await checkIngestion(d, state)).toMatchObject({ decision: 'wait' });
    expect(d.log.lines.map((line) => line.message)).toContain('STATUS_UNKNOWN');
  });

  it('files a deadline outcome once the deadline has passed', async () => {
    const late = new Date(T0.getTime() + 3601_000);
    const poll = await checkIngestion(
      deps(answering({ status: 'PENDING', rawStatus: 'Pending', version: 4 }), late),
      state,
    );
    expect(poll).toMatchObject({ decision: 'file', result: 'deadline-passed' });
  });

  it('never waits past the deadline', async () => {
    const nearly = new Date(T0.getTime() + 3590_000);
    const poll = await checkIngestion(deps(answering({ status: 'PENDING', version: 4 }), nearly), state);
    expect(poll.nextWaitSeconds).toBe(10);
  });

  it('folds repeated statuses into one entry with a poll count', async () => {
    const d = deps(answering({ status: 'PENDING', rawStatus: 'Pending', version: 4 }));
    state.poll = await checkIngestion(d, state);
    state.poll = await checkIngestion(d, state);
    expect(state.poll.statuses).toHaveLength(1);
    expect(state.poll.statuses[0]?.polls).toBe(2);
  });

  it('renews the lock lease on every check, and stops when the lock was taken over', async () => {
    await checkIngestion(deps(answering({ status: 'PENDING', version: 4 })), state);
    expect(lock.updates.at(-1)).toMatchObject({ phase: 'polling', leaseMs: 1_200_000 });
    lock.records.delete(ID);
    await expect(checkIngestion(deps(answering({ status: 'PENDING' })), state)).rejects.toBeInstanceOf(
      LockLostError,
    );
  });
});

describe('nextWait', () => {
  it('grows from the first wait to the cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 20].map((n) => nextWait(settings, n))).toEqual([
      30, 45, 68, 101, 152, 228, 300, 300,
    ]);
  });
});
