import { afterEach, describe, expect, it } from 'vitest';
import type { LocalPipeline } from '../../local/pipeline.js';
import {
  crashedInvocations,
  filedAt,
  outcomeOf,
  POPULATION,
  POPULATION_CSV,
  startFastPipeline,
} from './support.js';

let pipeline: LocalPipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

function puts(p: LocalPipeline): number {
  return p.dataGovSg?.requests().filter((request) => request.method === 'PUT').length ?? 0;
}

describe('when data.gov.sg rejects or fails an upload', () => {
  it('files Validation Failed in failed/ with the failures verbatim and never re-uploads', async () => {
    pipeline = await startFastPipeline();
    pipeline.dataGovSg?.script(POPULATION.id, ['validation-failed']);
    const key = `incoming/${POPULATION.alias}/append/bad rows.csv`;
    await pipeline.drop(key, POPULATION_CSV);
    await pipeline.whenIdle();
    const report = await outcomeOf(pipeline, key);
    expect(report.fileKey).toMatch(filedAt(key, 'failed'));
    expect(report).toMatchObject({ outcome: 'failed', uploads: 1, finalStatus: 'Validation Failed' });
    expect(report.error?.code).toBe('DGS_VALIDATION_FAILED');
    expect(report.error?.message).toMatch(/Fix the data.*admin dashboard/);
    expect(report.failures).toEqual(pipeline.dataGovSg?.statusOf(POPULATION.id).failures);
    expect(report.failures).not.toBeNull();
    expect(pipeline.dataGovSg?.uploads(POPULATION.id)).toHaveLength(1);
    expect(pipeline.eventBridge.events().map((event) => event.detailType)).toEqual([
      'Dataset Publish Failed',
    ]);
    expect(await pipeline.keys('incoming/')).toEqual([]);
  });

  it('re-uploads after Ingestion Failed and publishes when the next attempt succeeds', async () => {
    pipeline = await startFastPipeline();
    pipeline.dataGovSg?.script(POPULATION.id, ['ingestion-failed', 'success']);
    const key = `incoming/${POPULATION.alias}/replace/retry.csv`;
    await pipeline.drop(key, POPULATION_CSV);
    await pipeline.whenIdle();
    const report = await outcomeOf(pipeline, key);
    expect(report).toMatchObject({ outcome: 'published', uploads: 2, finalStatus: 'Ingestion Success' });
    const ended = report.statuses.filter((status) => status.ofThisUpload).map((status) => status.status);
    expect(ended).toContain('INGESTION_FAILED');
    expect(ended.at(-1)).toBe('INGESTION_SUCCESS');
    expect(pipeline.dataGovSg?.uploads(POPULATION.id)).toHaveLength(2);
  });

  it('gives up after the bounded number of re-uploads with an actionable report', async () => {
    pipeline = await startFastPipeline({ env: { REUPLOAD_MAX_ATTEMPTS: '1' } });
    pipeline.dataGovSg?.script(POPULATION.id, ['ingestion-failed', 'ingestion-failed', 'success']);
    const key = `incoming/${POPULATION.alias}/replace/flaky.csv`;
    await pipeline.drop(key, POPULATION_CSV);
    await pipeline.whenIdle();
    const report = await outcomeOf(pipeline, key);
    expect(report).toMatchObject({ outcome: 'failed', uploads: 2 });
    expect(report.error).toMatchObject({ code: 'DGS_INGESTION_FAILED' });
    expect(report.error?.message).toMatch(/2 time\(s\).*Drop the file again later/);
  });

  it('stops polling at the deadline and says the upload may still complete', async () => {
    pipeline = await startFastPipeline({
      env: { POLL_DEADLINE_SECONDS: '1' },
      dataGovSg: { stepDelayMs: 5_000 },
    });
    const key = `incoming/${POPULATION.alias}/replace/slow.csv`;
    await pipeline.drop(key, POPULATION_CSV);
    await pipeline.whenIdle();
    const report = await outcomeOf(pipeline, key);
    expect(report.error?.code).toBe('INGESTION_TIMEOUT');
    expect(report.error?.message).toMatch(/may still complete/);
    expect(report.statuses.at(-1)).toMatchObject({ status: 'PENDING', ofThisUpload: true });
    expect(await pipeline.lock.get(POPULATION.id)).toBeUndefined();
  });

  it('asks for a new link when the presigned URL has expired, and uploads once', async () => {
    pipeline = await startFastPipeline();
    pipeline.dataGovSg?.fault({
      endpoint: 'put',
      status: 403,
      body: '<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>',
      times: 1,
    });
    const key = `incoming/${POPULATION.alias}/replace/late.csv`;
    await pipeline.drop(key, POPULATION_CSV);
    await pipeline.whenIdle();
    expect((await outcomeOf(pipeline, key)).outcome).toBe('published');
    expect(pipeline.dataGovSg?.uploads(POPULATION.id)).toHaveLength(1);
    expect(pipeline.dataGovSg?.requests().filter((r) => r.path.includes('/upload-link'))).toHaveLength(2);
  });

  it('does not retry a BadDigest rejection and names it in the report', async () => {
    pipeline = await startFastPipeline();
    pipeline.dataGovSg?.fault({
      endpoint: 'put',
      status: 400,
      body: '<Error><Code>BadDigest</Code><Message>The Content-MD5 you specified did not match what we received.</Message></Error>',
      times: 1,
    });
    const key = `incoming/${POPULATION.alias}/replace/digest.csv`;
    await pipeline.drop(key, POPULATION_CSV);
    await pipeline.whenIdle();
    const report = await outcomeOf(pipeline, key);
    expect(report.error?.code).toBe('UPLOAD_REJECTED');
    expect(report.error?.message).toMatch(/BadDigest/);
    expect(puts(pipeline)).toBe(1);
  });

  it('refuses to send a file to an upload URL off the allowed list', async () => {
    pipeline = await startFastPipeline({
      env: { UPLOAD_ALLOWED_ORIGINS: 'https://s3.ap-southeast-1.amazonaws.com' },
    });
    const key = `incoming/${POPULATION.alias}/replace/elsewhere.csv`;
    await pipeline.drop(key, POPULATION_CSV);
    await pipeline.whenIdle();
    const report = await outcomeOf(pipeline, key);
    expect(report.error?.code).toBe('UPLOAD_URL_NOT_ALLOWED');
    expect(puts(pipeline)).toBe(0);
    expect(JSON.stringify(report)).not.toMatch(/X-Amz-Signature=[0-9a-f]{64}/);
  });
});

describe('bad input ends in failed/ with a report naming the problem', () => {
  it.each([
    ['a key outside the layout', 'incoming/loose.csv', 'KEY_LAYOUT', /incoming\/<datasetId or alias>/],
    ['an unknown alias', 'incoming/no-such-alias/replace/a.csv', 'UNKNOWN_ALIAS', /config\/datasets.json/],
    ['a malformed datasetId', 'incoming/d_12345/replace/a.csv', 'BAD_DATASET_ID', /32 lower-case hex/],
    [
      'a mode other than replace or append',
      `incoming/${POPULATION.alias}/upsert/a.csv`,
      'BAD_MODE',
      /"replace" or "append"/,
    ],
    ['a file that is not CSV', `incoming/${POPULATION.alias}/replace/a.xlsx`, 'NOT_CSV', /Only \.csv/],
  ])('rejects %s', async (_, key, code, message) => {
    pipeline = await startFastPipeline();
    await pipeline.drop(key, POPULATION_CSV);
    await pipeline.whenIdle();
    const [failedKey, reportKey, ...more] = await pipeline.keys('');
    expect(failedKey).toMatch(filedAt(key, 'failed'));
    expect([reportKey, ...more]).toEqual([`${failedKey}.report.json`]);
    const report = await pipeline.report(failedKey ?? '');
    expect(report).toMatchObject({ outcome: 'failed', sourceKey: key, error: { code } });
    expect(report?.error?.message).toMatch(message);
    expect(pipeline.dataGovSg?.requests()).toEqual([]);
    expect(crashedInvocations(pipeline)).toEqual([]);
  });

  it('rejects an empty file and a file over the size limit without contacting data.gov.sg', async () => {
    pipeline = await startFastPipeline({ env: { MAX_FILE_BYTES: '40' } });
    await pipeline.drop(`incoming/${POPULATION.alias}/replace/empty.csv`, '');
    await pipeline.drop(
      `incoming/${POPULATION.alias}/replace/huge.csv`,
      `${POPULATION_CSV}${'9'.repeat(50)}\n`,
    );
    await pipeline.whenIdle();
    const empty = await outcomeOf(pipeline, `incoming/${POPULATION.alias}/replace/empty.csv`);
    const huge = await outcomeOf(pipeline, `incoming/${POPULATION.alias}/replace/huge.csv`);
    expect(empty.error?.code).toBe('EMPTY_FILE');
    expect(huge.error?.code).toBe('TOO_LARGE');
    expect(huge.error?.message).toMatch(/Split it into several files/);
    expect(pipeline.dataGovSg?.requests()).toEqual([]);
  });

  it.each([401, 403] as const)(
    'files a %s from data.gov.sg as a key problem, without retries',
    async (status) => {
      pipeline = await startFastPipeline({
        env: { DGS_API_KEY: 'expired-key' },
        dataGovSg: { authFailureStatus: status },
      });
      const first = `incoming/${POPULATION.alias}/replace/a.csv`;
      const second = `incoming/${POPULATION.alias}/replace/b.csv`;
      await pipeline.drop(first, POPULATION_CSV);
      await pipeline.whenIdle();
      await pipeline.drop(second, POPULATION_CSV);
      await pipeline.whenIdle();
      const report = await outcomeOf(pipeline, first);
      expect(report.error?.code).toBe('DGS_AUTH');
      expect(report.error?.message).toMatch(new RegExp(`refused the API key.*HTTP ${status}.*regenerate`));
      expect(JSON.stringify(report)).not.toContain('expired-key');
      // One refused request per file: a bad key is never retried.
      expect(
        pipeline.dataGovSg?.requests().filter((request) => request.path.startsWith('/v2/admin/')),
      ).toHaveLength(2);
    },
  );

  it('files a 404 as a wrong or unmanaged dataset', async () => {
    pipeline = await startFastPipeline();
    const key = 'incoming/d_00000000000000000000000000000000/replace/a.csv';
    await pipeline.drop(key, POPULATION_CSV);
    await pipeline.whenIdle();
    const report = await outcomeOf(pipeline, key);
    expect(report.error?.code).toBe('DGS_NOT_FOUND');
    expect(report.error?.message).toMatch(/datasetId in the dataset's URL/);
  });
});

describe('when data.gov.sg or the connection fails for a while', () => {
  it('leaves the file waiting, not failed, while data.gov.sg answers 503, and publishes it later', async () => {
    pipeline = await startFastPipeline({ env: { DGS_MAX_ATTEMPTS: '2', SWEEP_MIN_AGE_SECONDS: '0' } });
    pipeline.dataGovSg?.fault({ endpoint: 'upload-link', status: 503, times: 2 });
    const key = `incoming/${POPULATION.alias}/replace/outage.csv`;
    await pipeline.drop(key, POPULATION_CSV);
    await pipeline.whenIdle();
    expect(await pipeline.keys('incoming/')).toEqual([key]);
    expect(await pipeline.keys('failed/')).toEqual([]);
    await pipeline.sweep();
    await pipeline.whenIdle();
    expect((await outcomeOf(pipeline, key)).outcome).toBe('published');
  });

  it('fails a file that could not be sent for longer than MAX_WAIT_SECONDS', async () => {
    pipeline = await startFastPipeline({ env: { DGS_MAX_ATTEMPTS: '1', MAX_WAIT_SECONDS: '1' } });
    pipeline.dataGovSg?.fault({ endpoint: 'ingestion-status', status: 503, times: 5 });
    const key = `incoming/${POPULATION.alias}/replace/long-outage.csv`;
    await pipeline.drop(key, POPULATION_CSV);
    await pipeline.whenIdle();
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    await pipeline.redeliver(key);
    await pipeline.whenIdle();
    const report = await outcomeOf(pipeline, key);
    expect(report.error?.code).toBe('DGS_UNAVAILABLE');
    expect(report.error?.message).toMatch(/HTTP 503.*Drop the file again later/);
  });

  it('sends the file again with a new link when the connection resets half way through the PUT', async () => {
    pipeline = await startFastPipeline();
    const body = `${POPULATION_CSV}${'2024,female,1234567\n'.repeat(100_000)}`;
    pipeline.dataGovSg?.fault({ endpoint: 'put', resetAfterBytes: Math.floor(body.length / 2), times: 1 });
    const key = `incoming/${POPULATION.alias}/replace/reset.csv`;
    await pipeline.drop(key, body);
    await pipeline.whenIdle();
    expect((await outcomeOf(pipeline, key)).outcome).toBe('published');
    expect(pipeline.dataGovSg?.uploads(POPULATION.id).map((upload) => upload.bytes)).toEqual([body.length]);
    expect(pipeline.dataGovSg?.requests().filter((r) => r.path.includes('/upload-link'))).toHaveLength(2);
  });
});
