import { beforeEach, describe, expect, it } from 'vitest';
import { loadSettings } from '../../../../lib/config.js';
import type { IngestionStatus } from '../../../../lib/datagovsg/status.js';
import {
  DgsAuthError,
  DgsTransientError,
  LockLostError,
  LockStoreUnavailableError,
  ParameterUnavailableError,
} from '../../../../lib/errors.js';
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

/** A publication sent once at T0 from `baseline`, under the lock token, as the state machine carries it. */
function sentState(
  token: string,
  baseline: { status: string; version: number | null; updatedAt: number | null },
  options: { unconfirmed?: boolean; mode?: 'replace' | 'append'; pollSettings?: PollSettings } = {},
): PublicationState {
  return {
    publication: {
      publicationId: token,
      lockToken: token,
      bucket: 'drop',
      sourceKey: `incoming/${ID}/${options.mode ?? 'replace'}/a.csv`,
      datasetRef: ID,
      datasetId: ID,
      mode: options.mode ?? 'replace',
      newColumns: false,
      size: 10,
      etag: 'e',
      md5Hex: 'm',
      md5Base64: 'b',
      droppedAt: T0.toISOString(),
      requestedBy: null,
      droppedBy: null,
      uploads: [
        {
          startedAt: T0.toISOString(),
          finishedAt: T0.toISOString(),
          baseline,
          links: 1,
          unconfirmed: options.unconfirmed ?? false,
        },
      ],
    },
    poll: initialPoll(options.pollSettings ?? settings, T0),
  };
}

/** A lock held from T0, and its token. */
async function heldLock(): Promise<{ lock: MemoryLock; token: string }> {
  const lock = new MemoryLock(() => T0.getTime());
  const acquired = await lock.acquire(ID, 1000);
  if (!acquired.acquired) throw new Error('lock not acquired');
  return { lock, token: acquired.token };
}

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
    ({ lock, token } = await heldLock());
    state = sentState(token, { status: 'INGESTION_SUCCESS', version: 3, updatedAt: 1000 });
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

describe('checkIngestion: a send whose answer was lost', () => {
  let lock: MemoryLock;
  let state: PublicationState;

  const BASELINE = { status: 'INGESTION_SUCCESS', version: 3, updatedAt: 1000 };
  const graced: PollSettings = { ...settings, UNCONFIRMED_GRACE_SECONDS: 600 };

  beforeEach(async () => {
    let token: string;
    ({ lock, token } = await heldLock());
    state = sentState(token, BASELINE, { unconfirmed: true, mode: 'append', pollSettings: graced });
  });

  async function checks(answer: Partial<IngestionStatus>, times: number, secondsAfter: number) {
    const now = new Date(T0.getTime() + secondsAfter * 1000);
    const d = { dgs: answering(answer), lock, settings: graced, log: recordingLog(), now: () => now };
    for (let i = 0; i < times; i++) state.poll = await checkIngestion(d, state);
    return state.poll;
  }

  const unmoved = {
    status: 'INGESTION_SUCCESS',
    rawStatus: 'Ingestion Success',
    version: 3,
    updatedAt: 1000,
  };

  it('is sent again only after both the polls and the time grace', async () => {
    expect(await checks(unmoved, 3, 599)).toMatchObject({ decision: 'wait' });
    expect(await checks(unmoved, 1, 600)).toMatchObject({ decision: 'reupload', nextWaitSeconds: 1 });
  });

  it('is not sent again before its third poll, however long ago it was sent', async () => {
    expect(await checks(unmoved, 2, 3000)).toMatchObject({ decision: 'wait' });
    expect(await checks(unmoved, 1, 3000)).toMatchObject({ decision: 'reupload' });
  });

  it.each([
    ['the version moved', { version: 4 }],
    ['it was updated later', { updatedAt: 1001 }],
    [
      'another status with the same version and date',
      { status: 'INGESTION_FAILED', rawStatus: 'Ingestion Failed' },
    ],
    ['not idle', { status: 'PENDING', rawStatus: 'Pending' }],
  ])('is never sent again when anything moved: %s', async (_, change) => {
    const poll = await checks({ ...unmoved, ...change }, 5, 3000);
    expect(poll.decision).not.toBe('reupload');
  });
});

describe('checkIngestion: statuses folded into the report', () => {
  let lock: MemoryLock;
  let state: PublicationState;

  beforeEach(async () => {
    let token: string;
    ({ lock, token } = await heldLock());
    state = sentState(token, { status: 'NA', version: 3, updatedAt: 1000 }, { mode: 'append' });
  });

  async function check(answer: Partial<IngestionStatus>, secondsAfter = 0) {
    const now = new Date(T0.getTime() + secondsAfter * 1000);
    state.poll = await checkIngestion(
      { dgs: answering(answer), lock, settings, log: recordingLog(), now: () => now },
      state,
    );
    return state.poll.statuses;
  }

  it('starts a new entry when the status changes, even with the same version', async () => {
    await check({ status: 'PENDING', rawStatus: 'Pending', version: 4, updatedAt: 2000 });
    const statuses = await check(
      { status: 'PENDING_VALIDATION', rawStatus: 'Pending Validation', version: 4, updatedAt: 2000 },
      5,
    );
    expect(statuses.map((entry) => [entry.status, entry.polls])).toEqual([
      ['PENDING', 1],
      ['PENDING_VALIDATION', 1],
    ]);
  });

  it('starts a new entry when the version changes, and when it turns out to be this upload’s', async () => {
    await check({ status: 'PENDING', rawStatus: 'Pending', version: 4, updatedAt: 2000 });
    await check({ status: 'PENDING', rawStatus: 'Pending', version: 5, updatedAt: 2000 });
    const statuses = await check({ status: 'NA', rawStatus: 'NA', version: 3, updatedAt: 1000 });
    expect(statuses.map((entry) => [entry.status, entry.version, entry.ofThisUpload])).toEqual([
      ['PENDING', 4, true],
      ['PENDING', 5, true],
      ['NA', 3, false],
    ]);
  });

  it('keeps the first sighting and moves the last on a repeat', async () => {
    await check({ status: 'PENDING', rawStatus: 'Pending', version: 4, updatedAt: 2000 });
    const [entry] = await check({ status: 'PENDING', rawStatus: 'Pending', version: 4, updatedAt: 2000 }, 45);
    expect(entry).toMatchObject({
      firstSeenAt: T0.toISOString(),
      lastSeenAt: new Date(T0.getTime() + 45_000).toISOString(),
      polls: 2,
      rawStatus: 'Pending',
      updatedAt: 2000,
    });
  });
});

describe('checkIngestion: outages after the file was sent', () => {
  let lock: MemoryLock;
  let state: PublicationState;
  const failing = (error: Error) => ({
    ingestionStatus: async (): Promise<IngestionStatus> => {
      throw error;
    },
  });

  beforeEach(async () => {
    let token: string;
    ({ lock, token } = await heldLock());
    state = sentState(token, { status: 'NA', version: 3, updatedAt: 1000 }, { mode: 'append' });
  });

  function at(secondsAfter: number) {
    return () => new Date(T0.getTime() + secondsAfter * 1000);
  }

  it.each([
    new DgsTransientError('server', 'data.gov.sg failed on ingestion-status (HTTP 503)'),
    new ParameterUnavailableError('SSM could not give the parameter /k'),
  ])('waits at the cap through %s, counting the failed checks from the first', async (error) => {
    const log = recordingLog();
    state.poll = await checkIngestion({ dgs: failing(error), lock, settings, log, now: at(10) }, state);
    const poll = await checkIngestion({ dgs: failing(error), lock, settings, log, now: at(400) }, state);
    expect(poll).toMatchObject({
      decision: 'wait',
      nextWaitSeconds: 300,
      polls: 0,
      outage: {
        since: at(10)().toISOString(),
        failedChecks: 2,
        lastError: `${error.name}: ${error.message}`,
      },
    });
    expect(log.lines.filter((line) => line.message === 'STATUS_CHECK_FAILED')).toHaveLength(2);
  });

  it('counts the lock store failing to renew the lease as an outage too', async () => {
    const down = new MemoryLock(() => T0.getTime());
    down.update = async () => {
      throw new LockStoreUnavailableError('The dataset lock store failed to update (TimeoutError)');
    };
    const poll = await checkIngestion(
      {
        dgs: answering({ status: 'INGESTION_SUCCESS', version: 9 }),
        lock: down,
        settings,
        log: recordingLog(),
        now: at(1),
      },
      state,
    );
    expect(poll).toMatchObject({ decision: 'wait', outage: { failedChecks: 1 } });
  });

  it('waits until MAX_WAIT_SECONDS after the first send, past the polling deadline, then files no-answer', async () => {
    const error = new DgsTransientError('timeout', 'no answer');
    const check = (seconds: number) =>
      checkIngestion({ dgs: failing(error), lock, settings, log: recordingLog(), now: at(seconds) }, state);
    expect(await check(3600 + 5)).toMatchObject({ decision: 'wait', nextWaitSeconds: 300 });
    expect(await check(86_400 - 30)).toMatchObject({ decision: 'wait', nextWaitSeconds: 30 });
    expect(await check(86_400)).toMatchObject({ decision: 'file', result: 'no-answer' });
  });

  it('gives the polling deadline back the time an outage took, once data.gov.sg answers', async () => {
    const error = new DgsTransientError('server', 'down');
    state.poll = await checkIngestion(
      { dgs: failing(error), lock, settings, log: recordingLog(), now: at(100) },
      state,
    );
    const poll = await checkIngestion(
      {
        dgs: answering({ status: 'PENDING', rawStatus: 'Pending', version: 4 }),
        lock,
        settings,
        log: recordingLog(),
        now: at(3000),
      },
      state,
    );
    expect(poll.outage).toBeUndefined();
    expect(poll.deadlineAt).toBe(new Date(T0.getTime() + 3600_000 + 2900_000).toISOString());
    expect(poll).toMatchObject({ decision: 'wait', polls: 1 });
  });

  it.each([new DgsAuthError('refused'), new LockLostError('taken over'), new TypeError('a bug')])(
    'does not wait through %s: the error ends the polling',
    async (error) => {
      await expect(
        checkIngestion({ dgs: failing(error), lock, settings, log: recordingLog(), now: at(1) }, state),
      ).rejects.toBe(error);
    },
  );
});

describe('checkIngestion: edges the mutation run showed untested', () => {
  const NA = { status: 'NA', version: 3, updatedAt: 1000 };
  const dgs = (answer: Partial<IngestionStatus>) => answering(answer);

  async function run(
    state: PublicationState,
    answer: Partial<IngestionStatus>,
    secondsAfter: number,
    lock: MemoryLock,
    pollSettings: PollSettings = settings,
  ) {
    const log = recordingLog();
    const now = () => new Date(T0.getTime() + secondsAfter * 1000);
    const poll = await checkIngestion({ dgs: dgs(answer), lock, settings: pollSettings, log, now }, state);
    return { poll, log };
  }

  it.each([
    ['its version moved', { status: 'NA', rawStatus: 'NA', version: 4, updatedAt: 1000 }],
    ['it was updated later', { status: 'NA', rawStatus: 'NA', version: 3, updatedAt: 1001 }],
  ])('never sends again a lost send whose idle status moved: %s', async (_, answer) => {
    const { lock, token } = await heldLock();
    const state = sentState(token, NA, { unconfirmed: true });
    for (let i = 0; i < 4; i++) state.poll = (await run(state, answer, 10, lock)).poll;
    expect(state.poll.decision).toBe('wait');
  });

  it('says in the log when a lost send is sent again, and nothing when statuses are known', async () => {
    const { lock, token } = await heldLock();
    const state = sentState(token, NA, { unconfirmed: true });
    let log = recordingLog();
    for (let i = 0; i < 3; i++)
      ({ poll: state.poll, log } = await run(state, { ...NA, rawStatus: 'NA' }, 10, lock));
    expect(state.poll.decision).toBe('reupload');
    expect(log.lines).toContainEqual({
      level: 'warn',
      message: 'UNCONFIRMED_UPLOAD_NOT_ARRIVED',
      fields: { datasetId: ID, polls: 3 },
    });
    expect(log.lines.map((line) => line.message)).not.toContain('STATUS_UNKNOWN');
    expect(log.lines).toContainEqual({
      level: 'info',
      message: 'STATUS_CHECKED',
      fields: { datasetId: ID, status: 'NA', ofThisUpload: false, polls: 3 },
    });
  });

  it('names an unknown status in the log', async () => {
    const { lock, token } = await heldLock();
    const { log } = await run(
      sentState(token, NA),
      { status: 'QUEUED', rawStatus: 'Queued', version: 9 },
      10,
      lock,
    );
    expect(log.lines).toContainEqual({
      level: 'warn',
      message: 'STATUS_UNKNOWN',
      fields: { datasetId: ID, rawStatus: 'Queued' },
    });
  });

  it('files at the deadline itself, not a second later', async () => {
    const { lock, token } = await heldLock();
    const { poll } = await run(
      sentState(token, NA),
      { status: 'PENDING', rawStatus: 'Pending', version: 4 },
      3600,
      lock,
    );
    expect(poll).toMatchObject({ decision: 'file', result: 'deadline-passed' });
  });

  it('keeps a failures list of exactly 64 KiB of JSON in the state', async () => {
    const { lock, token } = await heldLock();
    const failures = 'x'.repeat(64 * 1024 - 2);
    const { poll } = await run(
      sentState(token, NA),
      { status: 'VALIDATION_FAILED', rawStatus: 'Validation Failed', version: 4, failures },
      10,
      lock,
    );
    expect(poll.failures).toBe(failures);
    expect(poll.failuresOmitted).toBeUndefined();
  });

  it('keeps apart the same status and version once it turns out to be this upload’s (a later date)', async () => {
    const { lock, token } = await heldLock();
    const state = sentState(token, NA);
    state.poll = (await run(state, { ...NA, rawStatus: 'NA' }, 10, lock)).poll;
    state.poll = (await run(state, { ...NA, rawStatus: 'NA', updatedAt: 2000 }, 20, lock)).poll;
    expect(
      state.poll.statuses.map((entry) => [entry.status, entry.version, entry.ofThisUpload, entry.polls]),
    ).toEqual([
      ['NA', 3, false, 1],
      ['NA', 3, true, 1],
    ]);
  });

  it('counts an outage from the first send, not from the latest polling start', async () => {
    const { lock, token } = await heldLock();
    const state = sentState(token, NA);
    state.poll = initialPoll(settings, new Date(T0.getTime() + 1000_000));
    const failing = {
      ingestionStatus: async (): Promise<IngestionStatus> => {
        throw new DgsTransientError('server', 'down');
      },
    };
    const poll = await checkIngestion(
      { dgs: failing, lock, settings, log: recordingLog(), now: () => new Date(T0.getTime() + 86_400_000) },
      state,
    );
    expect(poll).toMatchObject({ decision: 'file', result: 'no-answer' });
  });

  it('polls a publication with no upload recorded without taking a status for its own, and waits out an outage', async () => {
    const { lock, token } = await heldLock();
    const state = sentState(token, NA);
    state.publication.uploads = [];
    const { poll } = await run(
      state,
      { status: 'INGESTION_SUCCESS', rawStatus: 'Ingestion Success', version: 9 },
      10,
      lock,
    );
    expect(poll).toMatchObject({ decision: 'wait' });
    expect(poll.statuses[0]?.ofThisUpload).toBe(false);
    const failing = {
      ingestionStatus: async (): Promise<IngestionStatus> => {
        throw new DgsTransientError('server', 'down');
      },
    };
    const waited = await checkIngestion(
      { dgs: failing, lock, settings, log: recordingLog(), now: () => new Date(T0.getTime() + 10_000) },
      state,
    );
    expect(waited).toMatchObject({ decision: 'wait', outage: { failedChecks: 1 } });
  });

  it('logs a failed check with its error and count', async () => {
    const { lock, token } = await heldLock();
    const log = recordingLog();
    const failing = {
      ingestionStatus: async (): Promise<IngestionStatus> => {
        throw new DgsTransientError('server', 'down');
      },
    };
    await checkIngestion({ dgs: failing, lock, settings, log, now: () => T0 }, sentState(token, NA));
    expect(log.lines).toContainEqual({
      level: 'warn',
      message: 'STATUS_CHECK_FAILED',
      fields: { datasetId: ID, error: 'DgsTransientError', failedChecks: 1 },
    });
  });
});

/** Seconds after the polling start at which each status check falls, up to `until`. */
function checkTimes(pollSettings: PollSettings, until: number): number[] {
  const times = [pollSettings.POLL_FIRST_WAIT_SECONDS];
  for (let last = times[0] ?? 0; last < until; ) {
    last += nextWait(pollSettings, last);
    times.push(last);
  }
  return times;
}

/** How long after an ingestion that ends `seconds` after the start a check sees it, and which check. */
function detection(times: readonly number[], seconds: number): { lag: number; check: number } {
  const index = times.findIndex((time) => time >= seconds);
  return { lag: (times[index] ?? Number.NaN) - seconds, check: index + 1 };
}

describe('nextWait: the schedule of status checks', () => {
  const defaults = loadSettings({});

  it('waits as after the first check when the start time is unknown (NaN), never NaN', () => {
    expect(nextWait(defaults, Number.NaN)).toBe(nextWait(defaults, defaults.POLL_FIRST_WAIT_SECONDS));
    expect(Number.isFinite(nextWait(defaults, Number.NaN))).toBe(true);
  });

  it('checks at 30 s, then each time 1.46 times as long after the start, then every 300 s', () => {
    expect(checkTimes(defaults, 1500)).toEqual([30, 44, 64, 93, 136, 199, 291, 425, 620, 905, 1205, 1505]);
  });

  it('makes each wait (rate − 1) of the time since the start, within the cap, never below 1 s', () => {
    expect(nextWait(settings, 30)).toBe(15);
    expect(nextWait(settings, 100)).toBe(50);
    expect(nextWait(settings, 599)).toBe(300);
    expect(nextWait(settings, 86_400)).toBe(300);
    expect(nextWait({ ...settings, POLL_FIRST_WAIT_SECONDS: 1, POLL_BACKOFF_RATE: 1.01 }, 1)).toBe(1);
  });

  it('counts a time since the start below the first wait (another clock) as the first wait', () => {
    expect(nextWait(settings, 0)).toBe(15);
    expect(nextWait(settings, -40)).toBe(15);
    expect(nextWait(defaults, 5)).toBe(14);
  });

  it('sees every ingestion from the first wait to a day within (rate − 1) of its length and within the cap', () => {
    for (const pollSettings of [
      defaults,
      settings,
      { ...defaults, POLL_BACKOFF_RATE: 1.2, POLL_MAX_WAIT_SECONDS: 120 },
    ]) {
      const times = checkTimes(pollSettings, 86_400);
      const late: string[] = [];
      let worst = 0;
      let next = 0;
      for (let seconds = pollSettings.POLL_FIRST_WAIT_SECONDS; seconds <= 86_400; seconds += 1) {
        while ((times[next] ?? Number.POSITIVE_INFINITY) < seconds) next += 1;
        const lag = (times[next] ?? Number.NaN) - seconds;
        // Waits are rounded to whole seconds: half a second more at most.
        const bound = Math.min(
          (pollSettings.POLL_BACKOFF_RATE - 1) * seconds + 0.5,
          pollSettings.POLL_MAX_WAIT_SECONDS,
        );
        if (!(lag <= bound)) late.push(`${seconds} s seen ${lag} s late`);
        worst = Math.max(worst, lag / seconds);
      }
      expect(late).toEqual([]);
      // The bound is nearly reached: the schedule spends what it may.
      expect(worst).toBeGreaterThan((pollSettings.POLL_BACKOFF_RATE - 1) * 0.9);
    }
  });

  it('with the defaults, sees 1, 10 and 120-minute ingestions within 20%, 10 minutes by the 9th check', () => {
    const times = checkTimes(defaults, 86_400);
    for (const seconds of [60, 600, 7200]) {
      expect(detection(times, seconds).lag / seconds, `${seconds} s`).toBeLessThanOrEqual(0.2);
    }
    // Wait, check and choice per check, then the outcome, the next file and Done: 3 × 9 + 3 = 30.
    expect(detection(times, 600).check).toBe(9);
    expect(detection(times, 30)).toEqual({ lag: 0, check: 1 });
    expect(detection(times, 86_400).check).toBeLessThan(300);
  });
});

describe('checkIngestion: the wait it asks for', () => {
  it('is (rate − 1) of the time since polling started, from the clock, not a count of polls', async () => {
    const { lock, token } = await heldLock();
    const state = sentState(token, { status: 'INGESTION_SUCCESS', version: 3, updatedAt: 1000 });
    const at = (seconds: number) => ({
      dgs: answering({ status: 'PENDING', rawStatus: 'Pending', version: 4 }),
      lock,
      settings,
      log: recordingLog(),
      now: () => new Date(T0.getTime() + seconds * 1000),
    });
    expect((await checkIngestion(at(30), state)).nextWaitSeconds).toBe(15);
    expect((await checkIngestion(at(100), state)).nextWaitSeconds).toBe(50);
    expect((await checkIngestion(at(2000), state)).nextWaitSeconds).toBe(300);
    // A later polling start (after a re-upload) starts the schedule again.
    const restarted = {
      ...state,
      poll: { ...state.poll, startedAt: new Date(T0.getTime() + 1900_000).toISOString() },
    };
    expect((await checkIngestion(at(2000), restarted)).nextWaitSeconds).toBe(50);
  });
});
