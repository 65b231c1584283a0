/**
 * Issue 6, "Faults", for the forwarder: the Performance Platform answering 500/502/503, timing
 * out, or dropping the connection after it stored a chunk. The records end stored exactly once
 * (a retry or a re-run replaces, never adds), or the file ends in failed/ with a report naming
 * the cause; a file never stays in incoming/ for good nor vanishes.
 *
 * Already covered in forwarder.test.ts (not repeated here): a 503 burst over HTTP, a refused
 * token never retried, a partial failure reported chunk by chunk and completed by a re-run.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterEach, describe, expect, it } from 'vitest';
import { createEventBridgeClient } from '../../lib/aws-clients/eventbridge.js';
import type { ForwardFileReport } from '../../lib/performance-platform/forward-file.js';
import { localEventBridgeClientConfig } from '../../local/aws/eventbridge.js';
import type { LocalPipeline } from '../../local/pipeline.js';
import { crashedInvocations, filedAt, REQUEST_SOURCE, startFastPipeline } from './support.js';

const GROUP = 'carers-allowance';
const TYPE = 'transaction-count';
const PATH = `/performance/${GROUP}/${TYPE}`;

let pipeline: LocalPipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

function records(count: number) {
  return Array.from({ length: count }, (_, i) => ({
    _timestamp: `2024-02-${String((i % 28) + 1).padStart(2, '0')}T00:00:00Z`,
    channel: `channel_${i}`,
    count: i,
  }));
}

function ndjson(count: number): string {
  return `${records(count)
    .map((record) => JSON.stringify(record))
    .join('\n')}\n`;
}

async function post(p: LocalPipeline, body: unknown) {
  const response = await fetch(`${p.httpApi.endpoint}${PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** The write requests the local Performance Platform received, oldest first. */
function writes(p: LocalPipeline) {
  return p.performancePlatform?.requests().filter((request) => request.method === 'POST') ?? [];
}

async function stored(p: LocalPipeline) {
  return (await p.performancePlatform?.records(GROUP, TYPE)) ?? [];
}

/** Every record stored once: as many as were sent, each `channel` once. */
async function expectStoredOnce(p: LocalPipeline, count: number): Promise<void> {
  const all = await stored(p);
  expect(all).toHaveLength(count);
  expect(new Set(all.map((record) => record.channel)).size).toBe(count);
}

/** The report of the last file dropped at `key`, in whichever folder it was filed. */
async function fileReport(p: LocalPipeline, key: string): Promise<ForwardFileReport | undefined> {
  return (await p.outcomes(key)).at(-1) as unknown as ForwardFileReport | undefined;
}

describe('the Performance Platform failing for a while', () => {
  it.each([500, 502, 503])('a burst of %i: retried, every record stored once', async (status) => {
    pipeline = await startFastPipeline();
    pipeline.performancePlatform?.fault({ method: 'POST', status, times: 2 });
    const answer = await post(pipeline, records(150));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ outcome: 'forwarded', records: 150 });
    expect(writes(pipeline).map((request) => request.status)).toEqual([status, status, 200, 200]);
    await expectStoredOnce(pipeline, 150);
  });

  it('a burst longer than the retry budget on a dropped file: it waits in incoming/, then the sweep forwards it once', async () => {
    // One chunk at a time: the scripted faults are taken in the order requests arrive.
    pipeline = await startFastPipeline({
      env: { PP_MAX_ATTEMPTS: '2', SWEEP_MIN_AGE_SECONDS: '0', PP_CONCURRENCY: '1' },
    });
    pipeline.performancePlatform?.fault({ method: 'POST', status: 502, times: 2 });
    const key = `incoming/performance/${GROUP}/${TYPE}/outage.ndjson`;
    await pipeline.drop(key, ndjson(250));
    await pipeline.whenIdle();
    // The first chunk failed twice: nothing stored, the file waits (not failed, not gone).
    expect(await pipeline.keys('incoming/')).toEqual([key]);
    expect(await pipeline.keys('failed/')).toEqual([]);
    await pipeline.sweep();
    await pipeline.whenIdle();
    expect(await fileReport(pipeline, key)).toMatchObject({
      outcome: 'forwarded',
      result: { records: 250 },
    });
    expect(await pipeline.keys('incoming/')).toEqual([]);
    await expectStoredOnce(pipeline, 250);
  });

  it.each([
    ['on', /http 503.*stable ids, so nothing is duplicated/],
    ['off', /http 503.*without an _id are stored again \(PP_GENERATE_IDS is off\)/],
  ])(
    'an outage past MAX_WAIT_SECONDS (PP_GENERATE_IDS=%s): the file is filed in failed/ with a report naming HTTP 503 and what a re-send does',
    async (generateIds, says) => {
      pipeline = await startFastPipeline({
        // 2 s, not 1: s3rver keeps LastModified to the whole second.
        env: {
          PP_MAX_ATTEMPTS: '1',
          MAX_WAIT_SECONDS: '2',
          SWEEP_MIN_AGE_SECONDS: '0',
          PP_GENERATE_IDS: generateIds,
        },
      });
      pipeline.performancePlatform?.fault({ method: 'POST', status: 503, times: 1_000 });
      const key = `incoming/performance/${GROUP}/${TYPE}/long-outage.json`;
      await pipeline.drop(key, JSON.stringify(records(5)));
      await pipeline.whenIdle();
      expect(await pipeline.keys('incoming/')).toEqual([key]);
      await sleep(2_100);
      await pipeline.sweep();
      await pipeline.whenIdle();
      const report = await fileReport(pipeline, key);
      expect(report?.fileKey).toMatch(filedAt(key, 'failed'));
      expect(report?.error?.code).toBe('PP_UNAVAILABLE');
      expect(report?.error?.message).toMatch(says);
      expect(await pipeline.keys('incoming/')).toEqual([]);
      expect(await stored(pipeline)).toEqual([]);
    },
  );
});

describe("the HTTP route within API Gateway's 30 s", () => {
  it('a slow write API: every attempt and retry fits PP_HTTP_BUDGET_MS; the rest is answered 503, send again', async () => {
    // Each answer takes 400 ms, the request timeout allows 1 s, 10 attempts per chunk, 4 chunks
    // one at a time: unbounded, about 1.6 s; the budget is 1 s.
    pipeline = await startFastPipeline({
      env: {
        PP_CONCURRENCY: '1',
        PP_HTTP_BUDGET_MS: '1000',
        PP_CHUNK_SIZE: '10',
        PP_REQUEST_TIMEOUT_MS: '1000',
        PP_MAX_ATTEMPTS: '10',
      },
    });
    // The first three writes answer after 400 ms (and store, even when the caller gave up).
    pipeline.performancePlatform?.fault({ method: 'POST', delayMs: 400, times: 3 });
    const started = Date.now();
    const first = await post(pipeline, records(40));
    const took = Date.now() - started;
    expect(first.status).toBe(503);
    expect(took, 'answered within the budget (and a little)').toBeLessThan(1_600);
    const chunks = first.body.chunks as Array<{ status: string; error?: { kind: string } }>;
    expect(chunks.some((chunk) => chunk.status === 'stored')).toBe(true);
    expect(chunks.some((chunk) => chunk.status !== 'stored')).toBe(true);
    expect(JSON.stringify(first.body)).toMatch(/send the same records again|did not answer within/);
    // Sent again once the write API is quick: every record stored once.
    await sleep(500);
    const again = await post(pipeline, records(40));
    expect(again.status).toBe(200);
    await expectStoredOnce(pipeline, 40);
  });

  it('more records than PP_HTTP_SYNC_MAX_RECORDS: answered 202 and forwarded as a file, with its report and event', async () => {
    pipeline = await startFastPipeline({ env: { PP_HTTP_SYNC_MAX_RECORDS: '25' } });
    const answer = await post(pipeline, records(60));
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({
      outcome: 'queued',
      records: 60,
      key: expect.stringMatching(new RegExp(`^incoming/performance/${GROUP}/${TYPE}/http-.+\\.json$`)),
    });
    await pipeline.whenIdle();
    await expectStoredOnce(pipeline, 60);
    const report = await fileReport(pipeline, String(answer.body.key));
    expect(report).toMatchObject({ outcome: 'forwarded', result: { records: 60 } });
    expect(
      pipeline.eventBridge.events().some((event) => event.detailType === 'Performance Records Forwarded'),
    ).toBe(true);
  });
});

describe('the Performance Platform timing out', () => {
  it('an answer later than PP_REQUEST_TIMEOUT_MS: retried, and the late store of the first attempt adds nothing', async () => {
    pipeline = await startFastPipeline({ env: { PP_REQUEST_TIMEOUT_MS: '300' } });
    pipeline.performancePlatform?.fault({ method: 'POST', delayMs: 800, times: 1 });
    const answer = await post(pipeline, records(40));
    expect(answer.status).toBe(200);
    expect(writes(pipeline).length).toBeGreaterThanOrEqual(2);
    // The timed-out request is still handled by the server once its delay is over.
    await sleep(900);
    await expectStoredOnce(pipeline, 40);
  });

  it('timing out on every attempt: answered 503 with each chunk’s status, and a re-run completes it once', async () => {
    pipeline = await startFastPipeline({ env: { PP_REQUEST_TIMEOUT_MS: '200', PP_MAX_ATTEMPTS: '2' } });
    pipeline.performancePlatform?.fault({ method: 'POST', delayMs: 500, times: 2 });
    const first = await post(pipeline, records(40));
    expect(first.status).toBe(503);
    expect((first.body.chunks as Array<{ status: string }>).map((chunk) => chunk.status)).toEqual(['failed']);
    // Both timed-out attempts are still handled by the server once their delay is over.
    await sleep(600);
    const again = await post(pipeline, records(40));
    expect(again.status).toBe(200);
    await expectStoredOnce(pipeline, 40);
    // The caller is told why the chunk failed, as a file's report or the failure event says it.
    expect(JSON.stringify(first.body)).toMatch(/timeout|did not answer within/i);
  });
});

describe('the connection dropped after a chunk was stored', () => {
  it('over HTTP: the retry replaces what was stored, and a re-run adds nothing', async () => {
    pipeline = await startFastPipeline();
    // The second chunk is stored, then its answer lost.
    pipeline.performancePlatform?.fault({ method: 'POST', times: 1 });
    pipeline.performancePlatform?.fault({ method: 'POST', dropAfterStore: true, times: 1 });
    const sent = records(250);
    const first = await post(pipeline, sent);
    expect(first.status).toBe(200);
    expect(writes(pipeline).map((request) => request.status)).toEqual([200, 0, 200, 200]);
    await expectStoredOnce(pipeline, 250);
    const again = await post(pipeline, sent);
    expect(again.status).toBe(200);
    await expectStoredOnce(pipeline, 250);
  });

  it('for a dropped file: forwarded once, and the same file dropped again adds nothing', async () => {
    pipeline = await startFastPipeline();
    pipeline.performancePlatform?.fault({ method: 'POST', dropAfterStore: true, times: 1 });
    const key = `incoming/performance/${GROUP}/${TYPE}/dropped.ndjson`;
    await pipeline.drop(key, ndjson(120));
    await pipeline.whenIdle();
    expect(await fileReport(pipeline, key)).toMatchObject({
      outcome: 'forwarded',
      result: { records: 120 },
    });
    await expectStoredOnce(pipeline, 120);
    // A re-run, as someone would do after an unclear outcome.
    await pipeline.drop(key, ndjson(120));
    await pipeline.whenIdle();
    await expectStoredOnce(pipeline, 120);
    expect(await pipeline.keys('incoming/')).toEqual([]);
    expect(crashedInvocations(pipeline)).toEqual([]);
  });

  it('from an EventBridge event: the dropped connection is retried, stored once', async () => {
    pipeline = await startFastPipeline();
    pipeline.performancePlatform?.fault({ method: 'POST', dropAfterStore: true, times: 1 });
    const detail = { dataGroup: GROUP, dataType: TYPE, records: records(30) };
    const client = createEventBridgeClient(localEventBridgeClientConfig(pipeline.eventBridge.endpoint));
    const entry = {
      EventBusName: pipeline.settings.EVENT_BUS_NAME,
      Source: REQUEST_SOURCE,
      DetailType: 'Performance Records Submitted',
      Detail: JSON.stringify(detail),
    };
    await client.send(new PutEventsCommand({ Entries: [entry] }));
    await pipeline.whenIdle();
    await expectStoredOnce(pipeline, 30);
    // EventBridge delivers at least once: the same event again adds nothing.
    await client.send(new PutEventsCommand({ Entries: [entry] }));
    await pipeline.whenIdle();
    await expectStoredOnce(pipeline, 30);
    const outcomes = pipeline.eventBridge
      .events()
      .filter((event) => event.detailType.startsWith('Performance Records Forward'));
    expect(outcomes.map((event) => event.detailType)).toEqual([
      'Performance Records Forwarded',
      'Performance Records Forwarded',
    ]);
  });
});
