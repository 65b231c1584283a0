/**
 * Issue 12: never twice, never lost, never a wrong outcome. One deterministic regression test
 * per problem the issue reproduced on the earlier main (numbered as in the issue); the
 * randomized fault schedules are in fault-schedules.test.ts. Item 3 (a file dropped again at the
 * same key) is in publish-happy-paths.test.ts, item 4 in csv-check.test.ts.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { pumpDataset } from '../../lib/publish/pump-dataset.js';
import { LOCAL_API_KEY, LOCAL_API_KEY_PARAMETER, type LocalPipeline } from '../../local/pipeline.js';
import { ProcessFaults } from '../support/process-faults.js';
import {
  filedAt,
  outcomeOf,
  POPULATION,
  POPULATION_CSV,
  startFastPipeline,
  uploadOutsidePipeline,
  waitUntilIdleAtDataGovSg,
  whenFullySent,
} from './support.js';

let pipeline: LocalPipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

/** A clock the test moves forward, as time passing would: leases run out, files grow old. */
function movableClock() {
  let offsetMs = 0;
  return {
    now: () => new Date(Date.now() + offsetMs),
    advance: (seconds: number) => {
      offsetMs += seconds * 1000;
    },
  };
}

/**
 * A pipeline whose functions `faults` can kill, on a clock the test moves past leases, with a
 * sweep that takes any waiting file.
 */
async function startWithFaults(faults: ProcessFaults, env: Record<string, string> = {}) {
  const clock = movableClock();
  const p = await startFastPipeline({
    interceptor: faults,
    now: clock.now,
    env: { SWEEP_MIN_AGE_SECONDS: '0', ...env },
  });
  return { p, clock };
}

/** Advice a person must never get for a file whose bytes may have reached data.gov.sg. */
const DROP_AGAIN = /drop (the file|it) again/i;

function uploadsOf(p: LocalPipeline) {
  return p.dataGovSg?.uploads(POPULATION.id) ?? [];
}

async function expectSettled(p: LocalPipeline): Promise<void> {
  expect(await p.keys('incoming/')).toEqual([]);
  expect(await p.lock.get(POPULATION.id)).toBeUndefined();
}

describe('1. status checks failing after the file was sent', () => {
  it('longer than any task retry: the publication waits through the outage and is published once', async () => {
    const p = await startFastPipeline({
      env: { DGS_MAX_ATTEMPTS: '1' },
      ...whenFullySent(() => {
        // 30 failed checks: past the state machine's 8 retries of the earlier main, and resets too.
        p.dataGovSg?.fault({ endpoint: 'ingestion-status', status: 503, times: 20 });
        p.dataGovSg?.fault({ endpoint: 'ingestion-status', resetAfterBytes: 0, times: 10 });
      }),
    });
    pipeline = p;
    const key = `incoming/${POPULATION.alias}/append/outage.csv`;
    await p.drop(key, POPULATION_CSV);
    await p.whenIdle();
    const report = await outcomeOf(p, key);
    expect(report).toMatchObject({ outcome: 'published', uploads: 1, finalStatus: 'Ingestion Success' });
    expect(report.fileKey).toMatch(filedAt(key, 'processed'));
    expect(uploadsOf(p).map((upload) => upload.fate)).toEqual(['ingested']);
    const failedChecks = (p.dataGovSg?.requests() ?? []).filter(
      (request) => request.path.endsWith('/ingestion-status') && request.status !== 200,
    );
    // Dropped connections may be retried by the HTTP client itself; the 503s all reached the task.
    expect(failedChecks.length).toBeGreaterThanOrEqual(20);
    await expectSettled(p);
  });

  it('until the deadline: filed in unconfirmed/ saying it was sent and what to check, never "drop it again"', async () => {
    const p = await startFastPipeline({
      env: { DGS_MAX_ATTEMPTS: '1', POLL_DEADLINE_SECONDS: '1', MAX_WAIT_SECONDS: '2' },
      ...whenFullySent(() => {
        p.dataGovSg?.fault({ endpoint: 'ingestion-status', status: 503, times: 100_000 });
      }),
    });
    pipeline = p;
    const key = `incoming/${POPULATION.alias}/append/long-outage.csv`;
    await p.drop(key, POPULATION_CSV);
    await p.whenIdle();
    const report = await outcomeOf(p, key);
    expect(report.outcome).toBe('unconfirmed');
    expect(report.fileKey).toMatch(filedAt(key, 'unconfirmed'));
    expect(report.error?.code).toBe('DGS_UNAVAILABLE');
    expect(report.error?.message).toMatch(/The file was sent to data\.gov\.sg \(1 time\)/);
    expect(report.error?.message).toMatch(/could not be read/);
    expect(report.error?.message).toMatch(/admin dashboard/);
    expect(report.error?.message).not.toMatch(DROP_AGAIN);
    // data.gov.sg did ingest it: dropping it again would have appended its rows twice.
    expect(uploadsOf(p).map((upload) => upload.fate)).toEqual(['ingested']);
    expect(p.eventBridge.events().map((event) => event.detailType)).toEqual(['Dataset Publish Unconfirmed']);
    expect(await p.keys('failed/')).toEqual([]);
    await expectSettled(p);
  });
});

describe('2. the re-upload task dying after its send', () => {
  it.each([
    [
      'after the PUT was stored, before it was recorded',
      { atCall: (call: { bodyDone: boolean }) => call.bodyDone },
    ],
    ['after it was recorded, before the task answered', { atEnd: true }],
  ])('%s: the retry polls the send instead of sending it again', async (_, plan) => {
    const faults = new ProcessFaults();
    faults.plan = (name, count) => (name === 'task:Reupload' && count === 1 ? plan : undefined);
    pipeline = await startFastPipeline({ interceptor: faults });
    pipeline.dataGovSg?.script(POPULATION.id, ['ingestion-failed', 'success']);
    const key = `incoming/${POPULATION.alias}/append/reupload.csv`;
    await pipeline.drop(key, POPULATION_CSV);
    await pipeline.whenIdle();
    expect(faults.kills.map((kill) => kill.invocation)).toEqual(['task:Reupload']);
    expect(uploadsOf(pipeline).map((upload) => upload.fate)).toEqual(['ingestion-failed', 'ingested']);
    const report = await outcomeOf(pipeline, key);
    expect(report).toMatchObject({ outcome: 'published', uploads: 2, finalStatus: 'Ingestion Success' });
    await expectSettled(pipeline);
  });
});

describe('2b. a first send cut off from its answer, whose ingestion then failed (found by the soak)', () => {
  it('the take-over polls it, sees it fail, and sends the file once more: published with 2 uploads', async () => {
    const faults = new ProcessFaults();
    faults.plan = (name, count) =>
      name === 'upload' && count === 1 ? { atCall: (call) => call.bodyDone } : undefined;
    const { p: started, clock } = await startWithFaults(faults);
    pipeline = started;
    pipeline.dataGovSg?.script(POPULATION.id, ['ingestion-failed', 'success']);
    const key = `incoming/${POPULATION.alias}/append/cut-off.csv`;
    await pipeline.drop(key, POPULATION_CSV);
    await pipeline.whenIdle();
    for (let round = 0; round < 3 && (await pipeline.keys('incoming/')).length > 0; round++) {
      clock.advance(pipeline.settings.LOCK_UPLOAD_LEASE_SECONDS + 1);
      await pipeline.sweep();
      await pipeline.whenIdle();
    }
    expect(faults.kills.map((kill) => kill.invocation)).toEqual(['upload']);
    expect(uploadsOf(pipeline).map((upload) => upload.fate)).toEqual(['ingestion-failed', 'ingested']);
    const report = await outcomeOf(pipeline, key);
    expect(report).toMatchObject({ outcome: 'published', uploads: 2, finalStatus: 'Ingestion Success' });
    await expectSettled(pipeline);
  });
});

describe('2c. a filed publication whose lock could not be released (found by the soak, seed 11415)', () => {
  it('the take-over finds its report and goes on: one outcome, never polled or filed again', async () => {
    const faults = new ProcessFaults();
    // The lock store is down for every release the filing task tries, so the state machine gives
    // up with the outcome filed and the lock record (with the publication in it) left to expire.
    faults.fail = (target, operation, invocation) =>
      target === 'dynamodb' && operation === 'DeleteItemCommand' && invocation === 'task:FileOutcome'
        ? Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4567'), { code: 'ECONNREFUSED' })
        : undefined;
    const { p, clock } = await startWithFaults(faults);
    pipeline = p;
    const key = `incoming/${POPULATION.alias}/append/filed.csv`;
    await p.drop(key, POPULATION_CSV);
    await p.whenIdle();
    expect(await outcomeOf(p, key)).toMatchObject({ outcome: 'published', uploads: 1 });
    expect(await p.lock.get(POPULATION.id)).toMatchObject({ phase: 'polling', holderKey: key });
    faults.fail = () => undefined;

    // What data.gov.sg shows now belongs to someone else: an upload from its web UI that failed.
    p.dataGovSg?.script(POPULATION.id, ['ingestion-failed']);
    await uploadOutsidePipeline(p, POPULATION.id, Buffer.from(POPULATION_CSV));
    await waitUntilIdleAtDataGovSg(p, POPULATION.id);

    const next = `incoming/${POPULATION.alias}/append/next.csv`;
    clock.advance(p.settings.LOCK_POLL_LEASE_SECONDS + 1);
    await p.drop(next, POPULATION_CSV);
    await p.whenIdle();

    const first = await p.outcomes(key);
    expect(first.map((report) => report.outcome)).toEqual(['published']);
    expect(await outcomeOf(p, next)).toMatchObject({ outcome: 'published', uploads: 1 });
    expect(uploadsOf(p).map((upload) => upload.fate)).toEqual(['ingested', 'ingestion-failed', 'ingested']);
    const told = p.eventBridge
      .events()
      .filter((event) => (event.detail as { sourceKey?: string }).sourceKey === key);
    expect(told.map((event) => event.detailType)).toContain('Dataset Publish Succeeded');
    expect(told.every((event) => event.detailType === 'Dataset Publish Succeeded')).toBe(true);
    await expectSettled(p);
  });
  it('a run killed between writing a report and moving the file: the take-over finishes that filing, sends nothing', async () => {
    const faults = new ProcessFaults();
    faults.plan = (name, count) =>
      name === 'upload' && count === 1
        ? { atCall: (call) => call.target === 's3' && call.operation === 'CopyObjectCommand' }
        : undefined;
    const { p, clock } = await startWithFaults(faults);
    pipeline = p;
    // The link is refused once: the file is filed in failed/, and the run dies before the move.
    p.dataGovSg?.fault({ endpoint: 'upload-link', status: 400, times: 1 });
    const key = `incoming/${POPULATION.alias}/replace/half-filed.csv`;
    await p.drop(key, POPULATION_CSV);
    await p.whenIdle();
    expect(faults.kills.map((kill) => kill.invocation)).toEqual(['upload']);
    expect(await p.keys('incoming/')).toEqual([key]);

    clock.advance(p.settings.LOCK_UPLOAD_LEASE_SECONDS + 1);
    await p.sweep();
    await p.whenIdle();
    const reports = await p.outcomes(key);
    expect(reports.map((report) => [report.outcome, report.error?.code])).toEqual([
      ['failed', 'DGS_BAD_RESPONSE'],
    ]);
    expect(reports[0]?.fileKey).toMatch(filedAt(key, 'failed'));
    expect(uploadsOf(p)).toEqual([]);
    expect(p.eventBridge.events().map((event) => event.detailType)).toEqual(['Dataset Publish Failed']);
    await expectSettled(p);
  });
});

describe('5. the API key echoed back by data.gov.sg', () => {
  const echo = (status: number) =>
    JSON.stringify({ statusCode: status, message: `key ${LOCAL_API_KEY} is not allowed here` });

  it('is redacted from the error of a refused request, in the report and its event', async () => {
    pipeline = await startFastPipeline();
    pipeline.dataGovSg?.fault({ endpoint: 'metadata', status: 500, body: echo(500), times: 1 });
    pipeline.dataGovSg?.fault({ endpoint: 'upload-link', status: 400, body: echo(400), times: 1 });
    const key = `incoming/${POPULATION.alias}/replace/refused.csv`;
    await pipeline.drop(key, POPULATION_CSV);
    await pipeline.whenIdle();
    const report = await outcomeOf(pipeline, key);
    expect(report.error?.code).toBe('DGS_BAD_RESPONSE');
    expect(report.error?.message).toContain('key [redacted] is not allowed here');
    expect(JSON.stringify(pipeline.eventBridge.events())).toContain('key [redacted] is not allowed here');
    // Everything else a person can read is searched by the suite's secret scan (test/setup.ts).
  });

  it("is redacted from the status checks' errors that an unconfirmed report quotes", async () => {
    const p = await startFastPipeline({
      env: { DGS_MAX_ATTEMPTS: '1', POLL_DEADLINE_SECONDS: '1', MAX_WAIT_SECONDS: '1' },
      ...whenFullySent(() => {
        p.dataGovSg?.fault({ endpoint: 'ingestion-status', status: 503, body: echo(503), times: 100_000 });
      }),
    });
    pipeline = p;
    const key = `incoming/${POPULATION.alias}/append/echoed.csv`;
    await p.drop(key, POPULATION_CSV);
    await p.whenIdle();
    const report = await outcomeOf(p, key);
    expect(report.outcome).toBe('unconfirmed');
    expect(report.error?.message).toContain('key [redacted] is not allowed here');
    expect(JSON.stringify(p.stepFunctions.executions())).not.toContain(LOCAL_API_KEY);
  });
});

describe('6. SSM trouble with the API key parameter', () => {
  it('throttling when a file arrives: the file waits, then the sweep publishes it', async () => {
    pipeline = await startFastPipeline({
      apiKeyFromSsm: true,
      env: { SWEEP_MIN_AGE_SECONDS: '0', DGS_API_KEY_MAX_AGE_SECONDS: '0' },
    });
    pipeline.ssm?.fault('throttled', 6);
    const key = `incoming/${POPULATION.alias}/replace/throttled.csv`;
    await pipeline.drop(key, POPULATION_CSV);
    await pipeline.whenIdle();
    expect(await pipeline.keys('incoming/')).toEqual([key]);
    expect(await pipeline.keys('failed/')).toEqual([]);
    expect(pipeline.ssm?.reads()).toBeGreaterThan(0);
    for (let sweeps = 0; sweeps < 6 && (await pipeline.keys('incoming/')).length > 0; sweeps++) {
      await pipeline.sweep();
      await pipeline.whenIdle();
    }
    expect((await outcomeOf(pipeline, key)).outcome).toBe('published');
    await expectSettled(pipeline);
  });

  it('throttling and 5xx while polling: an outage waited through, published once', async () => {
    const p = await startFastPipeline({
      apiKeyFromSsm: true,
      env: { DGS_API_KEY_MAX_AGE_SECONDS: '0' },
      ...whenFullySent(() => {
        p.ssm?.fault('throttled', 12);
        p.ssm?.fault('server-error', 12);
      }),
    });
    pipeline = p;
    const key = `incoming/${POPULATION.alias}/append/ssm-outage.csv`;
    await p.drop(key, POPULATION_CSV);
    await p.whenIdle();
    expect(await outcomeOf(p, key)).toMatchObject({ outcome: 'published', uploads: 1 });
    expect(uploadsOf(p)).toHaveLength(1);
  });

  it.each([
    [
      'missing',
      (p: LocalPipeline) => p.ssm?.delete(LOCAL_API_KEY_PARAMETER),
      /does not exist.*put-parameter/,
    ],
    [
      'not readable by the role',
      (p: LocalPipeline) => p.ssm?.fault('access-denied', 100),
      /cannot be read \(AccessDeniedException\).*ssm:GetParameter/,
    ],
  ] as const)('%s: a configuration error naming the parameter, nothing sent', async (_, breakIt, message) => {
    pipeline = await startFastPipeline({ apiKeyFromSsm: true, env: { DGS_API_KEY_MAX_AGE_SECONDS: '0' } });
    breakIt(pipeline);
    const key = `incoming/${POPULATION.alias}/replace/no-key.csv`;
    await pipeline.drop(key, POPULATION_CSV);
    await pipeline.whenIdle();
    const report = await outcomeOf(pipeline, key);
    expect(report.outcome).toBe('failed');
    expect(report.error?.code).toBe('CONFIGURATION');
    expect(report.error?.message).toContain(LOCAL_API_KEY_PARAMETER);
    expect(report.error?.message).toMatch(message);
    expect(report.error?.message).not.toMatch(/bug in govpub/);
    expect(uploadsOf(pipeline)).toEqual([]);
  });
});

describe('7. a file that cannot be sent within the time limit', () => {
  it('whose runs keep dying mid-send: filed TASK_TIMEOUT after MAX_TAKEOVERS take-overs, never re-sent forever', async () => {
    const faults = new ProcessFaults();
    faults.plan = (name) => (name === 'upload' ? { atBodyByte: 20 } : undefined);
    const { p: started, clock } = await startWithFaults(faults, { MAX_TAKEOVERS: '2' });
    pipeline = started;
    const key = `incoming/${POPULATION.alias}/append/too-slow.csv`;
    await pipeline.drop(key, POPULATION_CSV);
    await pipeline.whenIdle();
    for (let round = 0; round < 6 && (await pipeline.keys('incoming/')).length > 0; round++) {
      clock.advance(pipeline.settings.LOCK_UPLOAD_LEASE_SECONDS + 1);
      await pipeline.sweep();
      await pipeline.whenIdle();
    }
    expect(faults.kills).toHaveLength(3);
    const report = await outcomeOf(pipeline, key);
    expect(report.outcome).toBe('failed');
    expect(report.error?.code).toBe('TASK_TIMEOUT');
    expect(report.error?.message).toMatch(
      /stopped 3 times.*never showed the file arriving.*too large.*Split it/,
    );
    // Every send was cut short: S3 stored none of them.
    expect(uploadsOf(pipeline)).toEqual([]);
    await expectSettled(pipeline);
  });

  it('refused before sending when no run could finish it at the assumed throughput', async () => {
    pipeline = await startFastPipeline({
      uploadTimeoutMs: 60_000,
      env: { UPLOAD_ASSUMED_MIB_PER_SECOND: '0.0001' },
    });
    const key = `incoming/${POPULATION.alias}/replace/huge-for-the-limit.csv`;
    await pipeline.drop(key, `${POPULATION_CSV}${'2024,female,1\n'.repeat(1000)}`);
    await pipeline.whenIdle();
    const report = await outcomeOf(pipeline, key);
    expect(report.error?.code).toBe('TOO_LARGE_FOR_TIME_LIMIT');
    expect(report.error?.message).toMatch(
      /more than the upload function's \d+ s\. Nothing was sent\. Split it/,
    );
    expect(pipeline.dataGovSg?.requests().filter((request) => request.method === 'PUT')).toEqual([]);
  });

  it('with too little time left in this run: handed to a fresh run, which publishes it once', async () => {
    pipeline = await startFastPipeline({ deliverEvents: false });
    const key = `incoming/${POPULATION.alias}/replace/late-in-the-run.csv`;
    await pipeline.drop(key, POPULATION_CSV);
    const result = await pumpDataset(
      { ...pipeline.deps, timeBudget: { totalMs: 900_000, leftMs: () => 5_000 } },
      pipeline.bucket,
      POPULATION.id,
    );
    expect(result).toEqual({ result: 'handed-over', key });
    await pipeline.whenIdle();
    expect((await outcomeOf(pipeline, key)).outcome).toBe('published');
    expect(uploadsOf(pipeline)).toHaveLength(1);
    const kicks = pipeline.lambda.invocations().map((invocation) => invocation.event);
    expect(kicks).toContainEqual(expect.objectContaining({ reason: 'handover', datasetId: POPULATION.id }));
  });
});

describe('8. an outside upload started just before ours, behind a stale status', () => {
  it('the second idle read sees it: our file waits, then is published with its own rows', async () => {
    pipeline = await startFastPipeline({
      env: { SWEEP_MIN_AGE_SECONDS: '0' },
      dataGovSg: { staleFirstPolls: 1, stepDelayMs: 60, concurrentUpload: 'discard-second' },
    });
    // Someone uploads in the web UI; data.gov.sg still answers the status from before it once.
    const outside = Buffer.from(`${POPULATION_CSV}2099,outside,1\n`);
    await uploadOutsidePipeline(pipeline, POPULATION.id, outside);
    const key = `incoming/${POPULATION.alias}/replace/ours.csv`;
    await pipeline.drop(key, POPULATION_CSV);
    await pipeline.whenIdle();
    // Not sent behind the outside upload: that one would have been ingested and taken as ours.
    expect(await pipeline.keys('incoming/')).toEqual([key]);
    for (
      let i = 0;
      i < 100 && pipeline.dataGovSg?.statusOf(POPULATION.id).status !== 'Ingestion Success';
      i++
    ) {
      await sleep(20);
    }
    await pipeline.sweep();
    await pipeline.whenIdle();
    const report = await outcomeOf(pipeline, key);
    expect(report.outcome).toBe('published');
    const ours = uploadsOf(pipeline).filter((upload) => upload.bytes === POPULATION_CSV.length);
    expect(ours.map((upload) => upload.fate)).toEqual(['ingested']);
    expect(ours[0]?.arrivedDuring).toBeNull();
  });
});

describe('9. a Performance Platform file asked for twice at once', () => {
  const GROUP = 'carers-allowance';
  const TYPE = 'transaction-count';
  const ndjson = (n: number) =>
    Array.from({ length: n }, (_, i) =>
      JSON.stringify({ _timestamp: '2024-01-01T00:00:00Z', channel: `c${i}`, count: i }),
    )
      .join('\n')
      .concat('\n');

  it('while a run forwards it, the sweep and a second delivery do nothing: forwarded once, one report', async () => {
    pipeline = await startFastPipeline({ deliverEvents: false, env: { SWEEP_MIN_AGE_SECONDS: '0' } });
    const key = `incoming/performance/${GROUP}/${TYPE}/daily.ndjson`;
    await pipeline.drop(key, ndjson(300));
    // The write API is slow: the first run is still sending when the others ask.
    pipeline.performancePlatform?.fault({ method: 'POST', delayMs: 400, times: 1 });
    await pipeline.sweep();
    await sleep(150);
    await Promise.all([pipeline.sweep(), pipeline.redeliver(key)]);
    await pipeline.whenIdle();
    const runs = pipeline.lambda
      .invocations()
      .filter((invocation) => invocation.functionName === 'forwarder')
      .map((invocation) => (invocation.result as { outcome: string }).outcome);
    expect(runs.sort()).toEqual(['forwarded', 'held', 'held']);
    const posts = (pipeline.performancePlatform?.requests() ?? []).filter(
      (request) => request.method === 'POST',
    );
    expect(posts).toHaveLength(3);
    expect(await pipeline.outcomes(key)).toHaveLength(1);
    expect(pipeline.eventBridge.events().map((event) => event.detailType)).toEqual([
      'Performance Records Forwarded',
    ]);
  });

  it('a run that died holds the file until its lease ends; then the sweep forwards it once', async () => {
    const faults = new ProcessFaults();
    faults.plan = (name, count) => (name === 'forwarder' && count === 1 ? { atBodyByte: 100 } : undefined);
    const { p: started, clock } = await startWithFaults(faults);
    pipeline = started;
    const key = `incoming/performance/${GROUP}/${TYPE}/killed.ndjson`;
    await pipeline.drop(key, ndjson(50));
    await pipeline.whenIdle();
    expect(faults.kills).toHaveLength(1);
    await pipeline.sweep();
    await pipeline.whenIdle();
    expect(await pipeline.keys('incoming/')).toEqual([key]);
    const held = pipeline.lambda
      .invocations()
      .filter((invocation) => invocation.functionName === 'forwarder');
    expect(held.at(-1)?.result).toEqual({ outcome: 'held', reportKey: null });
    clock.advance(pipeline.settings.PP_FILE_LEASE_SECONDS + 1);
    await pipeline.sweep();
    await pipeline.whenIdle();
    expect((await pipeline.outcomes(key)).map((report) => report.outcome)).toEqual(['forwarded']);
    expect(await pipeline.performancePlatform?.records(GROUP, TYPE)).toHaveLength(50);
  });
});
