import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type LocalDataSetConfig,
  type LocalPerformancePlatform,
  loadDataSetsConfig,
  startLocalPerformancePlatform,
} from '../../../local/performance-platform/server.js';

const TOKEN = 'test-token-carers-8d1f';
const TBC_TOKEN = 'test-token-vehicles-44ab';
const CARERS = '/data/carers-allowance/transaction-count';
const VEHICLES = '/data/vehicle-licensing/transactions-by-channel';
const DATA_SETS: LocalDataSetConfig[] = [
  { dataGroup: 'carers-allowance', dataType: 'transaction-count', bearerToken: TOKEN, autoIds: [] },
  {
    dataGroup: 'vehicle-licensing',
    dataType: 'transactions-by-channel',
    bearerToken: TBC_TOKEN,
    autoIds: ['_timestamp', 'channel'],
  },
];
const OK_BODY = '{\n  "status": "ok"\n}';
const TS = '2014-01-01T00:00:00Z';
const MIB = 1024 * 1024;

let pp: LocalPerformancePlatform;

beforeEach(async () => {
  pp = await startLocalPerformancePlatform({ dataSets: DATA_SETS });
});

afterEach(async () => {
  await pp.close();
});

interface Answer {
  status: number;
  text: string;
  json: unknown;
  headers: Headers;
}

interface CallOptions {
  body?: string | Buffer;
  /** null: no Authorization header */
  auth?: string | null;
  /** null: no Content-Type header */
  contentType?: string | null;
  headers?: Record<string, string>;
}

async function call(method: string, path: string, options: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  const auth = options.auth === undefined ? `Bearer ${TOKEN}` : options.auth;
  if (auth !== null) headers.authorization = auth;
  const contentType = options.contentType === undefined ? 'application/json' : options.contentType;
  if (contentType !== null) headers['content-type'] = contentType;
  // A Buffer body, so fetch adds no Content-Type of its own.
  const body = options.body === undefined ? undefined : Buffer.from(options.body);
  const response = await fetch(`${pp.baseUrl}${path}`, { method, headers, ...(body ? { body } : {}) });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json, headers: response.headers };
}

const post = (body: unknown, options: CallOptions = {}, path = CARERS): Promise<Answer> =>
  call('POST', path, { body: typeof body === 'string' ? body : JSON.stringify(body), ...options });

/** node:http for what fetch cannot do: declare a length it never sends. */
function rawRequest(
  method: string,
  path: string,
  headers: OutgoingHttpHeaders,
  write: (req: ReturnType<typeof httpRequest>) => void,
): Promise<{ status: number; text: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${pp.baseUrl}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          text: Buffer.concat(chunks).toString(),
          headers: res.headers,
        }),
      );
    });
    req.on('error', reject);
    write(req);
  });
}

describe('POST /data/<group>/<type>: success', () => {
  it('stores records as backdrop did and answers {"status": "ok"} pretty-printed with no-cache', async () => {
    const answer = await post([
      { _id: 'r1', _timestamp: '2014-01-02T06:04:05+03:30', count: 3, name: 'café' },
      {
        _id: 'r2',
        _timestamp: '2014-01-01T00:00:00.1234567Z',
        _start_at: '2014-01-01',
        _end_at: '2014-01-08T00:00:00',
      },
    ]);
    expect(answer.status).toBe(200);
    expect(answer.text).toBe(OK_BODY);
    expect(answer.headers.get('content-type')).toBe('application/json');
    expect(answer.headers.get('cache-control')).toBe('no-cache');

    const [first, second] = await pp.records('carers-allowance', 'transaction-count');
    expect(first).toEqual({
      _id: 'r2',
      _timestamp: '2014-01-01T00:00:00.123456+00:00',
      _start_at: '2014-01-01T00:00:00+00:00',
      _end_at: '2014-01-08T00:00:00+00:00',
      _hour_start_at: '2014-01-01T00:00:00+00:00',
      _day_start_at: '2014-01-01T00:00:00+00:00',
      _week_start_at: '2013-12-30T00:00:00+00:00',
      _month_start_at: '2014-01-01T00:00:00+00:00',
      _quarter_start_at: '2014-01-01T00:00:00+00:00',
      _year_start_at: '2014-01-01T00:00:00+00:00',
      _updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/),
    });
    expect(second).toMatchObject({
      _id: 'r1',
      _timestamp: '2014-01-02T02:34:05+00:00',
      count: 3,
      name: 'café',
      _hour_start_at: '2014-01-02T02:00:00+00:00',
      _week_start_at: '2013-12-30T00:00:00+00:00',
    });
  });

  it('computes Monday weeks, quarters and years from _timestamp', async () => {
    await post({ _id: 'x', _timestamp: '2015-08-16T23:59:59+00:00' });
    const [record] = await pp.records('carers-allowance', 'transaction-count');
    expect(record).toMatchObject({
      _hour_start_at: '2015-08-16T23:00:00+00:00',
      _day_start_at: '2015-08-16T00:00:00+00:00',
      _week_start_at: '2015-08-10T00:00:00+00:00',
      _month_start_at: '2015-08-01T00:00:00+00:00',
      _quarter_start_at: '2015-07-01T00:00:00+00:00',
      _year_start_at: '2015-01-01T00:00:00+00:00',
    });
  });

  it('wraps a single object into a list; [] stores nothing and still answers ok', async () => {
    expect((await post({ _timestamp: TS, count: 1 })).status).toBe(200);
    expect(await pp.records('carers-allowance', 'transaction-count')).toHaveLength(1);
    const empty = await post([]);
    expect([empty.status, empty.text]).toEqual([200, OK_BODY]);
    expect(await pp.records('carers-allowance', 'transaction-count')).toHaveLength(1);
    expect(pp.requests().map((entry) => entry.records)).toEqual([1, 0]);
  });

  it('accepts application/json with parameters and in any case', async () => {
    expect((await post({ _timestamp: TS }, { contentType: 'application/json; charset=utf-8' })).status).toBe(
      200,
    );
    expect((await post({ _timestamp: TS }, { contentType: 'Application/JSON' })).status).toBe(200);
  });

  it('keeps a float a float: 1.0 is stored as 1.0 and is not an integer', async () => {
    expect(
      (
        await post(
          '{"_id": "f", "_timestamp": "2014-01-01T00:00:00Z", "ratio": 1.0, "big": 12345678901234567890}',
        )
      ).status,
    ).toBe(200);
    const listed = await call('GET', CARERS);
    expect(listed.text).toContain('"ratio": 1.0');
    expect(listed.text).toContain('"big": 12345678901234567890');
    const typed = await post(
      '{"_timestamp": "2014-01-01T00:00:00Z", "count": 1.0, "channel": "x"}',
      { auth: `Bearer ${TBC_TOKEN}` },
      VEHICLES,
    );
    expect(typed.json).toEqual({ messages: ["1.0 is not of type u'integer'"] });
  });
});

describe('POST: upsert, duplicates and auto ids', () => {
  it('a later record with the same _id replaces the earlier one; in one batch the last wins', async () => {
    await post([{ _id: 'same', _timestamp: TS, count: 1 }]);
    await post([
      { _id: 'same', _timestamp: TS, count: 2 },
      { _id: 'same', _timestamp: TS, count: 3, extra: 'x' },
    ]);
    const records = await pp.records('carers-allowance', 'transaction-count');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ _id: 'same', count: 3, extra: 'x' });
  });

  it('records without _id get a fresh uuid each time, so re-posting duplicates them', async () => {
    await post({ _timestamp: TS, count: 1 });
    await post({ _timestamp: TS, count: 1 });
    const records = await pp.records('carers-allowance', 'transaction-count');
    expect(records).toHaveLength(2);
    const ids = records.map((record) => record._id);
    expect(new Set(ids).size).toBe(2);
    for (const id of ids)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('auto_ids make the _id from raw values, override the client _id, and make re-posting replace', async () => {
    const record = { _id: 'ignored', _timestamp: '2013-08-01T00:00:00+00:00', channel: 'bar', count: 1 };
    const options = { auth: `Bearer ${TBC_TOKEN}` };
    expect((await post([record], options, VEHICLES)).status).toBe(200);
    expect((await post([{ ...record, count: 2 }], options, VEHICLES)).status).toBe(200);
    const records = await pp.records('vehicle-licensing', 'transactions-by-channel');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ _id: 'MjAxMy0wOC0wMVQwMDowMDowMCswMDowMC5iYXI=', count: 2 });
  });

  it('a record lacking an auto-id field fails the batch with one error', async () => {
    const answer = await post([{ _timestamp: TS, count: 1 }], { auth: `Bearer ${TBC_TOKEN}` }, VEHICLES);
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({
      messages: [
        "u'channel' is a required property",
        'The following required id fields are missing: channel',
      ],
    });
  });
});

describe('POST: validation errors', () => {
  it('one bad record rejects the batch: {"messages": [...]}, no status key, no-cache, nothing stored', async () => {
    const answer = await post([
      { _timestamp: TS, count: 1 },
      { _timestamp: '2014-01-01', 'bad-key': [1], _id: 7 },
      { count: 1 },
    ]);
    expect(answer.status).toBe(400);
    expect(answer.headers.get('cache-control')).toBe('no-cache');
    expect(answer.json).toEqual({
      messages: [
        "'2014-01-01' is not a u'date-time'",
        "u'_timestamp' is a required property",
        'bad-key is not a valid key',
      ],
    });
    expect(answer.text).toBe(
      '{\n  "messages": [\n    "\'2014-01-01\' is not a u\'date-time\'", \n    "u\'_timestamp\' is a required property", \n    "bad-key is not a valid key"\n  ]\n}',
    );
    expect(await pp.records('carers-allowance', 'transaction-count')).toEqual([]);
  });

  it('non-object elements get a clear 400 (backdrop: 500)', async () => {
    const answer = await post('[1, {"_timestamp": "2014-01-01T00:00:00Z"}, "x"]');
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({
      messages: ['record 0 is not a JSON object', 'record 2 is not a JSON object'],
    });
  });

  it('a non-string _timestamp gets a clear 400 (backdrop: 500)', async () => {
    const answer = await post({ _timestamp: 1388534400 });
    expect(answer.json).toEqual({
      messages: [
        "1388534400 is not of type u'string'",
        'the _timestamp must be a string, not number',
        '_timestamp is not a valid datetime object',
      ],
    });
  });

  it('a non-ASCII key gets a clear 400 (backdrop: 500)', async () => {
    expect((await post({ _timestamp: TS, clé: 1 })).json).toEqual({ messages: ['clé is not a valid key'] });
  });
});

describe('POST: body and content type', () => {
  it('an empty body answers the zero-bytes error, also for a form body (Werkzeug moved it into request.form)', async () => {
    const zeroBytes = { message: 'Expected JSON request body but received zero bytes.', status: 'error' };
    const empty = await call('POST', CARERS);
    expect([empty.status, empty.json]).toEqual([400, zeroBytes]);
    expect(empty.headers.get('cache-control')).toBeNull();
    const form = await post('a=1', { contentType: 'application/x-www-form-urlencoded' });
    expect([form.status, form.json]).toEqual([400, zeroBytes]);
  });

  it.each<[string | null, string]>([
    ['text/plain', '{"_timestamp": "2014-01-01T00:00:00Z"}'],
    [null, '{"_timestamp": "2014-01-01T00:00:00Z"}'],
    ['application/jsonx', '{}'],
    ['application/json', 'null'],
  ])('Content-Type %j with %j -> the ValidationError messages shape', async (contentType, body) => {
    const answer = await post(body, { contentType });
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({
      messages: ["ValidationError('Expected header: Content-type: application/json',)"],
    });
    expect(answer.headers.get('cache-control')).toBe('no-cache');
  });

  // Messages from Python 2.7's json module, run on each input.
  it.each<[string, string]>([
    ['{borked!}', 'Expecting property name enclosed in double quotes: line 1 column 2 (char 1)'],
    ['   ', 'No JSON object could be decoded'],
    ['{"a": }', 'No JSON object could be decoded'],
    ['[1,]', 'No JSON object could be decoded'],
    ['{"a" 1}', "Expecting ':' delimiter: line 1 column 6 (char 5)"],
    ['{"a": 1 "b"}', "Expecting ',' delimiter: line 1 column 9 (char 8)"],
    ['[1 2]', "Expecting ',' delimiter: line 1 column 4 (char 3)"],
    ['"abc', 'Unterminated string starting at: line 1 column 1 (char 0)'],
    ['"a\\qb"', 'Invalid \\escape: line 1 column 3 (char 2)'],
    ['"\\u12"', 'Invalid \\uXXXX escape: line 1 column 3 (char 2)'],
    ['1 2', 'Extra data: line 1 column 3 - line 1 column 4 (char 2 - 3)'],
    ['{"a":1}x', 'Extra data: line 1 column 8 - line 1 column 9 (char 7 - 8)'],
    ['01', 'Extra data: line 1 column 2 - line 1 column 3 (char 1 - 2)'],
    ['[', 'Expecting object: line 1 column 1 (char 0)'],
    ['{"a":1,}', 'Expecting property name enclosed in double quotes: line 1 column 8 (char 7)'],
    ['"a\nb"', 'Invalid control character at: line 1 column 3 (char 2)'],
    ['\n\n  {x', 'Expecting property name enclosed in double quotes: line 3 column 4 (char 5)'],
    ['\ufeff[]', 'No JSON object could be decoded'],
    ['{"é": 1, x}', 'Expecting property name enclosed in double quotes: line 1 column 10 (char 9)'],
    // refused here, accepted by Python
    ['[NaN]', 'NaN is not a JSON number: line 1 column 2 (char 1)'],
    ['1e400', 'Number out of range: line 1 column 1 (char 0)'],
  ])('invalid JSON %j -> Error parsing JSON: "%s"', async (body, message) => {
    const answer = await post(body);
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({ message: `Error parsing JSON: "${message}"`, status: 'error' });
  });

  it('bytes that are not UTF-8 fail as Python decoding them did', async () => {
    const answer = await call('POST', CARERS, { body: Buffer.from([0xff, 0x5b, 0x5d]) });
    expect(answer.json).toEqual({
      message:
        "Error parsing JSON: \"'utf8' codec can't decode byte 0xff in position 0: invalid start byte\"",
      status: 'error',
    });
  });
});

describe('POST: gzip', () => {
  const gzipped = (text: string): Buffer => gzipSync(Buffer.from(text));

  it.each(['gzip', 'x-gzip', 'GZIP'])('inflates a body sent with Content-Encoding: %s', async (encoding) => {
    const body = gzipped(JSON.stringify([{ _id: 'z', _timestamp: TS, count: 9 }]));
    const answer = await call('POST', CARERS, { body, headers: { 'content-encoding': encoding } });
    expect(answer.status).toBe(200);
    expect(await pp.records('carers-allowance', 'transaction-count')).toMatchObject([{ _id: 'z', count: 9 }]);
    expect(pp.requests()[0]).toMatchObject({ gzip: true, bytes: body.length, records: 1 });
  });

  it("inflating to exactly 10 MiB is fine; one byte more is 413 with Werkzeug's HTML page", async () => {
    const limit = 10 * MIB;
    const atLimit = gzipped(`[]${' '.repeat(limit - 2)}`);
    expect(
      (await call('POST', CARERS, { body: atLimit, headers: { 'content-encoding': 'gzip' } })).status,
    ).toBe(200);
    const bomb = gzipped(`[]${' '.repeat(limit - 1)}`);
    expect(bomb.length).toBeLessThan(20_000);
    const answer = await call('POST', CARERS, { body: bomb, headers: { 'content-encoding': 'gzip' } });
    expect(answer.status).toBe(413);
    expect(answer.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(answer.text).toContain('<title>413 Request Entity Too Large</title>');
  });

  it('a gzip header on a body that is not gzip is a clear 400 (backdrop: 500)', async () => {
    const answer = await post('[]', { headers: { 'content-encoding': 'gzip' } });
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({
      message: expect.stringMatching(/^Content-Encoding says gzip but the body could not be gunzipped: /),
      status: 'error',
    });
  });

  it('an empty gzip-labelled body is the zero-bytes error', async () => {
    const answer = await call('POST', CARERS, { headers: { 'content-encoding': 'gzip' } });
    expect(answer.json).toEqual({
      message: 'Expected JSON request body but received zero bytes.',
      status: 'error',
    });
  });
});

describe('POST: limits and order of checks', () => {
  it('refuses a raw body declared over 64 MiB with 413 without reading it', async () => {
    const answer = await rawRequest(
      'POST',
      CARERS,
      {
        authorization: `Bearer ${TOKEN}`,
        'content-type': 'application/json',
        'content-length': 64 * MIB + 1,
      },
      (req) => req.write('['),
    );
    expect(answer.status).toBe(413);
    expect(answer.text).toContain('Request Entity Too Large');
  });

  it('an unknown data set is 404 before auth and before the body is read', async () => {
    const answer = await rawRequest('POST', '/data/no-such/set', { 'content-length': 1000 }, (req) =>
      req.write('['),
    );
    expect(answer.status).toBe(404);
    expect(JSON.parse(answer.text)).toEqual({ message: 'Could not find data_set_config', status: 'error' });
  });

  it('auth is checked before the body is read', async () => {
    const answer = await rawRequest('POST', CARERS, { 'content-length': 1000 }, (req) => req.write('['));
    expect(answer.status).toBe(401);
  });
});

describe('authentication (§3.1)', () => {
  const name = 'carers_allowance_transaction_count';

  it.each<[string | null, string]>([
    [null, 'Expected header of form: Authorization: Bearer <token>'],
    ['bearer x', `Unauthorized: Invalid bearer token 'None' for '${name}'`],
    ['Bearer', `Unauthorized: Invalid bearer token 'None' for '${name}'`],
    [`Basic ${TOKEN}`, `Unauthorized: Invalid bearer token 'None' for '${name}'`],
    ['', `Unauthorized: Invalid bearer token 'None' for '${name}'`],
    // HTTP strips the trailing space, leaving "Bearer"
    ['Bearer ', `Unauthorized: Invalid bearer token 'None' for '${name}'`],
    // backdrop echoed the wrong token; this never does
    ['Bearer wrong-token', `Unauthorized: Invalid bearer token '<redacted>' for '${name}'`],
    [`Bearer  ${TOKEN}`, `Unauthorized: Invalid bearer token '<redacted>' for '${name}'`],
    [`Bearer ${TBC_TOKEN}`, `Unauthorized: Invalid bearer token '<redacted>' for '${name}'`],
  ])('Authorization %j -> 401 %j with WWW-Authenticate: bearer', async (auth, message) => {
    for (const method of ['POST', 'PUT', 'GET']) {
      const answer = await call(method, CARERS, { auth, ...(method === 'GET' ? {} : { body: '[]' }) });
      expect(answer.status).toBe(401);
      expect(answer.json).toEqual({ message, status: 'error' });
      expect(answer.headers.get('www-authenticate')).toBe('bearer');
      expect(answer.text).not.toContain(TOKEN);
      expect(answer.text).not.toContain('wrong-token');
    }
  });

  it('never logs the token', async () => {
    await post([], { headers: { 'govuk-request-id': 'req-1' } });
    await post([], { auth: 'Bearer wrong-token' });
    const log = JSON.stringify(pp.requests());
    expect(log).not.toContain(TOKEN);
    expect(log).not.toContain('wrong-token');
    expect(pp.requests().map(({ status, requestId }) => [status, requestId])).toEqual([
      [200, 'req-1'],
      [401, undefined],
    ]);
  });
});

describe('PUT /data/<group>/<type> (§3.5)', () => {
  it('[] empties the data set', async () => {
    await post([{ _timestamp: TS }, { _timestamp: TS }]);
    const answer = await call('PUT', CARERS, { body: '[]' });
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({
      message: 'carers_allowance_transaction_count now contains 0 records',
      status: 'ok',
    });
    expect(answer.headers.get('cache-control')).toBe('no-cache');
    expect(await pp.records('carers-allowance', 'transaction-count')).toEqual([]);
  });

  it('leaves other data sets alone', async () => {
    const options = { auth: `Bearer ${TBC_TOKEN}` };
    await post({ _timestamp: TS, count: 1, channel: 'digital' }, options, VEHICLES);
    await call('PUT', CARERS, { body: '[]' });
    expect(await pp.records('vehicle-licensing', 'transactions-by-channel')).toHaveLength(1);
  });

  it.each(['[{"_timestamp": "2014-01-01T00:00:00Z"}]', '{}', '[1]', '"x"'])(
    '%s -> 400 Not implemented',
    async (body) => {
      const answer = await call('PUT', CARERS, { body });
      expect(answer.status).toBe(400);
      expect(answer.json).toEqual({
        message: 'Not implemented: you can only pass an empty JSON list',
        status: 'error',
      });
    },
  );

  it('wrong content type or null -> the PUT ValidationError shape; empty -> zero bytes; unknown set -> 404', async () => {
    const validation = {
      message: "ValidationError('Expected header: Content-type: application/json',)",
      status: 'error',
    };
    expect((await call('PUT', CARERS, { body: '[]', contentType: 'text/plain' })).json).toEqual(validation);
    expect((await call('PUT', CARERS, { body: 'null' })).json).toEqual(validation);
    expect((await call('PUT', CARERS)).json).toEqual({
      message: 'Expected JSON request body but received zero bytes.',
      status: 'error',
    });
    const unknown = await call('PUT', '/data/no-such/set', { body: '[]', auth: null });
    expect([unknown.status, unknown.json]).toEqual([
      404,
      { message: 'Could not find data_set_config', status: 'error' },
    ]);
  });
});

describe('GET, /_status and other routes', () => {
  it('GET lists what is stored, sorted by _timestamp then _id, with the same token', async () => {
    await post([
      { _id: 'b', _timestamp: '2014-01-02T00:00:00Z' },
      { _id: 'c', _timestamp: '2014-01-01T00:00:00.5Z' },
      { _id: 'a', _timestamp: '2014-01-02T00:00:00Z' },
      { _id: 'd', _timestamp: '2014-01-01T00:00:00Z' },
    ]);
    const answer = await call('GET', CARERS);
    expect(answer.status).toBe(200);
    const { data } = answer.json as { data: Array<{ _id: string }> };
    expect(data.map((record) => record._id)).toEqual(['d', 'c', 'a', 'b']);
    expect((await call('GET', CARERS, { auth: `Bearer ${TBC_TOKEN}` })).status).toBe(401);
    expect((await call('GET', '/data/no-such/set')).status).toBe(404);
  });

  it('OPTIONS answers the allowed methods, as Flask did', async () => {
    const answer = await call('OPTIONS', CARERS, { auth: null });
    expect([answer.status, answer.headers.get('allow')]).toEqual([200, 'GET, HEAD, OPTIONS, POST, PUT']);
  });

  it('/_status is up', async () => {
    const answer = await call('GET', '/_status', { auth: null });
    expect([answer.status, answer.json]).toEqual([200, { message: 'app is up', status: 'ok' }]);
  });

  it.each<[string, string]>([
    ['DELETE', CARERS],
    ['PATCH', CARERS],
    ['POST', '/_status'],
  ])('%s %s -> 405', async (method, path) => {
    const answer = await call(method, path, { body: '[]' });
    expect(answer.status).toBe(405);
    expect(answer.json).toEqual({
      message: 'The method is not allowed for the requested URL.',
      status: 'error',
    });
  });

  it.each(['/nope', `${CARERS}/`, '/data/carers-allowance', `${CARERS}/extra`, '/data/a%2Fb/c'])(
    "%s -> 404 with Werkzeug's text",
    async (path) => {
      const answer = await call('POST', path, { body: '[]' });
      expect(answer.status).toBe(404);
      expect(answer.text).toBe(
        '{\n  "message": "The requested URL was not found on the server.  If you entered the URL manually please check your spelling and try again.", \n  "status": "error"\n}',
      );
    },
  );
});

describe('faults', () => {
  it('answers a scripted status for the next matching writes, then behaves normally', async () => {
    pp.fault({ status: 503, times: 2 });
    const first = await post({ _timestamp: TS });
    expect([first.status, first.json]).toEqual([503, { message: 'Injected fault (503)', status: 'error' }]);
    expect((await post({ _timestamp: TS })).status).toBe(503);
    expect((await post({ _timestamp: TS })).status).toBe(200);
    expect(await pp.records('carers-allowance', 'transaction-count')).toHaveLength(1);
  });

  it('matches the method, sends a custom body, and leaves reads alone', async () => {
    pp.fault({ method: 'PUT', status: 502, body: '<html>Bad Gateway</html>', times: 1 });
    expect((await call('GET', CARERS)).status).toBe(200);
    expect((await post([])).status).toBe(200);
    const put = await call('PUT', CARERS, { body: '[]' });
    expect([put.status, put.text, put.headers.get('content-type')]).toEqual([
      502,
      '<html>Bad Gateway</html>',
      'text/html; charset=utf-8',
    ]);
  });

  it('delays the answer', async () => {
    pp.fault({ delayMs: 150, times: 1 });
    const started = Date.now();
    expect((await post([])).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('dropAfterStore stores the records and closes the connection unanswered; a re-run with _id does not duplicate', async () => {
    pp.fault({ dropAfterStore: true, times: 1 });
    const batch = [{ _id: 'once', _timestamp: TS, count: 1 }];
    await expect(post(batch)).rejects.toThrow();
    expect(await pp.records('carers-allowance', 'transaction-count')).toHaveLength(1);
    expect((await post(batch)).status).toBe(200);
    expect(await pp.records('carers-allowance', 'transaction-count')).toHaveLength(1);
    expect(pp.requests().map((entry) => entry.status)).toEqual([0, 200]);
  });

  it('refuses impossible rules', () => {
    expect(() => pp.fault({ status: 500, times: 0 })).toThrow(RangeError);
    expect(() => pp.fault({ status: 500, dropAfterStore: true, times: 1 })).toThrow(RangeError);
    expect(() => pp.fault({ status: 42, times: 1 })).toThrow(RangeError);
  });
});

describe('configuration and storage', () => {
  it('loads the committed sample file', () => {
    const dataSets = loadDataSetsConfig(
      join(import.meta.dirname, '../../../config/performance-platform-local.json'),
    );
    expect(dataSets.length).toBeGreaterThanOrEqual(2);
    expect(dataSets.some((dataSet) => dataSet.dataType === 'transactions-by-channel')).toBe(true);
    expect(dataSets.some((dataSet) => (dataSet.autoIds ?? []).length > 0)).toBe(true);
    for (const dataSet of dataSets) expect(dataSet).not.toHaveProperty('description');
  });

  it('reports every problem of a bad file at once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pp-config-'));
    try {
      const path = join(dir, 'bad.json');
      await writeFile(
        path,
        JSON.stringify({
          description: 'x',
          dataSets: [
            { dataGroup: 'Bad_Group', dataType: 'ok', bearerToken: '' },
            { dataGroup: 'g', dataType: 't', bearerToken: 'tok', autoIds: ['a-b'], autoId: ['typo'] },
          ],
        }),
      );
      expect(() => loadDataSetsConfig(path)).toThrow(
        /dataSets\.0\.dataGroup: .*dataSets\.0\.bearerToken: .*dataSets\.1(\.autoIds\.0: .*dataSets\.1: |: .*dataSets\.1\.autoIds\.0)/,
      );
      await writeFile(
        path,
        JSON.stringify({ dataSets: [DATA_SETS[0], { ...DATA_SETS[0], bearerToken: 'other' }] }),
      );
      expect(() => loadDataSetsConfig(path)).toThrow(/carers-allowance\/transaction-count is listed twice/);
      await writeFile(path, '{not json');
      expect(() => loadDataSetsConfig(path)).toThrow(/Cannot read Performance Platform data sets/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('answers each request latencyMs after it arrives, requests in flight waiting side by side', async () => {
    const latencyMs = 500;
    const remote = await startLocalPerformancePlatform({ dataSets: DATA_SETS, latencyMs });
    try {
      const post = (id: string) =>
        fetch(`${remote.baseUrl}${CARERS}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ _id: id, _timestamp: TS }),
        });
      const one = performance.now();
      expect((await post('one')).status).toBe(200);
      expect(performance.now() - one).toBeGreaterThanOrEqual(latencyMs - 5);
      const four = performance.now();
      const answers = await Promise.all(['a', 'b', 'c', 'd'].map(post));
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
      // One after another they would take 4 × 500 ms; side by side about 500 (a second of margin).
      expect(performance.now() - four).toBeLessThan(3 * latencyMs);
      expect((await remote.records('carers-allowance', 'transaction-count')).length).toBe(5);
    } finally {
      await remote.close();
    }
    await expect(startLocalPerformancePlatform({ dataSets: DATA_SETS, latencyMs: -1 })).rejects.toThrow(
      /latencyMs must be/,
    );
  });

  it('checks the data sets it is started with', async () => {
    await expect(startLocalPerformancePlatform({ dataSets: [] })).rejects.toThrow(/at least one data set/);
  });

  it('keeps records in a given storage directory across restarts, and leaves it in place', async () => {
    const storageDir = await mkdtemp(join(tmpdir(), 'pp-store-'));
    try {
      const first = await startLocalPerformancePlatform({ dataSets: DATA_SETS, storageDir });
      await fetch(`${first.baseUrl}${CARERS}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ _id: 'kept', _timestamp: TS }),
      });
      await first.close();
      expect((await readdir(storageDir)).length).toBeGreaterThan(0);
      const second = await startLocalPerformancePlatform({ dataSets: DATA_SETS, storageDir });
      expect(await second.records('carers-allowance', 'transaction-count')).toMatchObject([{ _id: 'kept' }]);
      await second.close();
    } finally {
      await rm(storageDir, { recursive: true, force: true });
    }
  });
});
