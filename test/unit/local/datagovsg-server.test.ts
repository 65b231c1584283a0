import { createHash, type Hash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type LocalDataGovSg,
  type LocalDataGovSgOptions,
  SAMPLE_DATASETS,
  startLocalDataGovSg,
} from '../../../local/datagovsg/server.js';

const API_KEY = 'local-test-key-5f0c2e';
const TERMINAL = new Set([
  'Validation Failed',
  'Ingestion Failed',
  'Ingestion Success',
  'VALIDATION_FAILED',
  'INGESTION_FAILED',
  'INGESTION_SUCCESS',
]);
const MIB = 1024 * 1024;
const CSV = 'year,sex,population\n2023,M,2000000\n2023,F,2100000\n';

interface StatusBody {
  version: number;
  userId: number;
  updatedAt: number;
  status: string;
  failures: unknown;
}

interface RawResponse {
  status: number;
  text: string;
}

let server: LocalDataGovSg | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

function datasetId(index = 0): string {
  const dataset = SAMPLE_DATASETS[index];
  if (!dataset) throw new Error(`no sample dataset ${index}`);
  return dataset.datasetId;
}

async function start(overrides: Partial<LocalDataGovSgOptions> = {}): Promise<LocalDataGovSg> {
  server = await startLocalDataGovSg({
    apiKeys: [API_KEY],
    datasets: SAMPLE_DATASETS,
    stepDelayMs: 5,
    ...overrides,
  });
  return server;
}

async function getJson(
  local: LocalDataGovSg,
  path: string,
  key: string | null = API_KEY,
): Promise<{ status: number; body: unknown; contentType: string | null }> {
  const response = await fetch(`${local.baseUrl}${path}`, {
    headers: key === null ? {} : { 'x-dgs-admin-api-key': key },
  });
  return {
    status: response.status,
    body: await response.json(),
    contentType: response.headers.get('content-type'),
  };
}

function unwrap<T>(body: unknown): T {
  const wrapped = body as { data?: T };
  return wrapped.data ?? (body as T);
}

async function linkFor(
  local: LocalDataGovSg,
  mode: 'upload' | 'append' = 'upload',
  md5?: string,
): Promise<string> {
  const query = md5 === undefined ? '' : `?md5=${encodeURIComponent(md5)}`;
  const { status, body } = await getJson(local, `/v2/admin/api/datasets/${datasetId()}/${mode}-link${query}`);
  expect(status).toBe(201);
  return unwrap<{ url: string }>(body).url;
}

async function readStatus(local: LocalDataGovSg, id = datasetId()): Promise<StatusBody> {
  const { body } = await getJson(local, `/v2/admin/api/datasets/${id}/ingestion-status`);
  return unwrap<StatusBody>(body);
}

async function put(
  url: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<RawResponse & { etag: string | null }> {
  // A Buffer body keeps fetch from adding a Content-Type of its own.
  const response = await fetch(url, { method: 'PUT', body: Buffer.from(body), headers });
  return { status: response.status, text: await response.text(), etag: response.headers.get('etag') };
}

type GcFunction = (options?: { type: 'minor' | 'major' }) => void;

function exposeMinorGc(): () => void {
  let gc = (globalThis as { gc?: GcFunction }).gc;
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as GcFunction;
  }
  const collect = gc;
  return () => collect({ type: 'minor' });
}

interface Pause {
  atBytes: number;
  until: () => Promise<void>;
}

async function* csvChunks(totalBytes: number, md5: Hash, pause?: Pause): AsyncGenerator<Buffer> {
  const chunk = Buffer.alloc(64 * 1024, '2023,M,2000000\n');
  let pending = pause;
  for (let sent = 0; sent < totalBytes; sent += chunk.length) {
    if (pending && sent >= pending.atBytes) {
      await pending.until();
      pending = undefined;
    }
    const part = chunk.subarray(0, Math.min(chunk.length, totalBytes - sent));
    md5.update(part);
    yield part;
  }
}

/** A streamed PUT with an exact Content-Length, as a client uploading a large file sends it. */
function putStream(url: string, totalBytes: number, md5: Hash, pause?: Pause): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers = { 'content-length': String(totalBytes) };
    const request = httpRequest(url, { method: 'PUT', headers }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    pipeline(Readable.from(csvChunks(totalBytes, md5, pause)), request).catch(reject);
  });
}

async function partialBytesOnDisk(directory: string): Promise<number> {
  const names = (await readdir(directory)).filter((name) => name.endsWith('.part'));
  const sizes = await Promise.all(names.map(async (name) => (await stat(join(directory, name))).size));
  return sizes.reduce((total, size) => total + size, 0);
}

function md5Base64(text: string): string {
  return createHash('md5').update(text).digest('base64');
}

function s3Code(xml: string): string | undefined {
  return /<Code>([^<]+)<\/Code>/.exec(xml)?.[1];
}

/** A PUT over node:http, where the framing headers are under the test's control. */
function rawPut(url: string, framing: 'chunked' | 'no-length', chunks: string[]): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: 'PUT' }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
    });
    request.on('error', reject);
    if (framing === 'no-length') {
      request.removeHeader('content-length');
      request.removeHeader('transfer-encoding');
    }
    for (const chunk of chunks) request.write(chunk);
    request.end();
  });
}

/** Sends part of a declared body, then drops the connection. */
function abortedPut(url: string, declaredBytes: number, sentBytes: number): Promise<void> {
  return new Promise((resolve) => {
    const request = httpRequest(url, { method: 'PUT', headers: { 'content-length': String(declaredBytes) } });
    request.on('error', () => resolve());
    request.on('close', () => resolve());
    request.write(Buffer.alloc(sentBytes, 0x61), () => setTimeout(() => request.destroy(), 30));
  });
}

async function pollUntilTerminal(
  local: LocalDataGovSg,
  afterVersion: number,
  id = datasetId(),
): Promise<StatusBody[]> {
  const seen: StatusBody[] = [];
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    const status = await readStatus(local, id);
    if (seen.at(-1)?.version !== status.version) seen.push(status);
    if (status.version > afterVersion && TERMINAL.has(status.status)) return seen;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  throw new Error(`no terminal status after version ${afterVersion}: ${JSON.stringify(seen)}`);
}

async function uploadAndSettle(local: LocalDataGovSg): Promise<StatusBody> {
  const before = local.statusOf(datasetId()).version;
  expect((await put(await linkFor(local), CSV)).status).toBe(200);
  const seen = await pollUntilTerminal(local, before);
  const last = seen.at(-1);
  if (!last) throw new Error('no status seen');
  return last;
}

describe('local data.gov.sg admin API', () => {
  it('answers 401 with a JSON error when the API key is missing or unknown', async () => {
    // Prepare
    const local = await start();

    // Act
    const missing = await getJson(local, '/v2/admin/api/auth/whoami', null);
    const unknown = await getJson(local, '/v2/admin/api/auth/whoami', 'not-a-key-abc');

    // Assess
    expect(missing.status).toBe(401);
    expect(missing.contentType).toContain('application/json');
    expect(unknown.status).toBe(401);
    expect(JSON.stringify(unknown.body)).not.toContain('not-a-key-abc');
    expect(JSON.stringify(local.requests())).not.toContain('not-a-key-abc');
  });

  it('answers the configured auth failure status when authFailureStatus is 403', async () => {
    // Prepare
    const local = await start({ authFailureStatus: 403 });

    // Act
    const response = await getJson(local, `/v2/admin/api/datasets/${datasetId()}/upload-link`, 'wrong');

    // Assess
    expect(response.status).toBe(403);
  });

  it('answers whoami bare by default and wrapped when envelope is wrapped', async () => {
    // Prepare
    const local = await start();
    const user = { user: { userId: '167', email: 'local-admin@example.gov.sg' } };

    // Act
    const bare = await getJson(local, '/v2/admin/api/auth/whoami');
    local.options.envelope = 'wrapped';
    const wrapped = await getJson(local, '/v2/admin/api/auth/whoami');

    // Assess
    expect(bare).toMatchObject({ status: 200, body: user });
    expect(wrapped).toMatchObject({ status: 200, body: { code: 0, data: user, errorMsg: '' } });
  });

  it('answers 404 JSON for an unknown dataset on every admin dataset endpoint', async () => {
    // Prepare
    const local = await start({ envelope: 'wrapped' });
    const unknownId = `d_${'0'.repeat(32)}`;

    // Act
    const responses = await Promise.all(
      ['upload-link', 'append-link', 'ingestion-status'].map((endpoint) =>
        getJson(local, `/v2/admin/api/datasets/${unknownId}/${endpoint}`),
      ),
    );

    // Assess
    for (const response of responses) {
      expect(response.status).toBe(404);
      expect(response.body).toMatchObject({ data: null, errorMsg: 'Dataset not found' });
    }
  });

  it('reports NA at version 0 before any upload, in both envelopes and spellings', async () => {
    // Prepare
    const local = await start();

    // Act
    const bare = await getJson(local, `/v2/admin/api/datasets/${datasetId()}/ingestion-status`);
    Object.assign(local.options, { envelope: 'wrapped', statusSpelling: 'upper-snake' });
    const wrapped = await getJson(local, `/v2/admin/api/datasets/${datasetId()}/ingestion-status`);

    // Assess
    const expected = { version: 0, userId: 1, updatedAt: expect.any(Number), status: 'NA', failures: null };
    expect(bare.body).toEqual(expected);
    expect(wrapped.body).toEqual({ code: 0, data: expected, errorMsg: '' });
  });

  it('issues an S3-shaped presigned url with 201 for upload-link and append-link', async () => {
    // Prepare
    const clock = Date.UTC(2024, 5, 20, 5, 38, 10, 500);
    const local = await start({ now: () => clock });
    const pattern = new RegExp(
      `^${local.uploadOrigin}/attachments\\.data\\.gov\\.sg/c/6047/private/(d_[0-9a-f]{32})/[A-Za-z0-9_-]+/\\1\\.csv` +
        '\\?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Content-Sha256=UNSIGNED-PAYLOAD' +
        '&X-Amz-Credential=ASIA[A-Z2-7]{16}%2F20240620%2Fap-southeast-1%2Fs3%2Faws4_request' +
        '&X-Amz-Date=20240620T053810Z&X-Amz-Expires=3600&X-Amz-Security-Token=[A-Za-z0-9%]+' +
        '&X-Amz-Signature=[0-9a-f]{64}&X-Amz-SignedHeaders=host&x-id=PutObject$',
    );

    // Act
    const upload = await linkFor(local, 'upload');
    const append = await linkFor(local, 'append', md5Base64(CSV));

    // Assess
    expect(upload).toMatch(pattern);
    expect(append).toMatch(pattern);
    expect(upload).toContain(datasetId());
    expect(upload).not.toBe(append);
  });

  it('signs the configured headers, sorted, and the configured expiry', async () => {
    // Prepare
    const local = await start({ signedHeaders: ['content-type', 'content-md5'], linkTtlSeconds: 600 });

    // Act
    const url = new URL(await linkFor(local));

    // Assess
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('content-md5;content-type;host');
    expect(url.search).toContain('X-Amz-SignedHeaders=content-md5%3Bcontent-type%3Bhost');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('600');
  });

  it('answers a wrapped link when envelope is wrapped', async () => {
    // Prepare
    const local = await start({ envelope: 'wrapped' });

    // Act
    const { status, body } = await getJson(local, `/v2/admin/api/datasets/${datasetId()}/upload-link`);

    // Assess
    expect(status).toBe(201);
    expect(body).toMatchObject({
      code: 0,
      data: { url: expect.stringContaining('X-Amz-Signature=') },
      errorMsg: '',
    });
  });
});

describe('local data.gov.sg presigned PUT target', () => {
  it('stores the body on disk, answers 200 with the md5 ETag and records the upload when the PUT is valid', async () => {
    // Prepare
    const local = await start();
    const url = await linkFor(local);

    // Act
    const response = await put(url, CSV, { 'content-type': 'text/csv', 'x-dgs-admin-api-key': API_KEY });

    // Assess
    const md5Hex = createHash('md5').update(CSV).digest('hex');
    expect(response).toMatchObject({ status: 200, etag: `"${md5Hex}"` });
    const [upload] = local.uploads(datasetId());
    expect(upload).toMatchObject({
      datasetId: datasetId(),
      mode: 'replace',
      bytes: Buffer.byteLength(CSV),
      md5Hex,
      md5Base64: md5Base64(CSV),
      contentType: 'text/csv',
    });
    expect(await readFile(upload?.path ?? '', 'utf8')).toBe(CSV);
    expect(upload?.headers['content-type']).toBe('text/csv');
    expect(upload?.headers).not.toHaveProperty('x-dgs-admin-api-key');
    expect(JSON.stringify(local.uploads())).not.toContain(API_KEY);
  });

  it('redacts signature, token and credential in the request log', async () => {
    // Prepare
    const local = await start();
    const url = new URL(await linkFor(local));

    // Act
    await put(url.href, CSV);

    // Assess
    const entry = local.requests().find((request) => request.method === 'PUT');
    expect(entry).toMatchObject({ status: 200, path: expect.stringContaining('X-Amz-Signature=REDACTED') });
    expect(entry?.path).toContain('X-Amz-Security-Token=REDACTED');
    expect(entry?.path).toContain('X-Amz-Credential=REDACTED');
    expect(entry?.path).not.toContain(url.searchParams.get('X-Amz-Signature'));
  });

  it('answers 403 SignatureDoesNotMatch when the signature or another signed parameter was altered', async () => {
    // Prepare
    const local = await start();
    const url = await linkFor(local);
    const badSignature = url.replace(
      /(X-Amz-Signature=[0-9a-f]{63})([0-9a-f])/,
      (_match, head: string, last: string) => `${head}${last === '0' ? '1' : '0'}`,
    );
    const longerExpiry = url.replace('X-Amz-Expires=3600', 'X-Amz-Expires=7200');

    // Act
    const responses = [await put(badSignature, CSV), await put(longerExpiry, CSV)];

    // Assess
    for (const response of responses) {
      expect(response.status).toBe(403);
      expect(s3Code(response.text)).toBe('SignatureDoesNotMatch');
    }
    expect(local.uploads()).toHaveLength(0);
  });

  it('answers 403 AccessDenied "Request has expired" when the link is older than its expiry', async () => {
    // Prepare
    let clock = Date.now();
    const local = await start({ now: () => clock, linkTtlSeconds: 60 });
    const url = await linkFor(local);
    clock += 61_000;

    // Act
    const response = await put(url, CSV);

    // Assess
    expect(response.status).toBe(403);
    expect(s3Code(response.text)).toBe('AccessDenied');
    expect(response.text).toContain('Request has expired');
  });

  it('answers 501 NotImplemented when the body is sent chunked', async () => {
    // Prepare
    const local = await start();
    const url = await linkFor(local);

    // Act
    const response = await rawPut(url, 'chunked', ['year,sex\n', '2023,M\n']);

    // Assess
    expect(response.status).toBe(501);
    expect(s3Code(response.text)).toBe('NotImplemented');
    expect(local.uploads()).toHaveLength(0);
  });

  it('answers 411 MissingContentLength when neither Content-Length nor chunked framing is sent', async () => {
    // Prepare
    const local = await start();
    const url = await linkFor(local);

    // Act
    const response = await rawPut(url, 'no-length', []);

    // Assess
    expect(response.status).toBe(411);
    expect(s3Code(response.text)).toBe('MissingContentLength');
  });

  it('answers 403 SignatureDoesNotMatch when a signed header is missing from the request', async () => {
    // Prepare
    const local = await start({ signedHeaders: ['content-type', 'content-md5'] });
    const noContentType = await linkFor(local);
    const noContentMd5 = await linkFor(local);

    // Act
    const withoutType = await put(noContentType, CSV, { 'content-md5': md5Base64(CSV) });
    const withoutMd5 = await put(noContentMd5, CSV, { 'content-type': 'text/csv' });

    // Assess
    expect([withoutType.status, s3Code(withoutType.text)]).toEqual([403, 'SignatureDoesNotMatch']);
    expect([withoutMd5.status, s3Code(withoutMd5.text)]).toEqual([403, 'SignatureDoesNotMatch']);
  });

  it('accepts the upload when every signed header is sent', async () => {
    // Prepare
    const local = await start({ signedHeaders: ['content-type', 'content-md5'] });
    const url = await linkFor(local);

    // Act
    const response = await put(url, CSV, { 'content-type': 'text/csv', 'content-md5': md5Base64(CSV) });

    // Assess
    expect(response.status).toBe(200);
  });

  it('answers 403 AccessDenied when Content-MD5 or an x-amz header is sent but not signed', async () => {
    // Prepare
    const local = await start();
    const first = await linkFor(local);
    const second = await linkFor(local);

    // Act
    const withMd5 = await put(first, CSV, { 'content-md5': md5Base64(CSV) });
    const withChecksum = await put(second, CSV, { 'x-amz-checksum-crc32': 'AAAAAA==' });

    // Assess
    for (const response of [withMd5, withChecksum]) {
      expect(response.status).toBe(403);
      expect(s3Code(response.text)).toBe('AccessDenied');
      expect(response.text).toContain('There were headers present in the request which were not signed');
    }
  });

  it('accepts an unsigned Content-Type', async () => {
    // Prepare
    const local = await start();
    const url = await linkFor(local);

    // Act
    const response = await put(url, CSV, { 'content-type': 'text/csv' });

    // Assess
    expect(response.status).toBe(200);
    expect(local.uploads()[0]?.contentType).toBe('text/csv');
  });

  it('answers 400 BadDigest when the body does not match the Content-MD5 header', async () => {
    // Prepare
    const local = await start({ signedHeaders: ['content-md5'] });
    const url = await linkFor(local);

    // Act
    const response = await put(url, CSV, { 'content-md5': md5Base64('something else') });

    // Assess
    expect(response.status).toBe(400);
    expect(s3Code(response.text)).toBe('BadDigest');
    expect(local.uploads()).toHaveLength(0);
    expect(local.statusOf(datasetId()).version).toBe(0);
  });

  it('answers 400 BadDigest when the body does not match the md5 the append-link was created with', async () => {
    // Prepare
    const local = await start();
    const mismatched = await linkFor(local, 'append', md5Base64('other rows'));
    const matching = await linkFor(local, 'append', md5Base64(CSV));

    // Act
    const rejected = await put(mismatched, CSV);
    const accepted = await put(matching, CSV);

    // Assess
    expect([rejected.status, s3Code(rejected.text)]).toEqual([400, 'BadDigest']);
    expect(accepted.status).toBe(200);
    expect(local.uploads().map((upload) => upload.mode)).toEqual(['append']);
  });

  it('answers 405 when the link is used with another method than PUT', async () => {
    // Prepare
    const local = await start();
    const url = await linkFor(local);

    // Act
    const response = await fetch(url);

    // Assess
    expect(response.status).toBe(405);
    expect(s3Code(await response.text())).toBe('MethodNotAllowed');
  });

  it('answers 403 AccessDenied when a link is used a second time', async () => {
    // Prepare
    const local = await start();
    const url = await linkFor(local);
    await put(url, CSV);

    // Act
    const second = await put(url, CSV);

    // Assess
    expect([second.status, s3Code(second.text)]).toEqual([403, 'AccessDenied']);
    expect(local.uploads()).toHaveLength(1);
  });

  it('stores nothing and starts no ingestion when the client aborts mid-body, leaving the link usable', async () => {
    // Prepare
    const local = await start();
    const url = await linkFor(local);

    // Act
    await abortedPut(url, 10_000, 4_000);
    const directory = join(local.options.storageDir ?? '', datasetId());
    await vi.waitFor(async () => expect(await readdir(directory)).toEqual([]));
    const afterAbort = { uploads: local.uploads().length, version: local.statusOf(datasetId()).version };
    const retry = await put(url, CSV);

    // Assess
    expect(afterAbort).toEqual({ uploads: 0, version: 0 });
    expect(retry.status).toBe(200);
    expect(local.uploads()).toHaveLength(1);
    expect(local.requests().filter((request) => request.method === 'PUT')[0]?.status).toBe(0);
  });

  it('streams a 64 MiB body to disk as it arrives, growing resident memory by less than 40 MB', async () => {
    // Prepare
    const local = await start({ stepDelayMs: 1_000 });
    const directory = join(local.options.storageDir ?? '', datasetId());
    const minorGc = exposeMinorGc();
    await putStream(await linkFor(local), 8 * MIB, createHash('md5'));
    const totalBytes = 64 * MIB;
    const expectedMd5 = createHash('md5');
    const url = await linkFor(local);
    minorGc();
    const baseline = process.memoryUsage();
    const peak = { rss: baseline.rss, arrayBuffers: baseline.arrayBuffers };
    // Young-generation collections keep socket buffers that are already garbage out of the measurement.
    const sampler = setInterval(() => {
      minorGc();
      const usage = process.memoryUsage();
      peak.rss = Math.max(peak.rss, usage.rss);
      peak.arrayBuffers = Math.max(peak.arrayBuffers, usage.arrayBuffers);
    }, 5);

    // Act
    let bytesOnDiskMidway = 0;
    const status = await putStream(url, totalBytes, expectedMd5, {
      atBytes: 32 * MIB,
      until: async () => {
        await vi.waitFor(
          async () => expect(await partialBytesOnDisk(directory)).toBeGreaterThanOrEqual(32 * MIB),
          {
            timeout: 3_000,
          },
        );
        bytesOnDiskMidway = await partialBytesOnDisk(directory);
      },
    }).finally(() => clearInterval(sampler));

    // Assess
    expect(status).toBe(200);
    expect(bytesOnDiskMidway).toBe(32 * MIB);
    expect(local.uploads()[1]).toMatchObject({ bytes: totalBytes, md5Hex: expectedMd5.digest('hex') });
    expect(peak.rss - baseline.rss).toBeLessThan(40 * MIB);
    // rss alone can hide retained buffers in memory the allocator already held; buffer bytes cannot.
    expect(peak.arrayBuffers - baseline.arrayBuffers).toBeLessThan(24 * MIB);
  });
});

describe('local data.gov.sg ingestion status', () => {
  it('steps through every legend status with increasing versions after an upload', async () => {
    // Prepare
    const local = await start({ stepDelayMs: 40 });

    // Act
    await put(await linkFor(local), CSV);
    const seen = await pollUntilTerminal(local, 0);

    // Assess
    expect(seen.map((status) => status.status)).toEqual([
      'Pending',
      'Pending Validation',
      'Validation Passed',
      'Pending Ingestion',
      'Ingestion Success',
    ]);
    expect(seen.map((status) => status.version)).toEqual([1, 2, 3, 4, 5]);
    const updates = seen.map((status) => status.updatedAt);
    expect(updates).toEqual([...updates].sort((a, b) => a - b));
    expect(seen.every((status) => status.failures === null)).toBe(true);
  });

  it('spells statuses in UPPER_SNAKE when statusSpelling is upper-snake', async () => {
    // Prepare
    const local = await start({ stepDelayMs: 40, statusSpelling: 'upper-snake' });

    // Act
    await put(await linkFor(local), CSV);
    const seen = await pollUntilTerminal(local, 0);

    // Assess
    expect(seen.map((status) => status.status)).toEqual([
      'PENDING',
      'PENDING_VALIDATION',
      'VALIDATION_PASSED',
      'PENDING_INGESTION',
      'INGESTION_SUCCESS',
    ]);
    expect(local.statusOf(datasetId()).status).toBe('INGESTION_SUCCESS');
  });

  it('follows the scripted outcomes in order, then defaults to success', async () => {
    // Prepare
    const local = await start({ stepDelayMs: 1 });
    local.script(datasetId(), ['validation-failed', 'ingestion-failed']);

    // Act
    const first = await uploadAndSettle(local);
    const second = await uploadAndSettle(local);
    const third = await uploadAndSettle(local);

    // Assess
    expect(first).toMatchObject({ status: 'Validation Failed', version: 3 });
    expect(first.failures).toEqual([{ row: 2, column: 'year', message: 'Invalid value' }]);
    expect(second).toMatchObject({ status: 'Ingestion Failed', version: 8, failures: null });
    expect(third).toMatchObject({ status: 'Ingestion Success', version: 13, failures: null });
  });

  it('answers the previous status for the first staleFirstPolls reads after an upload', async () => {
    // Prepare
    const local = await start({ stepDelayMs: 1 });
    const previous = await uploadAndSettle(local);
    Object.assign(local.options, { staleFirstPolls: 2, stepDelayMs: 5_000 });

    // Act
    await put(await linkFor(local), CSV);
    const reads = [await readStatus(local), await readStatus(local), await readStatus(local)];

    // Assess
    expect(reads[0]).toEqual(previous);
    expect(reads[1]).toEqual(previous);
    expect(reads[2]).toMatchObject({ status: 'Pending', version: previous.version + 1 });
    expect(local.statusOf(datasetId())).toMatchObject({ status: 'Pending', version: previous.version + 1 });
  });

  it('ends in Ingestion Failed when a second upload arrives during an ingestion in fail-ingestion mode', async () => {
    // Prepare
    const local = await start({ stepDelayMs: 20 });
    const firstLink = await linkFor(local);
    const secondLink = await linkFor(local);

    // Act
    const first = await put(firstLink, CSV);
    const second = await put(secondLink, CSV);
    const seen = await pollUntilTerminal(local, 0);

    // Assess
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(seen.at(-1)).toMatchObject({ status: 'Ingestion Failed', version: 5 });
    expect(local.uploads()).toHaveLength(2);
  });

  it('refuses a link with 409 during an ingestion in refuse-link mode, and issues one afterwards', async () => {
    // Prepare
    const local = await start({ stepDelayMs: 10, concurrentUpload: 'refuse-link' });
    await put(await linkFor(local), CSV);

    // Act
    const during = await getJson(local, `/v2/admin/api/datasets/${datasetId()}/upload-link`);
    await pollUntilTerminal(local, 0);
    const after = await getJson(local, `/v2/admin/api/datasets/${datasetId()}/append-link`);

    // Assess
    expect(during.status).toBe(409);
    expect(during.contentType).toContain('application/json');
    expect(after.status).toBe(201);
  });

  it('stops its timers on close while an ingestion is in progress', async () => {
    // Prepare
    const local = await start({ stepDelayMs: 60_000 });
    await put(await linkFor(local), CSV);

    // Act
    const started = Date.now();
    await local.close();

    // Assess
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(local.statusOf(datasetId()).status).toBe('Pending');
  });
});

describe('local data.gov.sg public metadata', () => {
  it('answers wrapped column metadata including the internal columns without an API key', async () => {
    // Prepare
    const local = await start({ envelope: 'bare' });

    // Act
    const { status, body } = await getJson(local, `/v2/public/api/datasets/${datasetId()}/metadata`, null);

    // Assess
    expect(status).toBe(200);
    expect(body).toMatchObject({ code: 0, errorMsg: '', data: { datasetId: datasetId() } });
    const meta = unwrap<{
      columnMetadata: {
        order: string[];
        map: Record<string, string>;
        metaMapping: Record<string, { name: string; dataType: string }>;
      };
    }>(body).columnMetadata;
    expect(meta.order).toEqual(expect.arrayContaining(['_id', '_full_text']));
    expect(meta.order.map((id) => meta.map[id])).toEqual(['_id', 'year', 'sex', 'population', '_full_text']);
    const year = Object.values(meta.metaMapping).find((column) => column.name === 'year');
    expect(year).toMatchObject({ columnTitle: 'Year', dataType: 'NUMERIC', index: '1' });
  });

  it('answers HTTP 200 with code 1 when the dataset is unknown', async () => {
    // Prepare
    const local = await start();

    // Act
    const response = await getJson(local, `/v2/public/api/datasets/d_${'f'.repeat(32)}/metadata`, null);

    // Assess
    expect(response).toMatchObject({
      status: 200,
      body: { code: 1, data: null, errorMsg: 'Dataset not found' },
    });
  });

  it('offers three sample datasets with valid ids', () => {
    // Assess
    expect(SAMPLE_DATASETS).toHaveLength(3);
    for (const dataset of SAMPLE_DATASETS) expect(dataset.datasetId).toMatch(/^d_[0-9a-f]{32}$/);
  });
});

describe('local data.gov.sg faults', () => {
  it('answers the scripted status and body for the next `times` requests, then behaves normally', async () => {
    // Prepare
    const local = await start();
    local.fault({ endpoint: 'whoami', status: 503, body: '{"message":"busy"}', times: 2 });

    // Act
    const statuses: number[] = [];
    const bodies: string[] = [];
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const response = await fetch(`${local.baseUrl}/v2/admin/api/auth/whoami`, {
        headers: { 'x-dgs-admin-api-key': API_KEY },
      });
      statuses.push(response.status);
      bodies.push(await response.text());
    }

    // Assess
    expect(statuses).toEqual([503, 503, 200]);
    expect(bodies[0]).toBe('{"message":"busy"}');
  });

  it('consumes faults per endpoint in the order they were added', async () => {
    // Prepare
    const local = await start();
    local.fault({ endpoint: 'upload-link', status: 500, times: 1 });
    local.fault({
      endpoint: 'metadata',
      status: 429,
      body: '{"code":24,"errorMsg":"Too many requests"}',
      times: 1,
    });
    local.fault({ endpoint: 'upload-link', status: 502, times: 1 });

    // Act
    const links = [
      await getJson(local, `/v2/admin/api/datasets/${datasetId()}/upload-link`),
      await getJson(local, `/v2/admin/api/datasets/${datasetId()}/upload-link`),
      await getJson(local, `/v2/admin/api/datasets/${datasetId()}/upload-link`),
    ];
    const metadata = await getJson(local, `/v2/public/api/datasets/${datasetId()}/metadata`, null);

    // Assess
    expect(links.map((response) => response.status)).toEqual([500, 502, 201]);
    expect(metadata).toMatchObject({ status: 429, body: { code: 24 } });
  });

  it('delays the answer by delayMs and then answers normally', async () => {
    // Prepare
    const local = await start();
    local.fault({ endpoint: 'ingestion-status', delayMs: 150, times: 1 });

    // Act
    const started = Date.now();
    const status = await readStatus(local);

    // Assess
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(status).toMatchObject({ status: 'NA', version: 0 });
  });

  it('answers a scripted status on the presigned PUT without storing anything', async () => {
    // Prepare
    const local = await start();
    local.fault({ endpoint: 'put', status: 503, times: 1 });
    const url = await linkFor(local);

    // Act
    const failed = await put(url, CSV);
    const retried = await put(url, CSV);

    // Assess
    expect(failed.status).toBe(503);
    expect(failed.text).toContain('<Error>');
    expect(retried.status).toBe(200);
    expect(local.uploads()).toHaveLength(1);
  });

  it('resets the connection after resetAfterBytes body bytes and stores nothing', async () => {
    // Prepare
    const local = await start();
    local.fault({ endpoint: 'put', resetAfterBytes: 1024, times: 1 });
    const url = await linkFor(local);
    const body = 'x'.repeat(256 * 1024);

    // Act
    const reset = await put(url, body).catch((error: unknown) => error);
    const retried = await put(url, body);

    // Assess
    expect(reset).toBeInstanceOf(Error);
    expect(retried.status).toBe(200);
    expect(local.uploads()).toHaveLength(1);
    expect(local.statusOf(datasetId()).version).toBeGreaterThanOrEqual(1);
  });

  it('stops reading after stallAfterBytes, never answers, records where it stalled, and stores nothing', async () => {
    // Prepare
    const local = await start();
    local.fault({ endpoint: 'put', stallAfterBytes: 64 * 1024, times: 1 });
    const url = await linkFor(local);
    const body = 'x'.repeat(8 * 1024 * 1024);

    // Act
    const stalled = await fetch(url, {
      method: 'PUT',
      body: Buffer.from(body),
      signal: AbortSignal.timeout(500),
    }).catch((error: unknown) => error);
    const retried = await put(url, 'year\n2024\n');

    // Assess
    expect((stalled as Error).name).toBe('TimeoutError');
    const [first] = local.requests().filter((request) => request.method === 'PUT');
    expect(first?.status).toBe(0);
    expect(first?.stalledAtBytes).toBeGreaterThanOrEqual(64 * 1024);
    expect(first?.stalledAtBytes).toBeLessThan(body.length);
    expect(retried.status).toBe(200);
    expect(local.uploads()).toHaveLength(1);
  });

  it('refuses byte-level faults on endpoints other than the PUT', async () => {
    const local = await start();
    expect(() => local.fault({ endpoint: 'upload-link', stallAfterBytes: 1, times: 1 })).toThrow(
      /put endpoint only/,
    );
    expect(() => local.fault({ endpoint: 'whoami', resetAfterBytes: 1, times: 1 })).toThrow(
      /put endpoint only/,
    );
  });
});
