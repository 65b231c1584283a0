import { createHash } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCAL_PRINCIPAL_ID } from '../../local/aws/s3.js';
import { SAMPLE_DATASETS, startLocalDataGovSg } from '../../local/datagovsg/server.js';
import type { LocalPipeline } from '../../local/pipeline.js';
import {
  crashedInvocations,
  EXPENDITURE,
  filedAt,
  outcomeOf,
  POPULATION,
  POPULATION_CSV,
  startFastPipeline,
  TRANSACTIONS,
} from './support.js';

let pipeline: LocalPipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

describe('publishing a dropped CSV', () => {
  it('replaces a dataset through upload-link and files a full report and event', async () => {
    // Prepare
    pipeline = await startFastPipeline();
    const key = `incoming/${POPULATION.alias}/replace/2023 population.csv`;
    // Act
    await pipeline.drop(key, POPULATION_CSV);
    await pipeline.whenIdle();
    // Assess
    const [fileKey, reportKey, ...more] = await pipeline.keys('');
    expect(fileKey).toMatch(filedAt(key, 'processed'));
    expect([reportKey, ...more]).toEqual([`${fileKey}.report.json`]);
    const report = await outcomeOf(pipeline, key);
    expect(report).toMatchObject({
      outcome: 'published',
      datasetId: POPULATION.id,
      datasetRef: POPULATION.alias,
      mode: 'replace',
      sourceKey: key,
      size: POPULATION_CSV.length,
      uploads: 1,
      finalStatus: 'Ingestion Success',
      failures: null,
      error: null,
    });
    const [upload] = pipeline.dataGovSg?.uploads(POPULATION.id) ?? [];
    expect(upload).toMatchObject({ mode: 'replace', bytes: POPULATION_CSV.length, contentType: 'text/csv' });
    expect(report.md5).toBe(upload?.md5Hex);
    expect(report.statuses.at(-1)).toMatchObject({ status: 'INGESTION_SUCCESS', ofThisUpload: true });
    for (const time of Object.values(report.times)) expect(Date.parse(time ?? '')).not.toBeNaN();
    // Every time in a report is ISO 8601, data.gov.sg's too.
    const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
    for (const seen of report.statuses) {
      for (const time of [seen.updatedAt, seen.firstSeenAt, seen.lastSeenAt]) expect(time).toMatch(ISO);
    }
    expect(report.reportVersion).toBe(5);
    // Who put it, as its S3 event named them; nobody asked through the API.
    expect(report).toMatchObject({ droppedBy: LOCAL_PRINCIPAL_ID, requestedBy: null, notes: [] });
    const [event] = pipeline.eventBridge.events();
    expect(event).toMatchObject({ source: 'govpub', detailType: 'Dataset Publish Succeeded' });
    expect(event?.detail).toEqual(report);
    expect(await pipeline.lock.get(POPULATION.id)).toBeUndefined();
    expect(crashedInvocations(pipeline)).toEqual([]);
  });

  it('appends through append-link with the md5 parameter and a signed Content-MD5', async () => {
    pipeline = await startFastPipeline({ dataGovSg: { signedHeaders: ['host', 'content-md5'] } });
    const key = `incoming/${EXPENDITURE.id}/append/fy2024.csv`;
    const body = 'financial_year,ministry,expenditure_sgd_million\n2024,MOF,1200.5\n';
    await pipeline.drop(key, body);
    await pipeline.whenIdle();
    const report = await outcomeOf(pipeline, key);
    expect(report).toMatchObject({ outcome: 'published', mode: 'append', datasetRef: EXPENDITURE.id });
    const [upload] = pipeline.dataGovSg?.uploads(EXPENDITURE.id) ?? [];
    expect(upload?.mode).toBe('append');
    expect(upload?.headers['content-md5']).toBe(upload?.md5Base64);
    const linkRequest = pipeline.dataGovSg
      ?.requests()
      .find((request) => request.path.includes('/append-link'));
    expect(linkRequest?.path).toContain(`md5=${encodeURIComponent(upload?.md5Base64 ?? '')}`);
  });

  it('appends a file uploaded in parts (as the AWS CLI puts one over 8 MiB) with its real MD5, read from the object', async () => {
    pipeline = await startFastPipeline({ dataGovSg: { signedHeaders: ['host', 'content-md5'] } });
    const key = `incoming/${EXPENDITURE.id}/append/in-parts.csv`;
    // S3's smallest part is 5 MiB (but the last): a long first row, then a second part.
    const header = 'financial_year,ministry,expenditure_sgd_million\n';
    const first = `${header}${'2024,MOF,1.5\n'.repeat(Math.ceil((5 * 1024 * 1024) / 13))}`;
    const parts = [Buffer.from(first), Buffer.from('2024,MOH,2.5\n')];
    const { UploadId } = await pipeline.s3.send(
      new CreateMultipartUploadCommand({ Bucket: pipeline.bucket, Key: key, ContentType: 'text/csv' }),
    );
    const uploaded = [];
    for (const [index, body] of parts.entries()) {
      const part = await pipeline.s3.send(
        new UploadPartCommand({
          Bucket: pipeline.bucket,
          Key: key,
          UploadId,
          PartNumber: index + 1,
          Body: body,
        }),
      );
      uploaded.push({ ETag: part.ETag ?? '', PartNumber: index + 1 });
    }
    await pipeline.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: pipeline.bucket,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: uploaded },
      }),
    );
    await pipeline.whenIdle();
    const report = await outcomeOf(pipeline, key);
    const md5 = createHash('md5').update(Buffer.concat(parts));
    expect(report).toMatchObject({ outcome: 'published', mode: 'append', md5: md5.copy().digest('hex') });
    const [upload] = pipeline.dataGovSg?.uploads(EXPENDITURE.id) ?? [];
    expect(upload?.headers['content-md5']).toBe(md5.digest('base64'));
  });

  it.each([
    {
      name: 'wrapped envelopes and UPPER_SNAKE statuses',
      envelope: 'wrapped',
      statusSpelling: 'upper-snake',
      staleFirstPolls: 0,
    },
    {
      name: 'bare envelopes and legend statuses',
      envelope: 'bare',
      statusSpelling: 'legend',
      staleFirstPolls: 0,
    },
    {
      name: 'a status that shows the previous upload first',
      envelope: 'bare',
      statusSpelling: 'legend',
      staleFirstPolls: 3,
    },
    {
      name: 'content-type signed into the URL',
      envelope: 'wrapped',
      statusSpelling: 'legend',
      staleFirstPolls: 1,
      signedHeaders: ['host', 'content-type'],
    },
  ] as const)('publishes with $name', async ({ envelope, statusSpelling, staleFirstPolls, ...rest }) => {
    const signedHeaders = 'signedHeaders' in rest ? rest.signedHeaders : undefined;
    pipeline = await startFastPipeline({
      dataGovSg: {
        envelope,
        statusSpelling,
        staleFirstPolls,
        ...(signedHeaders ? { signedHeaders: [...signedHeaders] } : {}),
      },
    });
    const key = `incoming/${POPULATION.id}/replace/a.csv`;
    // A first publication leaves a terminal status behind, which a stale first poll shows again.
    await pipeline.drop(key, POPULATION_CSV);
    await pipeline.whenIdle();
    await pipeline.drop(`incoming/${POPULATION.id}/replace/b.csv`, POPULATION_CSV);
    await pipeline.whenIdle();
    const second = await outcomeOf(pipeline, `incoming/${POPULATION.id}/replace/b.csv`);
    expect(second.outcome).toBe('published');
    expect(pipeline.dataGovSg?.uploads(POPULATION.id)).toHaveLength(2);
    if (staleFirstPolls > 0) {
      expect(second.statuses[0]).toMatchObject({ status: 'INGESTION_SUCCESS', ofThisUpload: false });
    }
    expect(second.statuses.at(-1)).toMatchObject({ status: 'INGESTION_SUCCESS', ofThisUpload: true });
  });
});

describe('one upload at a time per dataset, in key order', () => {
  it('publishes files dropped together one after the other, in key order', async () => {
    pipeline = await startFastPipeline();
    const keys = ['c', 'a', 'b'].map((name) => `incoming/${POPULATION.alias}/append/${name}.csv`);
    await Promise.all(keys.map((key, index) => pipeline?.drop(key, `${POPULATION_CSV}2024,x,${index}\n`)));
    await pipeline.whenIdle();
    const reports = await Promise.all(
      [...keys].sort().map((key) => outcomeOf(pipeline as LocalPipeline, key)),
    );
    expect(reports.map((report) => report.outcome)).toEqual(['published', 'published', 'published']);
    const uploads = pipeline.dataGovSg?.uploads(POPULATION.id) ?? [];
    expect(uploads.map((upload) => upload.md5Hex)).toEqual(reports.map((report) => report.md5));
    for (let i = 1; i < reports.length; i++) {
      const previousFiled = Date.parse(reports[i - 1]?.times.finishedAt ?? '');
      expect(Date.parse(reports[i]?.times.uploadStartedAt ?? '')).toBeGreaterThanOrEqual(previousFiled);
    }
    // data.gov.sg fails a second upload while one is in progress: none was.
    expect(reports.every((report) => report.statuses.every((s) => s.status !== 'INGESTION_FAILED'))).toBe(
      true,
    );
  });

  it('lets different datasets proceed at the same time', async () => {
    pipeline = await startFastPipeline({ dataGovSg: { stepDelayMs: 60 } });
    await Promise.all([
      pipeline.drop(`incoming/${POPULATION.alias}/replace/p.csv`, POPULATION_CSV),
      pipeline.drop(
        `incoming/${TRANSACTIONS.alias}/replace/t.csv`,
        'month,service,transactions,digital_share_pct\n2024-01,passport,1200,87.5\n',
      ),
    ]);
    await pipeline.whenIdle();
    const [p, t] = await Promise.all([
      outcomeOf(pipeline, `incoming/${POPULATION.alias}/replace/p.csv`),
      outcomeOf(pipeline, `incoming/${TRANSACTIONS.alias}/replace/t.csv`),
    ]);
    expect([p.outcome, t.outcome]).toEqual(['published', 'published']);
    // Each ingestion takes several 60 ms steps; overlapping windows show they ran side by side.
    expect(Date.parse(t.times.uploadStartedAt ?? '')).toBeLessThan(Date.parse(p.times.finishedAt));
    expect(Date.parse(p.times.uploadStartedAt ?? '')).toBeLessThan(Date.parse(t.times.finishedAt));
  });

  it('never uploads twice for duplicate and late events', async () => {
    pipeline = await startFastPipeline({ dataGovSg: { stepDelayMs: 30 } });
    const key = `incoming/${POPULATION.alias}/replace/dup.csv`;
    await pipeline.drop(key, POPULATION_CSV);
    await Promise.all([pipeline.redeliver(key), pipeline.redeliver(key), pipeline.redeliver(key)]);
    await pipeline.whenIdle();
    await pipeline.redeliver(key);
    await pipeline.whenIdle();
    expect(pipeline.dataGovSg?.uploads(POPULATION.id)).toHaveLength(1);
    expect((await outcomeOf(pipeline, key)).outcome).toBe('published');
    expect(pipeline.eventBridge.events()).toHaveLength(1);
    expect(crashedInvocations(pipeline)).toEqual([]);
  });
});

describe('a file dropped again at the same key', () => {
  it('publishes both versions in turn, each filed with a report of its own, and never files the new one as the old one', async () => {
    pipeline = await startFastPipeline({ dataGovSg: { stepDelayMs: 40 } });
    const key = `incoming/${POPULATION.alias}/replace/same-name.csv`;
    const first = `${POPULATION_CSV}2024,female,1\n`;
    const second = `${POPULATION_CSV}2024,female,2\n`;
    await pipeline.drop(key, first);
    // Wait until the first version is with data.gov.sg, then drop the corrected one.
    for (let i = 0; i < 100 && (pipeline.dataGovSg?.uploads(POPULATION.id).length ?? 0) === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await pipeline.drop(key, second);
    await pipeline.whenIdle();
    const uploads = pipeline.dataGovSg?.uploads(POPULATION.id) ?? [];
    expect(uploads.map((upload) => upload.bytes)).toEqual([first.length, second.length]);
    const [earlier, later] = await pipeline.outcomes(key);
    expect(earlier).toMatchObject({ outcome: 'published', size: first.length });
    expect(later).toMatchObject({ outcome: 'published', size: second.length });
    expect(earlier?.fileKey).toMatch(filedAt(key, 'processed'));
    expect(later?.fileKey).toMatch(filedAt(key, 'processed'));
    // The second version replaced the first in incoming/: only its own bytes are filed, at its own key.
    const filed = await pipeline.s3.send(
      new GetObjectCommand({ Bucket: pipeline.bucket, Key: later?.fileKey ?? '' }),
    );
    expect(await filed.Body?.transformToString()).toBe(second);
    expect(await pipeline.keys('')).not.toContain(earlier?.fileKey);
    expect(await pipeline.keys('incoming/')).toEqual([]);
    expect(earlier?.notes).toEqual([
      expect.stringMatching(/A new file was dropped at the same key.*not kept at/),
    ]);
    expect(later?.notes).toEqual([
      `A file dropped earlier at ${key} was filed as ${earlier?.fileKey}; it and its report are kept.`,
    ]);
    expect(pipeline.eventBridge.events().map((event) => (event.detail as { notes: string[] }).notes)).toEqual(
      [earlier?.notes, later?.notes],
    );
  });

  it('keeps every outcome of three drops at one key, each later report naming the one before (issue 12, 3)', async () => {
    pipeline = await startFastPipeline();
    pipeline.dataGovSg?.script(POPULATION.id, ['success', 'validation-failed', 'success']);
    const key = `incoming/${POPULATION.alias}/append/monthly.csv`;
    for (const month of [1, 2, 3]) {
      await pipeline.drop(key, `${POPULATION_CSV}2024,female,${month}\n`);
      await pipeline.whenIdle();
      // S3 keeps LastModified to the second: a drop a second later is a version of its own even
      // by its stamp's time, as drops a person makes are.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    const reports = await pipeline.outcomes(key);
    expect(reports.map((report) => report.outcome)).toEqual(['published', 'failed', 'published']);
    expect(new Set(reports.map((report) => report.fileKey)).size).toBe(3);
    expect(reports.map((report) => report.notes)).toEqual([
      [],
      [`A file dropped earlier at ${key} was filed as ${reports[0]?.fileKey}; it and its report are kept.`],
      [`A file dropped earlier at ${key} was filed as ${reports[1]?.fileKey}; it and its report are kept.`],
    ]);
    const kept = await pipeline.keys('');
    for (const report of reports)
      expect(kept).toEqual(expect.arrayContaining([report.fileKey, report.reportKey]));
    expect(kept).toHaveLength(6);
  });
});

describe('an external data.gov.sg', () => {
  it('publishes to the data.gov.sg given by DGS_API_BASE_URL and DGS_API_KEY instead of the embedded one', async () => {
    const external = await startLocalDataGovSg({
      apiKeys: ['external-key'],
      datasets: SAMPLE_DATASETS,
      stepDelayMs: 10,
    });
    try {
      pipeline = await startFastPipeline({
        env: {
          DGS_API_BASE_URL: external.baseUrl,
          DGS_API_KEY: 'external-key',
          UPLOAD_ALLOWED_ORIGINS: external.uploadOrigin,
        },
      });
      expect(pipeline.dataGovSg).toBeUndefined();
      const key = `incoming/${POPULATION.alias}/replace/external.csv`;
      await pipeline.drop(key, POPULATION_CSV);
      await pipeline.whenIdle();
      expect((await outcomeOf(pipeline, key)).outcome).toBe('published');
      expect(external.uploads(POPULATION.id)).toHaveLength(1);
    } finally {
      await pipeline?.close();
      pipeline = undefined;
      await external.close();
    }
  });
});
