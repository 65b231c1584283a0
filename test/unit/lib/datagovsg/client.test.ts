import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DataGovSgClient } from '../../../../lib/datagovsg/client.js';
import {
  DgsAuthError,
  DgsNotFoundError,
  DgsResponseError,
  DgsTransientError,
  UploadUrlNotAllowedError,
} from '../../../../lib/errors.js';
import {
  type LocalDataGovSg,
  SAMPLE_DATASETS,
  startLocalDataGovSg,
} from '../../../../local/datagovsg/server.js';

const KEY = 'unit-test-key-3f9a';
const DATASET = SAMPLE_DATASETS[0]?.datasetId ?? '';
const UNKNOWN = 'd_00000000000000000000000000000000';

describe('DataGovSgClient against the local data.gov.sg', () => {
  let server: LocalDataGovSg;
  let sleeps: number[];

  beforeAll(async () => {
    server = await startLocalDataGovSg({ apiKeys: [KEY], datasets: SAMPLE_DATASETS });
  });
  afterAll(async () => server.close());
  beforeEach(() => {
    sleeps = [];
    server.options.envelope = 'bare';
  });

  function client(overrides: Partial<ConstructorParameters<typeof DataGovSgClient>[0]> = {}) {
    return new DataGovSgClient({
      baseUrl: server.baseUrl,
      apiKey: async () => KEY,
      allowedUploadOrigins: [server.uploadOrigin],
      timeoutMs: 2_000,
      retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1_000 },
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      ...overrides,
    });
  }

  it.each(['bare', 'wrapped'] as const)('reads %s envelopes', async (envelope) => {
    server.options.envelope = envelope;
    expect(await client().whoami()).toEqual({ userId: '167', email: expect.any(String) });
    expect((await client().uploadLink(DATASET)).url.origin).toBe(server.uploadOrigin);
    expect(await client().ingestionStatus(DATASET)).toMatchObject({
      status: expect.any(String),
      version: expect.any(Number),
    });
  });

  it('retries a 429 and a 503 with backoff, then succeeds', async () => {
    server.fault({ endpoint: 'ingestion-status', status: 429, times: 1 });
    server.fault({ endpoint: 'ingestion-status', status: 503, times: 1 });
    expect((await client().ingestionStatus(DATASET)).status).toBeDefined();
    expect(sleeps).toHaveLength(2);
    expect(sleeps.every((ms) => ms >= 0 && ms <= 1_000)).toBe(true);
  });

  it('gives up after the bounded attempts with a typed transient error', async () => {
    server.fault({ endpoint: 'upload-link', status: 500, times: 3 });
    const error = await client()
      .uploadLink(DATASET)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DgsTransientError);
    expect(error).toMatchObject({ kind: 'server', status: 500 });
  });

  it('times out a slow answer as a transient timeout', async () => {
    server.fault({ endpoint: 'ingestion-status', delayMs: 500, times: 1 });
    const error = await client({ timeoutMs: 100, retry: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 } })
      .ingestionStatus(DATASET)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'DgsTransientError', kind: 'timeout' });
  });

  it('reports an unreachable server as a network error', async () => {
    const error = await client({
      baseUrl: 'http://127.0.0.1:1',
      retry: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
    })
      .whoami()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'DgsTransientError', kind: 'network' });
  });

  it('never retries a refused key and never puts the key in the error', async () => {
    const wrong = 'wrong-key-should-not-leak';
    const error = await client({ apiKey: async () => wrong })
      .whoami()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DgsAuthError);
    expect(sleeps).toEqual([]);
    expect(String((error as Error).message)).not.toContain(wrong);
  });

  it('maps 404 to DgsNotFoundError and the metadata endpoint’s code 1 too', async () => {
    await expect(client().ingestionStatus(UNKNOWN)).rejects.toBeInstanceOf(DgsNotFoundError);
    await expect(client().metadata(UNKNOWN)).rejects.toBeInstanceOf(DgsNotFoundError);
  });

  it('treats a 200 answer with a non-zero code as an error', async () => {
    server.fault({
      endpoint: 'whoami',
      status: 200,
      body: '{"code":17,"data":null,"errorMsg":"quota"}',
      times: 1,
    });
    await expect(client().whoami()).rejects.toThrow(DgsResponseError);
  });

  it('reads column metadata in order without the internal columns', async () => {
    const metadata = await client().metadata(DATASET);
    expect(metadata.columns.map((column) => [column.name, column.dataType])).toEqual(
      SAMPLE_DATASETS[0]?.columns.map((column) => [column.name, column.dataType]),
    );
  });

  it('sends the md5 with append-link and refuses links off the allowed list', async () => {
    await client().appendLink(DATASET, 'FkXeisMYBP6UpdSiY8kOsA==');
    expect(server.requests().at(-1)?.path).toContain('md5=FkXeisMYBP6UpdSiY8kOsA%3D%3D');
    await expect(
      client({ allowedUploadOrigins: ['https://s3.ap-southeast-1.amazonaws.com'] }).uploadLink(DATASET),
    ).rejects.toThrow(UploadUrlNotAllowedError);
  });
});
