import { createHash } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  paginateListObjectsV2,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DropBucket } from '../../../lib/drop-bucket.js';
import {
  encodeS3EventKey,
  type LocalS3,
  localS3ClientConfig,
  type S3EventRecordLike,
  startLocalS3,
  toS3Event,
} from '../../../local/aws/s3.js';

const BUCKET = 'drops';

/** How a Lambda handler decodes the key of an S3 notification. */
function decodeEventKey(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '));
}

describe('startLocalS3', () => {
  let s3: LocalS3;
  let client: S3Client;
  const records: S3EventRecordLike[] = [];

  beforeAll(async () => {
    s3 = await startLocalS3({ buckets: [BUCKET] });
    s3.onObjectCreated((record) => records.push(record));
    client = new S3Client(localS3ClientConfig(s3.endpoint));
  });

  afterAll(async () => {
    client.destroy();
    await s3.close();
  });

  it('listens on 127.0.0.1 only', () => {
    expect(s3.endpoint).toBe(`http://127.0.0.1:${s3.port}`);
  });

  it('stores, lists and returns objects when used through the real S3 client', async () => {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'plain/one.csv', Body: 'a,b\n1,2\n' }));

    const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'plain/' }));
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'plain/one.csv' }));

    expect(listed.Contents?.map((object) => object.Key)).toEqual(['plain/one.csv']);
    expect(await got.Body?.transformToString()).toBe('a,b\n1,2\n');
  });

  it('writes objects atomically: reads during overwrites see one whole version, with its own ETag', async () => {
    const key = 'atomic/same-key.csv';
    const versions = Array.from({ length: 6 }, (_, i) => `${String(i).repeat(200_000)}\n`);
    const md5 = (text: string) => createHash('md5').update(text).digest('hex');
    const known = new Map(versions.map((body) => [md5(body), body]));
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: versions[0] }));
    const seen: string[] = [];
    const reads = async () => {
      for (let i = 0; i < 25; i++) {
        const [got, listed] = await Promise.all([
          client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key })),
          client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'atomic/' })),
        ]);
        const body = (await got.Body?.transformToString()) ?? '';
        const etag = (got.ETag ?? '').replaceAll('"', '');
        seen.push(etag);
        // The bytes are one version, and the ETag is that version's.
        expect(known.get(etag)).toBe(body);
        const entry = listed.Contents?.find((object) => object.Key === key);
        expect(known.get((entry?.ETag ?? '').replaceAll('"', ''))?.length).toBe(entry?.Size);
      }
    };
    await Promise.all([
      reads(),
      reads(),
      (async () => {
        for (const body of versions.slice(1)) {
          await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
        }
      })(),
    ]);
    expect(new Set(seen).size).toBeGreaterThan(1);
  });

  it("gives an object uploaded in parts S3's ETag (MD5 of the parts' MD5s, -parts), not its MD5, so the pipeline hashes it", async () => {
    const parts = [Buffer.alloc(5 * 1024 * 1024, 'a'), Buffer.from('year,count\n2024,1\n')];
    const key = 'incoming/in-parts.csv';
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    const etags: string[] = [];
    for (const [index, body] of parts.entries()) {
      const part = await client.send(
        new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: index + 1, Body: body }),
      );
      etags.push(part.ETag ?? '');
    }
    const md5 = (data: Buffer) => createHash('md5').update(data).digest();
    const expected = `${createHash('md5')
      .update(Buffer.concat(parts.map(md5)))
      .digest('hex')}-2`;
    const done = await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: etags.map((ETag, index) => ({ ETag, PartNumber: index + 1 })) },
      }),
    );
    expect(done.ETag).toBe(`"${expected}"`);
    expect((await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).ETag).toBe(
      `"${expected}"`,
    );
    expect(records.find((record) => decodeEventKey(record.s3.object.key) === key)?.s3.object.eTag).toBe(
      expected,
    );
    // The pipeline cannot take this ETag for the MD5: it reads the object and gets the real one.
    const bucket = new DropBucket(client);
    const object = await bucket.head(BUCKET, key);
    expect(object && bucket.md5NeedsRead(object)).toBe(true);
    expect((await bucket.md5(object as NonNullable<typeof object>)).hex).toBe(
      md5(Buffer.concat(parts)).toString('hex'),
    );
  });

  it('lists more than 1 000 keys page by page, with a continuation token, as S3 does', async () => {
    const keys = Array.from({ length: 1_005 }, (_, index) => `many/${String(index).padStart(4, '0')}.csv`);
    for (let start = 0; start < keys.length; start += 50) {
      await Promise.all(
        keys
          .slice(start, start + 50)
          .map((Key) => client.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: 'x' }))),
      );
    }
    const pages: number[] = [];
    const listed: string[] = [];
    for await (const page of paginateListObjectsV2({ client }, { Bucket: BUCKET, Prefix: 'many/' })) {
      pages.push(page.Contents?.length ?? 0);
      listed.push(...(page.Contents ?? []).map((object) => object.Key ?? ''));
    }
    expect(pages).toEqual([1_000, 5]);
    expect(listed).toEqual(keys);
  });

  it('lists a key only once its first upload has ended', async () => {
    const key = 'atomic/new-key.csv';
    const body = 'x'.repeat(5_000_000);
    const put = client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
    for (let i = 0; i < 20; i++) {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: key }));
      for (const object of listed.Contents ?? []) expect(object.Size).toBe(body.length);
    }
    await put;
  });

  it('emits a Lambda-shaped record with the key URL-encoded as S3 does when an object is put', async () => {
    const key = 'incoming/a b/c+d é.csv';
    records.length = 0;

    const put = await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'hello' }));

    expect(records).toHaveLength(1);
    const [record] = records;
    expect(record).toMatchObject({
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'ap-southeast-1',
      eventName: 'ObjectCreated:Put',
      s3: {
        s3SchemaVersion: '1.0',
        bucket: { name: BUCKET, arn: `arn:aws:s3:::${BUCKET}` },
        object: { key: 'incoming/a+b/c%2Bd+%C3%A9.csv', size: 5, eTag: put.ETag?.replace(/"/g, '') },
      },
    });
    expect(record?.s3.object.sequencer).toMatch(/^[0-9A-F]+$/);
    expect(Number.isNaN(Date.parse(record?.eventTime ?? ''))).toBe(false);
    expect(decodeEventKey(record?.s3.object.key ?? '')).toBe(key);
  });

  it('emits ObjectCreated:Copy with the ETag when a key with reserved characters is copied', async () => {
    const source = 'incoming/x+y z:1.csv';
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: source, Body: 'copied' }));
    records.length = 0;

    await client.send(
      new CopyObjectCommand({
        Bucket: BUCKET,
        Key: 'archive/x+y z:1.csv',
        CopySource: `${BUCKET}/${source.split('/').map(encodeURIComponent).join('/')}`,
      }),
    );

    expect(records.map((record) => record.eventName)).toEqual(['ObjectCreated:Copy']);
    expect(records[0]?.s3.object).toMatchObject({
      key: 'archive/x%2By+z%3A1.csv',
      size: 6,
      eTag: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
  });

  it('gives later events greater sequencers when objects are put one after another', async () => {
    records.length = 0;

    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'seq/1', Body: '1' }));
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'seq/2', Body: '2' }));

    const [first, second] = records.map((record) => record.s3.object.sequencer);
    expect(first && second && first < second).toBe(true);
  });

  it('stops notifying a listener when it unsubscribes', async () => {
    const seen: string[] = [];
    const unsubscribe = s3.onObjectCreated((record) => seen.push(record.s3.object.key));

    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'before', Body: 'x' }));
    unsubscribe();
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'after', Body: 'x' }));

    expect(seen).toEqual(['before']);
  });
});

describe('encodeS3EventKey', () => {
  it.each([
    ['incoming/a b/c+d.csv', 'incoming/a+b/c%2Bd.csv'],
    ['é/日本.csv', '%C3%A9/%E6%97%A5%E6%9C%AC.csv'],
    ["a:b(1)!~'&=?#%,;@$.csv", 'a%3Ab%281%29%21%7E%27%26%3D%3F%23%25%2C%3B%40%24.csv'],
    ['Plain_name-1.*.csv', 'Plain_name-1.*.csv'],
  ])('encodes %j as %j when it builds an event key', (key, encoded) => {
    expect(encodeS3EventKey(key)).toBe(encoded);
    expect(decodeEventKey(encoded)).toBe(key);
  });
});

describe('toS3Event', () => {
  it('wraps records in Records when it builds an S3Event', () => {
    const record = { eventName: 'ObjectCreated:Put' } as S3EventRecordLike;

    expect(toS3Event([record])).toEqual({ Records: [record] });
  });
});

describe('localS3ClientConfig', () => {
  it('uses path-style, s3rver credentials and checksums only when required', () => {
    expect(localS3ClientConfig('http://127.0.0.1:1')).toEqual({
      endpoint: 'http://127.0.0.1:1',
      region: 'ap-southeast-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  });
});
