import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { noMetrics } from '../../../../lib/metrics.js';
import type { SendOutcome } from '../../../../lib/performance-platform/client.js';
import {
  type ForwardResult,
  forwardRecords,
  forwardStream,
} from '../../../../lib/performance-platform/forward.js';
import { autoId } from '../../../../lib/performance-platform/records.js';
import { recordingLog } from '../../../fakes/recording-log.js';
import { seeded } from '../../../support/fault-schedule.js';

const GROUP = 'carers-allowance';
const TYPE = 'transaction-count';

type Failure = Extract<SendOutcome, { ok: false }>;
type Row = Record<string, unknown>;
type Answer = 'ok' | Pick<Failure, 'kind' | 'status' | 'messages'>;

interface Post {
  /** Calls in the order made; `call` numbers them from 0. */
  call: number;
  records: Row[];
  ids: string[];
  answer?: SendOutcome;
  /** Posts that had been answered when this one started. */
  answeredBefore: number;
}

/**
 * A stand-in for the write API client that keeps what is in flight: it fails the test at once
 * when more posts are in flight than allowed or when two in flight hold one `_id`, and it stores
 * a post's records when it answers it (as backdrop applies a request when it handles it), so two
 * posts of one `_id` racing would leave whichever answered last. A post that starts once a failure
 * has been answered and the forwarder has had a turn of the event loop to see it is a problem too.
 */
function inFlightClient(options: {
  limit: number;
  /** How many event-loop turns a call takes before it is answered (varies the interleaving). */
  turns: (call: number) => number;
  answer: (call: number) => Answer;
  /** The key backdrop stores a record under (default its `_id`). */
  keyOf?: (record: Row) => string | undefined;
}) {
  const keyOf = options.keyOf ?? ((record: Row) => (typeof record._id === 'string' ? record._id : undefined));
  const posts: Post[] = [];
  const inFlight = new Set<Post>();
  const stored = new Map<string, Row>();
  const problems: string[] = [];
  let answered = 0;
  let failuresSeen = 0;
  let maxInFlight = 0;
  return {
    posts,
    stored,
    problems,
    get maxInFlight() {
      return maxInFlight;
    },
    post: async (dataGroup: string, dataType: string, body: string): Promise<SendOutcome> => {
      expect([dataGroup, dataType]).toEqual([GROUP, TYPE]);
      const records = JSON.parse(body) as Row[];
      const ids = records.map(keyOf).filter((id): id is string => id !== undefined);
      const post: Post = { call: posts.length, records, ids, answeredBefore: answered };
      posts.push(post);
      if (failuresSeen > 0) problems.push(`call ${post.call} started after a chunk had failed`);
      for (const other of inFlight) {
        const shared = ids.filter((id) => other.ids.includes(id));
        if (shared.length > 0)
          problems.push(`calls ${other.call} and ${post.call} both in flight with ${shared[0]}`);
      }
      inFlight.add(post);
      maxInFlight = Math.max(maxInFlight, inFlight.size);
      if (inFlight.size > options.limit) problems.push(`${inFlight.size} in flight at call ${post.call}`);
      for (let turn = 0; turn < options.turns(post.call); turn++) await new Promise(setImmediate);
      const answer = options.answer(post.call);
      const requestId = `req-${post.call}`;
      post.answer =
        answer === 'ok'
          ? { ok: true, status: 200, attempts: 1, requestId }
          : { ok: false, attempts: 2, requestId, ...answer };
      if (answer === 'ok')
        for (const record of records) stored.set(keyOf(record) ?? `fresh-${post.call}`, record);
      inFlight.delete(post);
      answered += 1;
      if (!post.answer.ok) setImmediate(() => (failuresSeen += 1));
      return post.answer;
    },
  };
}

type Client = ReturnType<typeof inFlightClient>;

/** A batch with ids drawn from a small pool, so an id recurs within chunks and across them. */
function batchOf(random: ReturnType<typeof seeded>, count: number, withIds: boolean): Row[] {
  const pool = random.int(1, Math.max(1, Math.floor(count / random.int(1, 4))));
  return Array.from({ length: count }, (_, seq) => {
    const id = random.int(0, pool - 1);
    const record: Row = {
      _timestamp: `2015-01-${String(1 + (id % 28)).padStart(2, '0')}T00:00:00Z`,
      // Without given ids, repeated content gives one generated id: `slot` repeats, `seq` only
      // sometimes (the same content then appears twice).
      slot: `s${id}`,
      seq: random.chance(0.3) ? id : seq,
    };
    return withIds && !random.chance(0.1) ? { _id: `id-${id}`, ...record } : record;
  });
}

/** What sequential sends of the stored chunks, in chunk order, leave: the last value per key. */
function sequentialStore(result: ForwardResult, client: Client, keyOf: (record: Row) => string | undefined) {
  const expected = new Map<string, Row>();
  const posted = [...client.posts].sort((a, b) => a.call - b.call);
  let next = 0;
  for (const chunk of result.chunks) {
    if (chunk.status === 'not-sent') continue;
    const post = posted[next++];
    if (!post) throw new Error(`chunk ${chunk.index} has no post`);
    if (chunk.status !== 'stored') continue;
    for (const record of post.records) expected.set(keyOf(record) ?? `fresh-${post.call}`, record);
  }
  return expected;
}

describe('forwardRecords and forwardStream with chunks in flight at once', () => {
  it('never exceed the concurrency nor put one _id in two chunks in flight, and report exactly (300 seeded cases)', async () => {
    for (let seed = 1; seed <= 300; seed++) {
      // Prepare
      const random = seeded(seed);
      const count = random.int(1, 300);
      const givenIds = random.chance(0.7);
      const records = batchOf(random, count, givenIds);
      const concurrency = random.int(1, 8);
      const chunkSize = random.int(1, 40);
      const failAt = random.chance(0.35) ? random.int(0, Math.ceil(count / chunkSize)) : -1;
      const failures: Answer[] = [
        { kind: 'validation', status: 400, messages: ['count has an invalid value'] },
        { kind: 'http', status: 503, messages: ['Service Unavailable'] },
        { kind: 'timeout', messages: ['The Performance Platform did not answer within 30000 ms'] },
      ];
      const failure = random.pick(failures);
      const turns = Array.from({ length: count + 1 }, () => random.int(0, 6));
      const client = inFlightClient({
        limit: concurrency,
        turns: (call) => turns[call] ?? 0,
        answer: (call) =>
          call === failAt || (failAt >= 0 && call === failAt + 2 && seed % 2 === 0) ? failure : 'ok',
      });
      const streamed = random.chance(0.5);
      const generateIds = random.chance(0.2) ? false : undefined;
      const deps = { client, log: recordingLog(), metrics: noMetrics };

      // Act
      const result = streamed
        ? await forwardStream(deps, {
            dataGroup: GROUP,
            dataType: TYPE,
            format: 'ndjson',
            open: async () => Readable.from([records.map((record) => JSON.stringify(record)).join('\n')]),
            chunkSize,
            concurrency,
            ...(generateIds === false ? { generateIds } : {}),
          })
        : await forwardRecords(deps, {
            dataGroup: GROUP,
            dataType: TYPE,
            records,
            chunkSize,
            concurrency,
            ...(generateIds === false ? { generateIds } : {}),
          });

      // Assess
      const label = `seed ${seed} (${count} records, chunks of ${chunkSize}, ${concurrency} in flight, fail at ${failAt})`;
      expect(client.problems, label).toEqual([]);
      expect(client.maxInFlight, label).toBeLessThanOrEqual(concurrency);
      // Chunks are reported in order, each span once, covering every record.
      expect(
        result.chunks.map((chunk) => chunk.index),
        label,
      ).toEqual(result.chunks.map((_, index) => index));
      expect(result.chunks[0]?.from, label).toBe(0);
      expect(result.chunks.at(-1)?.to, label).toBe(count);
      result.chunks.forEach((chunk, index) => {
        if (index > 0) expect(chunk.from, label).toBe(result.chunks[index - 1]?.to);
      });
      // Chunks are posted in order: the posted ones are a prefix, and each report is what was answered.
      const posted = result.chunks.filter((chunk) => chunk.status !== 'not-sent');
      expect(
        posted.map((chunk) => chunk.index),
        label,
      ).toEqual(posted.map((_, index) => index));
      expect(client.posts, label).toHaveLength(posted.length);
      posted.forEach((chunk, call) => {
        const post = client.posts[call];
        const content = ({ _id: _ignored, ...rest }: Row) => rest;
        expect(post?.records.map(content), label).toEqual(records.slice(chunk.from, chunk.to).map(content));
        expect(chunk.status, label).toBe(post?.answer?.ok ? 'stored' : 'failed');
        expect(chunk.attempts, label).toBe(post?.answer?.attempts);
        if (post?.answer && !post.answer.ok) {
          expect(chunk.error, label).toEqual({
            kind: post.answer.kind,
            ...(post.answer.status === undefined ? {} : { status: post.answer.status }),
            messages: post.answer.messages,
          });
        }
      });
      expect(result.requestIds, label).toEqual(posted.map((_, call) => `req-${call}`));
      const stored = result.chunks.filter((chunk) => chunk.status === 'stored').length;
      const failed = result.chunks.find((chunk) => chunk.status === 'failed');
      if (!failed) {
        expect(result.outcome, label).toBe('forwarded');
        expect(stored, label).toBe(result.chunks.length);
      } else {
        expect(result.outcome, label).toBe(stored > 0 ? 'partial' : 'failed');
        expect(result.errors, label).toEqual(
          (failed.error?.messages ?? []).map((message) => ({ index: null, message })),
        );
      }
      // The last value sent for each id is the one stored, as with sequential sends.
      const keyOf = (record: Row) => (typeof record._id === 'string' ? record._id : undefined);
      expect(client.stored, label).toEqual(sequentialStore(result, client, keyOf));
    }
  });

  it('holds back a chunk whose _id is in flight while later chunks of other ids go ahead', async () => {
    // Prepare: chunks of 2; chunk 0 and chunk 2 share id "a", chunk 1 does not.
    const records = [
      { _id: 'a', _timestamp: '2015-01-01T00:00:00Z', value: 1 },
      { _id: 'b', _timestamp: '2015-01-01T00:00:00Z', value: 1 },
      { _id: 'c', _timestamp: '2015-01-01T00:00:00Z', value: 1 },
      { _id: 'd', _timestamp: '2015-01-01T00:00:00Z', value: 1 },
      { _id: 'a', _timestamp: '2015-01-01T00:00:00Z', value: 2 },
      { _id: 'e', _timestamp: '2015-01-01T00:00:00Z', value: 2 },
    ];
    const client = inFlightClient({
      limit: 3,
      // Chunk 0 is slow: chunk 1 is answered first, and chunk 2 must still wait for chunk 0.
      turns: (call) => (call === 0 ? 20 : 1),
      answer: () => 'ok',
    });

    // Act
    const result = await forwardRecords(
      { client, log: recordingLog(), metrics: noMetrics },
      { dataGroup: GROUP, dataType: TYPE, records, chunkSize: 2, concurrency: 3 },
    );

    // Assess
    expect(client.problems).toEqual([]);
    expect(result.outcome).toBe('forwarded');
    expect(client.posts.map((post) => [post.call, post.answeredBefore])).toEqual([
      [0, 0],
      [1, 0],
      // Started only once chunk 1 and then chunk 0 had been answered.
      [2, 2],
    ]);
    expect(client.stored.get('a')).toMatchObject({ value: 2 });
    expect(result.requestIds).toEqual(['req-0', 'req-1', 'req-2']);
  });

  it('keeps generated ids of identical records out of two chunks in flight', async () => {
    // Prepare: the same content twice, far apart, gets one deterministic id.
    const row = { _timestamp: '2015-01-01T00:00:00Z', channel: 'paper', count: 3 };
    const records = [row, ...Array.from({ length: 5 }, (_, i) => ({ ...row, count: 10 + i })), row];
    const client = inFlightClient({ limit: 8, turns: () => 3, answer: () => 'ok' });

    // Act
    const result = await forwardRecords(
      { client, log: recordingLog(), metrics: noMetrics },
      { dataGroup: GROUP, dataType: TYPE, records, chunkSize: 1, concurrency: 8 },
    );

    // Assess
    expect(client.problems).toEqual([]);
    expect(result.outcome).toBe('forwarded');
    expect(client.posts.at(-1)?.answeredBefore).toBeGreaterThanOrEqual(1);
    expect(client.maxInFlight).toBe(6);
  });

  it("keys records by the data set's auto ids when it has them", async () => {
    // Prepare: backdrop replaces _id by the auto id, so different _ids can still meet.
    const autoIds = ['channel'];
    const records = [
      { _id: 'x1', _timestamp: '2015-01-01T00:00:00Z', channel: 'paper', count: 1 },
      { _id: 'x2', _timestamp: '2015-01-01T00:00:00Z', channel: 'phone', count: 1 },
      { _id: 'x3', _timestamp: '2015-01-01T00:00:00Z', channel: 'paper', count: 2 },
    ];
    const keyOf = (record: Row) => autoId(record, autoIds);
    const client = inFlightClient({
      limit: 3,
      turns: (call) => (call === 0 ? 10 : 1),
      answer: () => 'ok',
      keyOf,
    });

    // Act
    const result = await forwardRecords(
      { client, log: recordingLog(), metrics: noMetrics },
      { dataGroup: GROUP, dataType: TYPE, records, chunkSize: 1, concurrency: 3, autoIds },
    );

    // Assess
    expect(client.problems).toEqual([]);
    expect(result.outcome).toBe('forwarded');
    expect(client.stored.get(autoId(records[0] as Row, autoIds))).toMatchObject({ count: 2 });
  });

  it('answers chunks not started by the deadline as timed out, and still reports those in flight', async () => {
    // Prepare: a clock the test moves; chunks 0 and 1 are in flight when the time runs out.
    let now = 1_000;
    const deadline = 2_000;
    const deadlines: Array<number | undefined> = [];
    const release: Array<() => void> = [];
    const client = {
      post: async (_group: string, _type: string, _body: string, options: { deadline?: number } = {}) => {
        const call = deadlines.length;
        deadlines.push(options.deadline);
        await new Promise<void>((resolve) => release.push(resolve));
        return { ok: true as const, status: 200, attempts: 1, requestId: `req-${call}` };
      },
    };
    const records = Array.from({ length: 10 }, (_, i) => ({ _timestamp: '2015-01-01T00:00:00Z', count: i }));

    // Act
    const forwarding = forwardRecords(
      { client, log: recordingLog(), metrics: noMetrics, now: () => now },
      { dataGroup: GROUP, dataType: TYPE, records, chunkSize: 2, concurrency: 2, deadline },
    );
    while (release.length < 2) await new Promise(setImmediate);
    now = deadline;
    release[1]?.();
    await new Promise(setImmediate);
    release[0]?.();
    const result = await forwarding;

    // Assess
    expect(deadlines).toEqual([deadline, deadline]);
    expect(result.outcome).toBe('partial');
    expect(result.chunks.map((chunk) => [chunk.index, chunk.status, chunk.error?.kind])).toEqual([
      [0, 'stored', undefined],
      [1, 'stored', undefined],
      [2, 'failed', 'timeout'],
      [3, 'not-sent', undefined],
      [4, 'not-sent', undefined],
    ]);
    expect(result.requestIds).toEqual(['req-0', 'req-1']);
    expect(result.errors[0]?.message).toMatch(/ran out before this chunk was sent/);
  });

  it('reports every failed chunk in order and the first one as the error, whatever order they fail in', async () => {
    // Prepare: chunks 0 to 3 in flight; 2 fails first, then 1; 0 and 3 are stored.
    const client = inFlightClient({
      limit: 4,
      turns: (call) => [8, 4, 1, 12][call] ?? 0,
      answer: (call) =>
        call === 1
          ? { kind: 'validation', status: 400, messages: ['first by chunk'] }
          : call === 2
            ? { kind: 'http', status: 503, messages: ['first by time'] }
            : 'ok',
    });
    const records = Array.from({ length: 10 }, (_, i) => ({ _timestamp: '2015-01-01T00:00:00Z', count: i }));

    // Act
    const result = await forwardRecords(
      { client, log: recordingLog(), metrics: noMetrics },
      { dataGroup: GROUP, dataType: TYPE, records, chunkSize: 2, concurrency: 4 },
    );

    // Assess
    expect(result.outcome).toBe('partial');
    expect(result.chunks.map((chunk) => [chunk.status, chunk.error?.status])).toEqual([
      ['stored', undefined],
      ['failed', 400],
      ['failed', 503],
      ['stored', undefined],
      ['not-sent', undefined],
    ]);
    expect(result.errors).toEqual([{ index: null, message: 'first by chunk' }]);
    expect(result.requestIds).toEqual(['req-0', 'req-1', 'req-2', 'req-3']);
  });

  it('lets a token failure reach the caller when nothing was stored, and reports it when something was', async () => {
    const records = Array.from({ length: 6 }, (_, i) => ({ _timestamp: '2015-01-01T00:00:00Z', count: i }));
    const request = { dataGroup: GROUP, dataType: TYPE, records, chunkSize: 2, concurrency: 3 };
    const throwing = {
      post: async (): Promise<SendOutcome> => {
        throw new Error('no token');
      },
    };
    await expect(
      forwardRecords({ client: throwing, log: recordingLog(), metrics: noMetrics }, request),
    ).rejects.toThrow('no token');

    let calls = 0;
    const firstThrows = {
      post: async (): Promise<SendOutcome> => {
        calls += 1;
        if (calls === 1) {
          // Later than the chunks after it start.
          await new Promise(setImmediate);
          throw new Error('no token');
        }
        return { ok: true, status: 200, attempts: 1, requestId: `req-${calls}` };
      },
    };
    const result = await forwardRecords(
      { client: firstThrows, log: recordingLog(), metrics: noMetrics },
      request,
    );
    expect(result.outcome).toBe('partial');
    expect(result.chunks.map((chunk) => [chunk.status, chunk.error?.kind])).toEqual([
      ['failed', 'token'],
      ['stored', undefined],
      ['stored', undefined],
    ]);
  });

  it("reports a chunk's own failure rather than throwing another chunk's token error", async () => {
    const records = Array.from({ length: 4 }, (_, i) => ({ _timestamp: '2015-01-01T00:00:00Z', count: i }));
    let calls = 0;
    const client = {
      post: async (): Promise<SendOutcome> => {
        calls += 1;
        if (calls === 1) {
          // Fails for a reason of its own after the second chunk's token source threw.
          await new Promise(setImmediate);
          return {
            ok: false,
            kind: 'validation',
            status: 400,
            attempts: 1,
            messages: ['bad'],
            requestId: 'req-1',
          };
        }
        throw new Error('no token');
      },
    };
    const result = await forwardRecords(
      { client, log: recordingLog(), metrics: noMetrics },
      { dataGroup: GROUP, dataType: TYPE, records, chunkSize: 2, concurrency: 2 },
    );
    expect(result.outcome).toBe('failed');
    expect(result.chunks.map((chunk) => chunk.error?.kind)).toEqual(['validation', 'token']);
    expect(result.errors.map((error) => error.message)).toEqual(['bad']);
  });

  it('refuses a concurrency under 1', async () => {
    const client = inFlightClient({ limit: 1, turns: () => 0, answer: () => 'ok' });
    await expect(
      forwardRecords(
        { client, log: recordingLog(), metrics: noMetrics },
        {
          dataGroup: GROUP,
          dataType: TYPE,
          records: [{ _timestamp: '2015-01-01T00:00:00Z' }],
          concurrency: 0,
        },
      ),
    ).rejects.toThrow(RangeError);
    expect(client.posts).toEqual([]);
  });
});
