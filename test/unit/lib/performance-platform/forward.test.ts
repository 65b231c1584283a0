import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noMetrics, recordingMetrics } from '../../../../lib/metrics.js';
import { PerformancePlatformClient, type SendOutcome } from '../../../../lib/performance-platform/client.js';
import {
  emptyDataSet,
  type ForwardRequest,
  forwardRecords,
  forwardStream,
} from '../../../../lib/performance-platform/forward.js';
import { deterministicId } from '../../../../lib/performance-platform/ids.js';
import {
  type LocalPerformancePlatform,
  startLocalPerformancePlatform,
} from '../../../../local/performance-platform/server.js';
import { recordingLog } from '../../../fakes/recording-log.js';

const GROUP = 'carers-allowance';
const TYPE = 'transaction-count';

type Failure = Extract<SendOutcome, { ok: false }>;

/** A client that answers from a script (then ok) and keeps every body it was given. */
function fakeClient(script: Array<Partial<Failure> | 'ok'> = []) {
  const posts: unknown[][] = [];
  const empties: string[] = [];
  let calls = 0;
  const answer = (): SendOutcome => {
    calls += 1;
    const requestId = `req-${calls}`;
    const next = script.shift() ?? 'ok';
    if (next === 'ok') return { ok: true, status: 200, attempts: 1, requestId };
    return { ok: false, kind: 'http', messages: [], attempts: 1, requestId, ...next };
  };
  return {
    posts,
    empties,
    post: async (dataGroup: string, dataType: string, body: string) => {
      expect([dataGroup, dataType]).toEqual([GROUP, TYPE]);
      posts.push(JSON.parse(body) as unknown[]);
      return answer();
    },
    empty: async (dataGroup: string, dataType: string) => {
      empties.push(`${dataGroup}/${dataType}`);
      return answer();
    },
  };
}

const record = (i: number) => ({
  _timestamp: '2015-01-01T00:00:00Z',
  channel: `secret-value-${i}`,
  count: i,
});
const records = (n: number) => Array.from({ length: n }, (_, i) => record(i));

function request(overrides: Partial<ForwardRequest> = {}): ForwardRequest {
  return { dataGroup: GROUP, dataType: TYPE, records: records(250), ...overrides };
}

function ndjson(lines: unknown[]): string {
  return lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n');
}

describe('forwardRecords', () => {
  it('sends valid records in chunks of 100 with deterministic ids', async () => {
    // Prepare
    const client = fakeClient();
    const log = recordingLog();

    // Act
    const result = await forwardRecords({ client, log, metrics: noMetrics }, request());

    // Assess
    expect(result).toEqual({
      outcome: 'forwarded',
      dataGroup: GROUP,
      dataType: TYPE,
      records: 250,
      errors: [],
      chunks: [
        { index: 0, from: 0, to: 100, status: 'stored', attempts: 1 },
        { index: 1, from: 100, to: 200, status: 'stored', attempts: 1 },
        { index: 2, from: 200, to: 250, status: 'stored', attempts: 1 },
      ],
      requestIds: ['req-1', 'req-2', 'req-3'],
    });
    expect(client.posts.map((body) => body.length)).toEqual([100, 100, 50]);
    expect(client.posts.flat()[7]).toEqual({ _id: deterministicId(GROUP, TYPE, record(7)), ...record(7) });
    expect(log.lines.map((line) => line.message)).toEqual([
      'PP_CHUNK_STORED',
      'PP_CHUNK_STORED',
      'PP_CHUNK_STORED',
      'PP_FORWARD_DONE',
    ]);
    expect(log.lines[3]?.fields).toMatchObject({ outcome: 'forwarded', records: 250, stored: 3 });
    expect(JSON.stringify(log.lines)).not.toContain('secret-value');
  });

  it('keeps ids off when told to, and honours a chunk size', async () => {
    const client = fakeClient();
    const result = await forwardRecords(
      { client, log: recordingLog(), metrics: noMetrics },
      request({ records: records(5), generateIds: false, chunkSize: 2 }),
    );
    expect(result.chunks.map((chunk) => [chunk.from, chunk.to])).toEqual([
      [0, 2],
      [2, 4],
      [4, 5],
    ]);
    expect(client.posts.flat()).toEqual(records(5));
  });

  it('sends nothing when a record is invalid, and lists every error with its index', async () => {
    // Prepare
    const input: unknown[] = records(300);
    input[5] = { ...record(5), 'bad-key': 1 };
    input[150] = 42;
    input[299] = { ...record(299), nested: { no: 1 } };
    const client = fakeClient();
    const log = recordingLog();

    // Act
    const result = await forwardRecords({ client, log, metrics: noMetrics }, request({ records: input }));

    // Assess
    expect(result).toMatchObject({ outcome: 'invalid', records: 300, chunks: [], requestIds: [] });
    expect(result.errors.map((error) => error.index)).toEqual([5, 150, 299]);
    expect(result).toMatchObject({ errorCount: 3, recordsWithProblems: 3 });
    expect(result.errors[0]).toEqual({
      index: 5,
      field: 'bad-key',
      code: 'INVALID_KEY',
      message:
        '"bad-key" is not a valid field name: use two or more letters, digits and _, not starting with a digit',
      backdropMessage: 'bad-key is not a valid key',
    });
    expect(result.errors[1]).toMatchObject({
      index: 150,
      code: 'NOT_AN_OBJECT',
      backdropMessage: 'record 150 is not a JSON object',
    });
    expect(result.errors[2]).toMatchObject({
      index: 299,
      field: 'nested',
      code: 'INVALID_VALUE',
      message: 'nested should be text, a number, true, false or null, not an object',
      backdropMessage: 'nested has an invalid value',
    });
    expect(client.posts).toEqual([]);
    expect(log.lines.map((line) => line.message)).toEqual(['PP_FORWARD_DONE']);
    expect(log.lines[0]).toMatchObject({ level: 'warn', fields: { outcome: 'invalid', errors: 3 } });
  });

  it('stops at the first chunk that fails for good and reports the rest as not sent', async () => {
    // Prepare
    const client = fakeClient([
      'ok',
      { kind: 'validation', status: 400, messages: ['count has an invalid value'], attempts: 1 },
    ]);
    const log = recordingLog();

    // Act
    const result = await forwardRecords(
      { client, log, metrics: noMetrics },
      request({ records: records(350) }),
    );

    // Assess
    expect(result).toEqual({
      outcome: 'partial',
      dataGroup: GROUP,
      dataType: TYPE,
      records: 350,
      errors: [{ index: null, message: 'count has an invalid value' }],
      chunks: [
        { index: 0, from: 0, to: 100, status: 'stored', attempts: 1 },
        {
          index: 1,
          from: 100,
          to: 200,
          status: 'failed',
          attempts: 1,
          error: { kind: 'validation', status: 400, messages: ['count has an invalid value'] },
        },
        { index: 2, from: 200, to: 300, status: 'not-sent', attempts: 0 },
        { index: 3, from: 300, to: 350, status: 'not-sent', attempts: 0 },
      ],
      requestIds: ['req-1', 'req-2'],
    });
    expect(client.posts).toHaveLength(2);
    expect(log.lines.map((line) => line.message)).toEqual([
      'PP_CHUNK_STORED',
      'PP_CHUNK_FAILED',
      'PP_FORWARD_DONE',
    ]);
    expect(log.lines[1]?.fields).toMatchObject({
      kind: 'validation',
      status: 400,
      requestId: 'req-2',
      messages: 1,
    });
    expect(JSON.stringify(log.lines)).not.toContain('invalid value');
  });

  it.each([
    ['unauthorised', 401],
    ['not-found', 404],
    ['connection', undefined],
  ])('fails without storing anything when the first chunk is %s', async (kind, status) => {
    const client = fakeClient([{ kind: kind as Failure['kind'], status, messages: ['no'], attempts: 3 }]);
    const result = await forwardRecords({ client, log: recordingLog(), metrics: noMetrics }, request());
    expect(result.outcome).toBe('failed');
    expect(result.chunks.map((chunk) => [chunk.status, chunk.attempts])).toEqual([
      ['failed', 3],
      ['not-sent', 0],
      ['not-sent', 0],
    ]);
    expect(client.posts).toHaveLength(1);
  });

  it('measures the records stored and the chunks that were not, and nothing for invalid records', async () => {
    // Prepare
    const metrics = recordingMetrics();
    const client = fakeClient(['ok', { kind: 'http', status: 500 }]);
    // Act
    await forwardRecords({ client, log: recordingLog(), metrics }, request());
    await forwardRecords(
      { client: fakeClient(), log: recordingLog(), metrics },
      request({ records: [{ count: 'not a record' }] }),
    );
    // Assess: 100 stored, the second chunk failed, the third never sent (not a failure).
    expect(metrics.points).toEqual([
      { name: 'RecordsForwarded', value: 100 },
      { name: 'PpChunksFailed', value: 1 },
    ]);
  });

  it('sends nothing for no records', async () => {
    const client = fakeClient();
    const result = await forwardRecords(
      { client, log: recordingLog(), metrics: noMetrics },
      request({ records: [] }),
    );
    expect(result).toMatchObject({ outcome: 'empty', records: 0, errors: [], chunks: [], requestIds: [] });
    expect(client.posts).toEqual([]);
  });

  it('names a record too large for one request, and sends nothing', async () => {
    const input = [record(0), { ...record(1), channel: 'x'.repeat(10_500_000) }, record(2)];
    const client = fakeClient();
    const result = await forwardRecords(
      { client, log: recordingLog(), metrics: noMetrics },
      request({ records: input }),
    );
    expect(result).toMatchObject({ outcome: 'invalid', errors: [{ index: 1 }] });
    expect(result.errors[0]?.message).toMatch(/^Record 1 is \d+ bytes as JSON, over the 10420224-byte limit/);
    expect(client.posts).toEqual([]);
  });

  it('refuses a chunk size under 1 as invalid', async () => {
    const result = await forwardRecords(
      { client: fakeClient(), log: recordingLog(), metrics: noMetrics },
      request({ chunkSize: 0 }),
    );
    expect(result).toMatchObject({ outcome: 'invalid', errors: [{ index: null }] });
  });

  it('lets a token failure before anything was sent reach the caller', async () => {
    const client = {
      post: async () => {
        throw new Error('SSM unavailable');
      },
    };
    await expect(
      forwardRecords({ client, log: recordingLog(), metrics: noMetrics }, request()),
    ).rejects.toThrow('SSM unavailable');
  });
});

describe('forwardStream', () => {
  it('forwards a 100 000-record NDJSON file reading it twice, one chunk at a time', async () => {
    // Prepare
    const n = 100_000;
    const file = Array.from({ length: n / 1_000 }, (_, piece) =>
      Buffer.from(`${ndjson(records(1_000).map((_, j) => record(piece * 1_000 + j)))}\n`),
    );
    let opened = 0;
    let pieces = 0;
    const open = async () => {
      opened += 1;
      pieces = 0;
      async function* lines() {
        for (const piece of file) {
          pieces += 1;
          yield piece;
        }
      }
      return Readable.from(lines());
    };
    let posted = 0;
    let readAhead = 0;
    let largest = 0;
    const client = {
      post: async (_g: string, _t: string, body: string): Promise<SendOutcome> => {
        posted += 1;
        readAhead = Math.max(readAhead, pieces * 1_000 - posted * 100);
        largest = Math.max(largest, body.length);
        return { ok: true, status: 200, attempts: 1, requestId: `r${posted}` };
      },
    };

    // Act
    const result = await forwardStream(
      { client, log: recordingLog(), metrics: noMetrics },
      { dataGroup: GROUP, dataType: TYPE, open, format: 'ndjson' },
    );

    // Assess
    expect(result).toMatchObject({ outcome: 'forwarded', records: n, errors: [] });
    expect(opened).toBe(2);
    expect(posted).toBe(1_000);
    expect(result.chunks).toHaveLength(1_000);
    expect(result.chunks.at(-1)).toEqual({
      index: 999,
      from: 99_900,
      to: 100_000,
      status: 'stored',
      attempts: 1,
    });
    expect(largest).toBeLessThan(20_000);
    // Pass 2 reads only a stream buffer's worth ahead of what it has sent.
    expect(readAhead).toBeLessThanOrEqual(20_000);
  });

  it('validates the whole NDJSON file first and sends nothing if a line is bad', async () => {
    // Prepare
    const lines: unknown[] = records(250);
    lines[3] = '{broken';
    lines[120] = { ...record(120), _day_start_at: 'x' };
    lines[200] = '{"a":';
    lines[249] = 7;
    let opened = 0;
    const client = fakeClient();

    // Act
    const result = await forwardStream(
      { client, log: recordingLog(), metrics: noMetrics },
      {
        dataGroup: GROUP,
        dataType: TYPE,
        format: 'ndjson',
        open: async () => {
          opened += 1;
          return Readable.from([Buffer.from(ndjson(lines))]);
        },
      },
    );

    // Assess
    expect(result).toMatchObject({ outcome: 'invalid', records: 250, chunks: [] });
    expect([...new Set(result.errors.map((error) => error.index))]).toEqual([3, 120, 200, 249]);
    expect(result.errors[0]?.message).toMatch(/^Line 4 is not valid JSON/);
    expect(result.errors.find((error) => error.index === 200)?.message).toMatch(
      /^Line 201 is not valid JSON/,
    );
    expect(result.errors.find((error) => error.index === 120)).toEqual({
      index: 120,
      line: 121,
      field: '_day_start_at',
      code: 'UNKNOWN_INTERNAL_FIELD',
      message:
        '_day_start_at is not allowed: the only fields starting with _ are _timestamp, _start_at, _end_at and _id',
      backdropMessage: '_day_start_at is not a recognised internal field',
    });
    expect(result.errors.find((error) => error.index === 3)).toMatchObject({ line: 4, code: 'BAD_LINE' });
    expect(opened).toBe(1);
    expect(client.posts).toEqual([]);
  });

  it('lists the first errors and counts the rest', async () => {
    const text = Array.from({ length: 1_500 }, () => 'nope').join('\n');
    const result = await forwardStream(
      { client: fakeClient(), log: recordingLog(), metrics: noMetrics },
      {
        dataGroup: GROUP,
        dataType: TYPE,
        format: 'ndjson',
        maxListedErrors: 1_000,
        open: async () => Readable.from([text]),
      },
    );
    expect(result.errors).toHaveLength(1_001);
    expect(result.errors.at(-1)).toEqual({
      index: null,
      code: 'NOT_LISTED',
      message: '500 more errors are not listed (1500 in all)',
    });
    expect(result).toMatchObject({ errorCount: 1_500, recordsWithProblems: 1_500 });
  });

  it('sends nothing for an empty NDJSON file', async () => {
    const client = fakeClient();
    const result = await forwardStream(
      { client, log: recordingLog(), metrics: noMetrics },
      { dataGroup: GROUP, dataType: TYPE, format: 'ndjson', open: async () => Readable.from(['\n\n']) },
    );
    expect(result).toMatchObject({ outcome: 'empty', records: 0 });
    expect(client.posts).toEqual([]);
  });

  it('never sends a chunk that changed since it was validated', async () => {
    // Prepare
    const first = records(250);
    const second = records(250);
    second[150] = { ...record(150), count: 9_999 };
    const sources = [first, second];
    const client = fakeClient();

    // Act
    const result = await forwardStream(
      { client, log: recordingLog(), metrics: noMetrics },
      {
        dataGroup: GROUP,
        dataType: TYPE,
        format: 'ndjson',
        open: async () => Readable.from([ndjson(sources.shift() ?? [])]),
      },
    );

    // Assess
    expect(result.outcome).toBe('partial');
    expect(result.chunks.map((chunk) => chunk.status)).toEqual(['stored', 'failed', 'not-sent']);
    expect(result.chunks[1]?.error?.kind).toBe('source-changed');
    expect(client.posts).toHaveLength(1);
  });

  it('reports a read failure in the second pass after what was stored', async () => {
    // Prepare
    let opened = 0;
    const open = async () => {
      opened += 1;
      const fail = opened === 2;
      async function* lines() {
        yield `${ndjson(records(150))}\n`;
        if (fail) throw new Error('socket hang up');
        yield ndjson(records(100).map((_, i) => record(150 + i)));
      }
      return Readable.from(lines());
    };
    const client = fakeClient();

    // Act
    const result = await forwardStream(
      { client, log: recordingLog(), metrics: noMetrics },
      { dataGroup: GROUP, dataType: TYPE, format: 'ndjson', open },
    );

    // Assess
    expect(result.outcome).toBe('partial');
    expect(result.chunks.map((chunk) => chunk.status)).toEqual(['stored', 'failed', 'not-sent']);
    expect(result.chunks[1]?.error).toEqual({ kind: 'read-error', messages: ['socket hang up'] });
  });

  it('throws when the source cannot be read before anything was sent', async () => {
    async function* broken(): AsyncGenerator<string> {
      yield '{"a":1}\n';
      throw new Error('NoSuchKey');
    }
    await expect(
      forwardStream(
        { client: fakeClient(), log: recordingLog(), metrics: noMetrics },
        { dataGroup: GROUP, dataType: TYPE, format: 'ndjson', open: async () => Readable.from(broken()) },
      ),
    ).rejects.toThrow('NoSuchKey');
  });

  it('forwards a .json document through forwardRecords', async () => {
    const client = fakeClient();
    const result = await forwardStream(
      { client, log: recordingLog(), metrics: noMetrics },
      {
        dataGroup: GROUP,
        dataType: TYPE,
        format: 'json',
        open: async () => Readable.from([JSON.stringify(records(120))]),
      },
    );
    expect(result).toMatchObject({ outcome: 'forwarded', records: 120 });
    expect(client.posts.map((body) => body.length)).toEqual([100, 20]);
  });

  it('turns an oversized .json document into an invalid result that points to NDJSON', async () => {
    const client = fakeClient();
    const result = await forwardStream(
      { client, log: recordingLog(), metrics: noMetrics },
      {
        dataGroup: GROUP,
        dataType: TYPE,
        format: 'json',
        maxJsonBytes: 1_000,
        open: async () => Readable.from([JSON.stringify(records(120))]),
      },
    );
    expect(result).toMatchObject({ outcome: 'invalid', records: 0, errors: [{ index: null }] });
    expect(result.errors[0]?.message).toContain('NDJSON');
    expect(client.posts).toEqual([]);
  });
});

describe('emptyDataSet', () => {
  it('empties the data set and logs it', async () => {
    const client = fakeClient();
    const log = recordingLog();
    const result = await emptyDataSet({ client, log }, GROUP, TYPE);
    expect(result).toEqual({ ok: true, dataGroup: GROUP, dataType: TYPE, attempts: 1, requestId: 'req-1' });
    expect(client.empties).toEqual([`${GROUP}/${TYPE}`]);
    expect(log.lines.map((line) => line.message)).toEqual(['PP_EMPTY_DONE']);
  });

  it('reports why it could not', async () => {
    const client = fakeClient([{ kind: 'unauthorised', status: 401, messages: ['Unauthorized'] }]);
    const log = recordingLog();
    const result = await emptyDataSet({ client, log }, GROUP, TYPE);
    expect(result).toMatchObject({
      ok: false,
      error: { kind: 'unauthorised', status: 401, messages: ['Unauthorized'] },
    });
    expect(log.lines[0]).toMatchObject({ level: 'warn', message: 'PP_EMPTY_FAILED' });
  });
});

describe('forwarding to the local Performance Platform', () => {
  const TOKEN = 'local-token-8d2f61';
  let server: LocalPerformancePlatform;
  let type = 0;

  beforeAll(async () => {
    server = await startLocalPerformancePlatform({
      dataSets: Array.from({ length: 8 }, (_, i) => ({
        dataGroup: GROUP,
        dataType: `${TYPE}-${i}`,
        bearerToken: TOKEN,
      })),
    });
  });
  afterAll(async () => server.close());

  /** A data set of its own per test, so stored counts do not mix. */
  function dataSet() {
    const dataType = `${TYPE}-${type++}`;
    const client = new PerformancePlatformClient({
      baseUrl: server.baseUrl,
      token: async () => TOKEN,
      timeoutMs: 5_000,
      retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50, totalTimeMs: 10_000 },
      gzipAboveBytes: 2048,
    });
    return { dataType, deps: { client, log: recordingLog(), metrics: noMetrics } };
  }

  it('stores every record once, and a re-run replaces them instead of adding more', async () => {
    // Prepare
    const { dataType, deps } = dataSet();
    const before = server.requests().length;

    // Act
    const first = await forwardRecords(deps, { dataGroup: GROUP, dataType, records: records(250) });
    const again = await forwardRecords(deps, { dataGroup: GROUP, dataType, records: records(250) });

    // Assess
    expect(first).toMatchObject({ outcome: 'forwarded', records: 250 });
    expect(again.outcome).toBe('forwarded');
    const stored = await server.records(GROUP, dataType);
    expect(stored).toHaveLength(250);
    expect(new Set(stored.map((r) => r._id))).toEqual(
      new Set(records(250).map((r) => deterministicId(GROUP, dataType, r))),
    );
    const seen = server.requests().slice(before);
    expect(seen.map((r) => [r.method, r.path, r.status, r.records, r.gzip])).toEqual(
      [...first.requestIds, ...again.requestIds].map((_, i) => [
        'POST',
        `/data/${GROUP}/${dataType}`,
        200,
        i % 3 === 2 ? 50 : 100,
        true,
      ]),
    );
    expect(seen.map((r) => r.requestId)).toEqual([...first.requestIds, ...again.requestIds]);
  });

  it('retries a chunk whose answer was lost after it was stored, without duplicating it', async () => {
    // Prepare
    const { dataType, deps } = dataSet();
    const before = server.requests().length;
    server.fault({ method: 'POST', dropAfterStore: true, times: 1 });

    // Act
    const result = await forwardRecords(deps, { dataGroup: GROUP, dataType, records: records(150) });

    // Assess
    expect(result.outcome).toBe('forwarded');
    expect(result.chunks.map((chunk) => chunk.attempts)).toEqual([2, 1]);
    expect(await server.records(GROUP, dataType)).toHaveLength(150);
    const ids = server
      .requests()
      .slice(before)
      .map((r) => r.requestId);
    expect(ids).toEqual([result.requestIds[0], result.requestIds[0], result.requestIds[1]]);
  });

  it('retries a 503, and reports a chunk that keeps failing with what the proxy said', async () => {
    // Prepare
    const { dataType, deps } = dataSet();
    server.fault({ method: 'POST', status: 503, times: 1 });

    // Act
    const first = await forwardRecords(deps, { dataGroup: GROUP, dataType, records: records(150) });
    server.fault({ method: 'POST', status: 502, body: '<html><h1>502 Bad Gateway</h1></html>', times: 3 });
    const second = await forwardRecords(deps, {
      dataGroup: GROUP,
      dataType,
      records: records(250),
      chunkSize: 100,
    });

    // Assess
    expect(first.outcome).toBe('forwarded');
    expect(second).toMatchObject({
      outcome: 'failed',
      errors: [{ index: null, message: '502 Bad Gateway' }],
    });
    expect(second.chunks.map((chunk) => [chunk.status, chunk.attempts])).toEqual([
      ['failed', 3],
      ['not-sent', 0],
      ['not-sent', 0],
    ]);
  });

  it('stops at once on a refused token and never repeats the token', async () => {
    // Prepare
    const { dataType } = dataSet();
    const wrong = 'wrong-token-55e0aa';
    const client = new PerformancePlatformClient({
      baseUrl: server.baseUrl,
      token: async () => wrong,
      timeoutMs: 5_000,
      retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50, totalTimeMs: 10_000 },
    });
    const log = recordingLog();
    const before = server.requests().length;

    // Act
    const result = await forwardRecords(
      { client, log, metrics: noMetrics },
      { dataGroup: GROUP, dataType, records: records(250) },
    );

    // Assess
    expect(result.outcome).toBe('failed');
    expect(result.chunks[0]?.error).toMatchObject({ kind: 'unauthorised', status: 401 });
    expect(server.requests().length - before).toBe(1);
    expect(JSON.stringify(result)).not.toContain(wrong);
    expect(JSON.stringify(log.lines)).not.toContain(wrong);
  });

  it('reports an unknown data set as not found', async () => {
    const { deps } = dataSet();
    const result = await forwardRecords(deps, {
      dataGroup: GROUP,
      dataType: 'no-such-type',
      records: records(3),
    });
    expect(result.chunks[0]?.error).toEqual({
      kind: 'not-found',
      status: 404,
      messages: ['Could not find data_set_config'],
    });
  });

  it('streams an NDJSON file in and empties the data set', async () => {
    // Prepare
    const { dataType, deps } = dataSet();
    const text = `${ndjson(records(230))}\n`;

    // Act
    const result = await forwardStream(deps, {
      dataGroup: GROUP,
      dataType,
      format: 'ndjson',
      open: async () => Readable.from([Buffer.from(text)]),
    });
    const stored = await server.records(GROUP, dataType);
    const emptied = await emptyDataSet(deps, GROUP, dataType);

    // Assess
    expect(result).toMatchObject({ outcome: 'forwarded', records: 230 });
    expect(stored).toHaveLength(230);
    expect(emptied.ok).toBe(true);
    expect(await server.records(GROUP, dataType)).toEqual([]);
  });
});
