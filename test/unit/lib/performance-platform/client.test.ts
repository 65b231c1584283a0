import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  PerformancePlatformClient,
  type PpClientOptions,
  parseMessages,
} from '../../../../lib/performance-platform/client.js';

const TOKEN = 'secret-token-4f1c9e';
const REQUEST_ID = '5d0c7a1e-8f3b-4a2e-9c61-2b7f0e4d9a10';

interface Answer {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  delayMs?: number;
  /** Drop the connection instead of answering. */
  drop?: boolean;
}

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** The body as sent on the wire. */
  wire: Buffer;
  /** The body after gunzip when it was sent gzipped. */
  text: string;
}

/** A scripted backdrop stand-in: answers in the order given, then 200 {"status":"ok"}. */
async function startStub() {
  const answers: Answer[] = [];
  const seen: Seen[] = [];
  const server: Server = createServer((request, response) => {
    const parts: Buffer[] = [];
    request.on('data', (part: Buffer) => parts.push(part));
    request.on('end', () => {
      const wire = Buffer.concat(parts);
      const gzip = String(request.headers['content-encoding'] ?? '').includes('gzip');
      seen.push({
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        wire,
        text: (gzip ? gunzipSync(wire) : wire).toString('utf8'),
      });
      const answer = answers.shift() ?? { status: 200, body: '{"status": "ok"}' };
      const reply = () => {
        if (answer.drop) {
          request.socket.destroy();
          return;
        }
        response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        response.end(answer.body ?? '');
      };
      if (answer.delayMs) setTimeout(reply, answer.delayMs);
      else reply();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    seen,
    script: (...next: Answer[]) => answers.push(...next),
    reset: () => {
      answers.length = 0;
      seen.length = 0;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('PerformancePlatformClient', () => {
  let stub: Awaited<ReturnType<typeof startStub>>;
  let sleeps: number[];
  let tokenCalls: string[];

  beforeAll(async () => {
    stub = await startStub();
  });
  afterAll(async () => stub.close());
  beforeEach(() => {
    stub.reset();
    sleeps = [];
    tokenCalls = [];
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  function client(overrides: Partial<PpClientOptions> = {}) {
    return new PerformancePlatformClient({
      baseUrl: `${stub.baseUrl}/`,
      token: async (group, type) => {
        tokenCalls.push(`${group}/${type}`);
        return TOKEN;
      },
      timeoutMs: 2_000,
      retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1_000, totalTimeMs: 30_000 },
      gzipAboveBytes: 2048,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      requestId: () => REQUEST_ID,
      ...overrides,
    });
  }

  const body = JSON.stringify([{ _timestamp: '2015-01-01T00:00:00Z', count: 1 }]);

  describe('what it sends', () => {
    it('posts to /data/<group>/<type> with the write API headers', async () => {
      // Act
      const outcome = await client().post('carers-allowance', 'transaction-count', body);

      // Assess
      expect(outcome).toEqual({ ok: true, status: 200, attempts: 1, requestId: REQUEST_ID });
      expect(stub.seen).toHaveLength(1);
      const [request] = stub.seen;
      expect(request?.method).toBe('POST');
      expect(request?.url).toBe('/data/carers-allowance/transaction-count');
      expect(request?.headers).toMatchObject({
        'content-type': 'application/json',
        authorization: `Bearer ${TOKEN}`,
        accept: 'application/json',
        'govuk-request-id': REQUEST_ID,
        'user-agent': 'govpub',
      });
      expect(request?.headers['content-encoding']).toBeUndefined();
      expect(request?.text).toBe(body);
      expect(tokenCalls).toEqual(['carers-allowance/transaction-count']);
    });

    it('keeps one request id across the retries of a call, and a new one per call', async () => {
      // Prepare
      stub.script({ status: 502 }, { status: 500 });
      const fresh = client({ requestId: undefined });

      // Act
      const first = await fresh.post('g', 't', body);
      const second = await fresh.post('g', 't', body);

      // Assess
      expect(first).toMatchObject({ ok: true, attempts: 3 });
      const ids = stub.seen.map((request) => request.headers['govuk-request-id']);
      expect(ids).toHaveLength(4);
      expect(new Set(ids.slice(0, 3)).size).toBe(1);
      expect(ids[0]).toBe(first.requestId);
      expect(ids[3]).toBe(second.requestId);
      expect(second.requestId).not.toBe(first.requestId);
      expect(first.requestId).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
    });

    it('empties a data set with PUT []', async () => {
      // Prepare
      stub.script({
        status: 200,
        body: '{\n  "message": "g_t now contains 0 records", \n  "status": "ok"\n}',
      });

      // Act
      const outcome = await client().empty('g', 't');

      // Assess
      expect(outcome).toMatchObject({ ok: true, status: 200 });
      expect(stub.seen[0]).toMatchObject({ method: 'PUT', url: '/data/g/t', text: '[]' });
    });

    it('gzips a body above the threshold and not one at or below it', async () => {
      // Prepare
      const at = 'x'.repeat(2048 - 4);
      const small = JSON.stringify([at]);
      const large = JSON.stringify([`${at}y`]);
      expect(Buffer.byteLength(small)).toBe(2048);

      // Act
      await client().post('g', 't', small);
      await client().post('g', 't', large);

      // Assess
      const [plain, zipped] = stub.seen;
      expect(plain?.headers['content-encoding']).toBeUndefined();
      expect(plain?.wire.toString('utf8')).toBe(small);
      expect(zipped?.headers['content-encoding']).toBe('gzip');
      expect(zipped?.wire.length).toBeLessThan(Buffer.byteLength(large));
      expect(zipped?.text).toBe(large);
    });

    it('counts bytes, not characters, against the gzip threshold', async () => {
      // Act: 1 100 characters of 2 bytes each.
      await client({ gzipAboveBytes: 2_000 }).post('g', 't', JSON.stringify(['é'.repeat(1_100)]));

      // Assess
      expect(stub.seen[0]?.headers['content-encoding']).toBe('gzip');
      expect(JSON.parse(stub.seen[0]?.text ?? '')).toEqual(['é'.repeat(1_100)]);
    });

    it('refuses a body over 10 485 760 bytes without sending it', async () => {
      // Act
      const outcome = await client().post('g', 't', `["${'x'.repeat(10_485_760 - 3)}"]`);

      // Assess
      expect(outcome).toMatchObject({ ok: false, kind: 'too-large', attempts: 0 });
      expect(stub.seen).toHaveLength(0);
    });

    it.each(['abc\r\nx-evil: 1', '', 'tök-123', 'two words'])(
      'refuses the token %j, which cannot be a bearer token, without sending it',
      async (token) => {
        // Act
        const outcome = await client({ token: async () => token }).post('g', 't', body);

        // Assess
        expect(outcome).toMatchObject({ ok: false, kind: 'unauthorised', attempts: 0 });
        expect(stub.seen).toHaveLength(0);
      },
    );
  });

  describe('retries', () => {
    it.each([500, 502, 503, 504, 429])('retries HTTP %i with backoff, then succeeds', async (status) => {
      // Prepare
      stub.script({ status, body: '{"message": "Internal Server Error: x", "status": "error"}' });

      // Act
      const outcome = await client().post('g', 't', body);

      // Assess
      expect(outcome).toMatchObject({ ok: true, status: 200, attempts: 2 });
      expect(stub.seen).toHaveLength(2);
      expect(sleeps).toHaveLength(1);
      expect(sleeps[0]).toBeGreaterThanOrEqual(0);
      expect(sleeps[0]).toBeLessThanOrEqual(100);
    });

    it.each([
      [400, 'validation'],
      [401, 'unauthorised'],
      [403, 'unauthorised'],
      [404, 'not-found'],
      [413, 'too-large'],
      [405, 'http'],
      [409, 'http'],
    ] as const)('never retries HTTP %i (kind %s)', async (status, kind) => {
      // Prepare
      stub.script({ status, body: '{"message": "no", "status": "error"}' });

      // Act
      const outcome = await client().post('g', 't', body);

      // Assess
      expect(outcome).toEqual({
        ok: false,
        kind,
        status,
        messages: ['no'],
        attempts: 1,
        requestId: REQUEST_ID,
      });
      expect(stub.seen).toHaveLength(1);
      expect(sleeps).toEqual([]);
    });

    it('gives up after maxAttempts with the last answer', async () => {
      // Prepare
      stub.script(
        { status: 503 },
        { status: 503 },
        { status: 500, body: '{"message":"last","status":"error"}' },
      );

      // Act
      const outcome = await client().post('g', 't', body);

      // Assess
      expect(outcome).toMatchObject({
        ok: false,
        kind: 'http',
        status: 500,
        messages: ['last'],
        attempts: 3,
      });
      expect(stub.seen).toHaveLength(3);
      expect(sleeps).toHaveLength(2);
      expect(sleeps[1]).toBeLessThanOrEqual(200);
    });

    it('never starts an attempt that could end after totalTimeMs', async () => {
      // Prepare: a clock moved only by the sleeps and by each attempt (300 ms).
      let clock = 0;
      vi.spyOn(Math, 'random').mockReturnValue(1);
      const starts: number[] = [];
      for (let i = 0; i < 10; i++) stub.script({ status: 503 });
      const slow = client({
        now: () => clock,
        sleep: async (ms) => {
          sleeps.push(ms);
          clock += ms;
        },
        fetch: async (input, init) => {
          starts.push(clock);
          clock += 300;
          return fetch(input, init);
        },
        timeoutMs: 1_000,
        retry: { maxAttempts: 10, baseDelayMs: 500, maxDelayMs: 2_000, totalTimeMs: 6_000 },
      });

      // Act
      const outcome = await slow.post('g', 't', body);

      // Assess: delays 500, 1000, 2000 (capped) ...; attempt 4 would start at 4 400 and could end at 5 400.
      expect(sleeps).toEqual([500, 1_000, 2_000]);
      expect(starts).toEqual([0, 800, 2_100, 4_400]);
      expect(outcome).toMatchObject({ ok: false, kind: 'http', status: 503, attempts: 4 });
      for (const start of starts) expect(start + 1_000).toBeLessThanOrEqual(6_000);
    });

    it('reports connection refused as a connection error after its retries', async () => {
      // Prepare: a port that was just freed.
      const closed = await startStub();
      await closed.close();

      // Act
      const outcome = await client({ baseUrl: closed.baseUrl }).post('g', 't', body);

      // Assess
      expect(outcome).toMatchObject({ ok: false, kind: 'connection', attempts: 3 });
      expect(outcome.ok ? [] : outcome.messages).toEqual([
        'The Performance Platform could not be reached (ECONNREFUSED)',
      ]);
      expect(sleeps).toHaveLength(2);
    });

    it('retries a dropped connection', async () => {
      // Prepare
      stub.script({ status: 200, drop: true });

      // Act
      const outcome = await client().post('g', 't', body);

      // Assess
      expect(outcome).toMatchObject({ ok: true, attempts: 2 });
      expect(stub.seen).toHaveLength(2);
    });

    it('times out a slow answer and retries it within the attempts', async () => {
      // Prepare
      stub.script({ status: 200, delayMs: 400 }, { status: 200, delayMs: 400 });

      // Act
      const outcome = await client({
        timeoutMs: 50,
        retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 10, totalTimeMs: 5_000 },
      }).post('g', 't', body);

      // Assess
      expect(outcome).toMatchObject({
        ok: false,
        kind: 'timeout',
        attempts: 2,
        messages: ['The Performance Platform did not answer within 50 ms'],
      });
      expect(outcome.ok ? undefined : outcome.status).toBeUndefined();
    });

    it('does not follow a redirect, nor retry it', async () => {
      // Prepare
      stub.script({ status: 302, headers: { location: 'https://elsewhere.example/' } });

      // Act
      const outcome = await client().post('g', 't', body);

      // Assess
      expect(outcome).toMatchObject({ ok: false, kind: 'http', attempts: 1 });
      expect(stub.seen).toHaveLength(1);
    });
  });

  describe('error bodies', () => {
    it.each([
      [
        'a messages list (record validation)',
        400,
        '{\n  "messages": [\n    "u\'_timestamp\' is a required property", \n    "a is not a valid key"\n  ]\n}',
        ["u'_timestamp' is a required property", 'a is not a valid key'],
      ],
      [
        'status and message',
        400,
        '{\n  "message": "Expected JSON request body but received zero bytes.", \n  "status": "error"\n}',
        ['Expected JSON request body but received zero bytes.'],
      ],
      [
        'messages as a bare string',
        400,
        '{"messages": "No record found with id x"}',
        ['No record found with id x'],
      ],
      [
        'the 404 of an unknown data set',
        404,
        '{"message": "Could not find data_set_config", "status": "error"}',
        ['Could not find data_set_config'],
      ],
      [
        'the 413 HTML page',
        413,
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n<title>413 Request Entity Too Large</title>\n<h1>Request Entity Too Large</h1>\n<p>The data value transmitted exceeds the capacity limit.</p>\n',
        [
          '413 Request Entity Too Large Request Entity Too Large The data value transmitted exceeds the capacity limit.',
        ],
      ],
      ['plain text', 502, 'Bad Gateway\n', ['Bad Gateway']],
      ['no body', 500, '', ['The Performance Platform answered HTTP 500']],
    ])('reads %s', async (_label, status, text, messages) => {
      // Prepare
      stub.script({ status, body: text });

      // Act
      const outcome = await client({
        retry: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0, totalTimeMs: 5_000 },
      }).post('g', 't', body);

      // Assess
      expect(outcome).toMatchObject({ ok: false, status, messages });
    });

    it('bounds the messages it keeps', () => {
      const many = parseMessages(
        JSON.stringify({ messages: Array.from({ length: 1_500 }, (_, i) => `m${i}`) }),
      );
      expect(many).toHaveLength(1_001);
      expect(many.at(-1)).toBe('… and 500 more messages');
      expect(parseMessages(JSON.stringify({ message: 'y'.repeat(5_000) }))[0]).toHaveLength(1_001);
    });
  });

  describe('the token', () => {
    it('never appears in an outcome, even when the service echoes it', async () => {
      // Prepare
      const echoed = `{"message": "Unauthorized: Invalid bearer token '${TOKEN}' for 'g_t'", "status": "error"}`;
      const outcomes = [];

      // Act
      stub.script({ status: 401, body: echoed, headers: { 'www-authenticate': 'bearer' } });
      outcomes.push(await client().post('g', 't', body));
      stub.script({ status: 400, body: JSON.stringify({ messages: [TOKEN, `x${TOKEN}x`] }) });
      outcomes.push(await client().post('g', 't', body));
      stub.script({ status: 500, body: `<p>${TOKEN}</p>` }, { status: 500 }, { status: 500 });
      outcomes.push(await client().post('g', 't', body));
      outcomes.push(await client().post('g', 't', body));

      // Assess
      expect(outcomes[0]).toMatchObject({
        ok: false,
        kind: 'unauthorised',
        status: 401,
        messages: ["Unauthorized: Invalid bearer token '[redacted]' for 'g_t'"],
      });
      for (const outcome of outcomes) expect(JSON.stringify(outcome)).not.toContain(TOKEN);
    });
  });
});
