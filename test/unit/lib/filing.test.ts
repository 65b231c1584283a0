import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../../lib/aws-clients/s3.js';
import { DropBucket } from '../../../lib/drop-bucket.js';
import { filedOutcomeOf, fileReport, finishFiling } from '../../../lib/filing.js';
import type { OutcomeDetailType, OutcomeEvents } from '../../../lib/outcome-events.js';
import { outcomeKey } from '../../../lib/outcome-keys.js';
import { type LocalS3, localS3ClientConfig, startLocalS3 } from '../../../local/aws/s3.js';

/** Keeps what it was asked to publish. */
function recordingEvents(): OutcomeEvents & {
  sent: Array<{ detailType: OutcomeDetailType; detail: unknown }>;
} {
  const sent: Array<{ detailType: OutcomeDetailType; detail: unknown }> = [];
  return {
    sent,
    async publish(detailType, detail) {
      sent.push({ detailType, detail });
    },
  };
}

describe('fileReport on s3rver', () => {
  let s3: LocalS3;
  let client: ReturnType<typeof createS3Client>;
  let bucket: DropBucket;

  beforeAll(async () => {
    s3 = await startLocalS3({ buckets: ['b'] });
    client = createS3Client(localS3ClientConfig(s3.endpoint));
    bucket = new DropBucket(client);
  });
  afterAll(async () => s3.close());

  async function drop(key: string, body: string) {
    await client.send(new PutObjectCommand({ Bucket: 'b', Key: key, Body: body }));
    const object = await bucket.head('b', key);
    if (!object) throw new Error('not stored');
    return { etag: object.etag, droppedAt: object.lastModified };
  }

  function file(
    key: string,
    version: { etag: string; droppedAt: Date | string },
    outcome: 'processed' | 'failed' | 'unconfirmed',
    events = recordingEvents(),
  ) {
    return fileReport(
      { bucket, events },
      {
        bucket: 'b',
        sourceKey: key,
        version,
        outcome,
        detailType: 'Dataset Publish Succeeded',
        report: (keys) => ({ ...keys, outcome }),
      },
    );
  }

  it('writes the report, moves the file beside it at its stamped key, and sends the report as the event', async () => {
    const key = 'incoming/d/append/first.csv';
    const version = await drop(key, 'a,b\n1,2\n');
    const events = recordingEvents();
    const { report, moved } = await file(key, version, 'processed', events);
    const fileKey = outcomeKey(key, 'processed', version);
    expect(moved).toBe('moved');
    expect(report).toEqual({ fileKey, reportKey: `${fileKey}.report.json`, notes: [], outcome: 'processed' });
    expect(await bucket.getJson('b', `${fileKey}.report.json`)).toEqual(report);
    expect(await bucket.head('b', fileKey)).toMatchObject({ etag: version.etag });
    expect(await bucket.head('b', key)).toBeUndefined();
    expect(events.sent).toEqual([{ detailType: 'Dataset Publish Succeeded', detail: report }]);
  });

  it('names the latest earlier outcome at the same key, in any folder, and not other names or itself', async () => {
    const key = 'incoming/d/append/monthly.csv';
    const old = { etag: '11111111111111111111111111111111', droppedAt: '2026-01-01T00:00:00Z' };
    const older = { etag: '22222222222222222222222222222222', droppedAt: '2025-01-01T00:00:00Z' };
    const later = { etag: '33333333333333333333333333333333', droppedAt: '2027-01-01T00:00:00Z' };
    for (const [version, folder] of [
      [older, 'failed'],
      [old, 'unconfirmed'],
      [later, 'processed'],
    ] as const) {
      await bucket.putJson('b', `${outcomeKey(key, folder, version)}.report.json`, {});
    }
    await bucket.putJson(
      'b',
      `${outcomeKey('incoming/d/append/monthly.v2.csv', 'processed', old)}.report.json`,
      {},
    );
    const version = await drop(key, 'year\n2026\n');
    const { report } = await file(key, version, 'processed');
    expect(report.notes).toEqual([
      `A file dropped earlier at ${key} was filed as ${outcomeKey(key, 'unconfirmed', old)}; it and its report are kept.`,
    ]);
    // Filed again (a retry), it does not name itself.
    const retried = await file(key, version, 'processed');
    expect(retried.report.notes).toEqual(report.notes);
    expect(retried.moved).toBe('already-moved');
  });

  it('says so when a new file replaced this one at its key before the filing: the new one stays', async () => {
    const key = 'incoming/d/replace/replaced.csv';
    const first = await drop(key, 'v1\n');
    await drop(key, 'v2, newer\n');
    const { report, moved } = await file(key, first, 'failed');
    expect(moved).toBe('source-replaced');
    expect(report.notes).toEqual([
      expect.stringMatching(
        /^A new file was dropped at the same key .* not kept at failed\/d\/replace\/replaced\.\d{8}T\d{6}Z-[0-9a-f]{8}\.csv/,
      ),
    ]);
    expect(await bucket.head('b', key)).toBeDefined();
  });

  it('rewrites the report when the key changes hands between its look and its move', async () => {
    const key = 'incoming/d/replace/raced.csv';
    const first = await drop(key, 'v1\n');
    const racing = createS3Client(localS3ClientConfig(s3.endpoint));
    racing.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'CopyObjectCommand') {
          await client.send(new PutObjectCommand({ Bucket: 'b', Key: key, Body: 'v2, during the move\n' }));
        }
        return next(args);
      },
      { step: 'initialize', name: 'race' },
    );
    const events = recordingEvents();
    const { report, moved } = await fileReport(
      { bucket: new DropBucket(racing), events },
      {
        bucket: 'b',
        sourceKey: key,
        version: first,
        outcome: 'failed',
        detailType: 'Dataset Publish Failed',
        report: (keys) => ({ ...keys }),
      },
    );
    expect(moved).toBe('source-replaced');
    expect(report.notes).toEqual([expect.stringMatching(/^A new file was dropped at the same key/)]);
    expect(await bucket.getJson('b', report.reportKey)).toEqual(report);
    expect(events.sent.map((event) => event.detail)).toEqual([report]);
  });

  it('says so when the file was deleted before it could be filed', async () => {
    const key = 'incoming/d/replace/deleted.csv';
    const version = { etag: '44444444444444444444444444444444', droppedAt: '2026-12-05T00:00:00Z' };
    const { report, moved } = await file(key, version, 'failed');
    expect(moved).toBe('missing');
    expect(report.notes).toEqual([
      `The file was deleted from ${key} before it could be filed: only this report is kept.`,
    ]);
  });

  it('names the latest of several earlier outcomes, wherever listed', async () => {
    const key = 'incoming/d/append/several.csv';
    const stamps = [
      [{ etag: 'a1111111111111111111111111111111', droppedAt: '2026-03-01T00:00:00Z' }, 'processed'],
      [{ etag: 'a2222222222222222222222222222222', droppedAt: '2026-01-01T00:00:00Z' }, 'processed'],
      [{ etag: 'a3333333333333333333333333333333', droppedAt: '2026-02-01T00:00:00Z' }, 'failed'],
      [{ etag: 'a4444444444444444444444444444444', droppedAt: '2026-04-01T00:00:00Z' }, 'failed'],
      [{ etag: 'a5555555555555555555555555555555', droppedAt: '2026-02-15T00:00:00Z' }, 'unconfirmed'],
    ] as const;
    for (const [version, folder] of stamps) {
      await bucket.putJson('b', `${outcomeKey(key, folder, version)}.report.json`, {});
    }
    const version = await drop(key, 'year\n2027\n');
    const { report } = await file(key, version, 'processed');
    expect(report.notes).toEqual([
      `A file dropped earlier at ${key} was filed as ${outcomeKey(key, 'failed', stamps[3][0])}; it and its report are kept.`,
    ]);
  });

  it('names an earlier outcome dropped in the same second, whatever its ETag (S3 keeps no finer time)', async () => {
    const key = 'incoming/d/append/same-second.csv';
    const version = await drop(key, 'year\n2028\n');
    const sameSecond = { etag: 'ffffffffffffffffffffffffffffffff', droppedAt: version.droppedAt };
    await bucket.putJson('b', `${outcomeKey(key, 'processed', sameSecond)}.report.json`, {});
    const { report } = await file(key, version, 'processed');
    expect(report.notes).toEqual([
      `A file dropped earlier at ${key} was filed as ${outcomeKey(key, 'processed', sameSecond)}; it and its report are kept.`,
    ]);
  });

  it('says so when a new file arrived during the copy: this one is kept, the new one waits', async () => {
    const key = 'incoming/d/replace/copied.csv';
    const first = await drop(key, 'v1\n');
    const racing = createS3Client(localS3ClientConfig(s3.endpoint));
    racing.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === 'CopyObjectCommand') {
          await client.send(
            new PutObjectCommand({ Bucket: 'b', Key: key, Body: 'v2, right after the copy\n' }),
          );
        }
        return result;
      },
      { step: 'initialize', name: 'afterTheCopy' },
    );
    const filing = () =>
      fileReport(
        { bucket: new DropBucket(racing), events: recordingEvents() },
        {
          bucket: 'b',
          sourceKey: key,
          version: first,
          outcome: 'processed',
          detailType: 'Dataset Publish Succeeded',
          report: (keys) => ({ ...keys }),
        },
      );
    const { report, moved } = await filing();
    expect(moved).toBe('copied-newer-kept');
    expect(report.notes).toEqual([
      expect.stringMatching(
        /^A new file was dropped at the same key while this one was filed: it stays in incoming\//,
      ),
    ]);
    expect(await bucket.head('b', report.fileKey)).toMatchObject({ etag: first.etag });
    // Filed again (a retry), the copy is recognised as done.
    expect((await filing()).moved).toBe('copied-newer-kept');
  });

  describe('a filing begun by a run that died or lost its release', () => {
    it('is found by its version only: not by another drop at the key, nor a longer name', async () => {
      const key = 'incoming/d/append/found.csv';
      const ours = { etag: 'b1111111111111111111111111111111', droppedAt: '2026-05-01T00:00:00Z' };
      const other = { etag: 'b2222222222222222222222222222222', droppedAt: '2026-05-01T00:00:00Z' };
      expect(await filedOutcomeOf(bucket, { bucket: 'b', sourceKey: key, version: ours })).toBeUndefined();
      await bucket.putJson('b', `${outcomeKey(key, 'processed', other)}.report.json`, {});
      await bucket.putJson(
        'b',
        `${outcomeKey('incoming/d/append/found.x.csv', 'failed', ours)}.report.json`,
        {},
      );
      expect(await filedOutcomeOf(bucket, { bucket: 'b', sourceKey: key, version: ours })).toBeUndefined();
      await bucket.putJson('b', `${outcomeKey(key, 'unconfirmed', ours)}.report.json`, {});
      expect(await filedOutcomeOf(bucket, { bucket: 'b', sourceKey: key, version: ours })).toEqual({
        fileKey: outcomeKey(key, 'unconfirmed', ours),
        outcome: 'unconfirmed',
        stamp: outcomeKey(key, 'unconfirmed', ours).split('.').at(-2),
      });
    });

    it('is finished from its report: the file moved beside it, the same report sent as the event', async () => {
      const key = 'incoming/d/append/half.csv';
      const version = await drop(key, 'year\n2029\n');
      const fileKey = outcomeKey(key, 'failed', version);
      const written = { outcome: 'failed', notes: ['A file dropped earlier at … was filed as ….'] };
      await bucket.putJson('b', `${fileKey}.report.json`, written);
      const events = recordingEvents();
      const finish = () =>
        finishFiling(
          { bucket, events },
          { bucket: 'b', sourceKey: key, version, detailType: 'Dataset Publish Failed' },
          { fileKey, report: written },
        );
      expect(await finish()).toEqual({ report: written, moved: 'moved' });
      expect(await bucket.head('b', fileKey)).toMatchObject({ etag: version.etag });
      expect(await bucket.head('b', key)).toBeUndefined();
      // Finished again (the release failed once more): nothing changes but one more event.
      expect(await finish()).toEqual({ report: written, moved: 'already-moved' });
      expect(await bucket.getJson('b', `${fileKey}.report.json`)).toEqual(written);
      expect(events.sent).toEqual([
        { detailType: 'Dataset Publish Failed', detail: written },
        { detailType: 'Dataset Publish Failed', detail: written },
      ]);
    });

    it('notes what its move met once, though finished twice', async () => {
      const key = 'incoming/d/replace/gone.csv';
      const version = { etag: 'c1111111111111111111111111111111', droppedAt: '2026-06-01T00:00:00Z' };
      const fileKey = outcomeKey(key, 'processed', version);
      const finish = async (report: { notes: string[] }) =>
        (
          await finishFiling(
            { bucket, events: recordingEvents() },
            { bucket: 'b', sourceKey: key, version, detailType: 'Dataset Publish Succeeded' },
            { fileKey, report },
          )
        ).report;
      const once = await finish({ notes: [] });
      expect(once.notes).toEqual([
        `The file was deleted from ${key} before it could be filed: only this report is kept.`,
      ]);
      expect(await bucket.getJson('b', `${fileKey}.report.json`)).toEqual(once);
      expect((await finish(once)).notes).toEqual(once.notes);
    });
  });
});
