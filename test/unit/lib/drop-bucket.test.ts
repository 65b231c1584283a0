import { createHash } from 'node:crypto';
import { CopyObjectCommand, DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../../lib/aws-clients/s3.js';
import { DropBucket } from '../../../lib/drop-bucket.js';
import { SourceChangedError } from '../../../lib/errors.js';
import { type LocalS3, localS3ClientConfig, startLocalS3 } from '../../../local/aws/s3.js';

const MIB = 1024 * 1024;

describe('DropBucket on s3rver', () => {
  let s3: LocalS3;
  let client: ReturnType<typeof createS3Client>;

  beforeAll(async () => {
    s3 = await startLocalS3({ buckets: ['b'] });
    client = createS3Client(localS3ClientConfig(s3.endpoint));
  });
  afterAll(async () => s3.close());

  async function put(key: string, body: string | Buffer) {
    await client.send(new PutObjectCommand({ Bucket: 'b', Key: key, Body: body }));
  }

  it('takes the md5 from a single-part ETag without reading the object', async () => {
    await put('incoming/d/replace/one.csv', 'a,b\n1,2\n');
    const bucket = new DropBucket(client);
    const object = await bucket.head('b', 'incoming/d/replace/one.csv');
    if (!object) throw new Error('missing');
    const expected = createHash('md5').update('a,b\n1,2\n').digest();
    expect(await bucket.md5(object)).toEqual({
      hex: expected.toString('hex'),
      base64: expected.toString('base64'),
    });
  });

  it('hashes the object in one streamed read when its ETag is not an MD5 (SSE-KMS)', async () => {
    const body = Buffer.alloc(3 * MIB, 'x');
    await put('incoming/d/replace/kms.csv', body);
    const bucket = new DropBucket(client);
    const object = await bucket.head('b', 'incoming/d/replace/kms.csv');
    if (!object) throw new Error('missing');
    const hashed = await bucket.md5({ ...object, serverSideEncryption: 'aws:kms' });
    expect(hashed.hex).toBe(createHash('md5').update(body).digest('hex'));
  });

  it('refuses to stream an object that changed after it was chosen', async () => {
    await put('incoming/d/replace/changing.csv', 'v1');
    const bucket = new DropBucket(client);
    const chosen = await bucket.head('b', 'incoming/d/replace/changing.csv');
    if (!chosen) throw new Error('missing');
    await put('incoming/d/replace/changing.csv', 'v2 is different');
    await expect(bucket.open(chosen)).rejects.toBeInstanceOf(SourceChangedError);
  });

  it('moves idempotently: a retried move completes instead of failing', async () => {
    await put('incoming/d/replace/move me+now.csv', 'data');
    const bucket = new DropBucket(client);
    expect(
      await bucket.move('b', 'incoming/d/replace/move me+now.csv', 'processed/d/replace/move me+now.csv'),
    ).toBe('moved');
    expect(
      await bucket.move('b', 'incoming/d/replace/move me+now.csv', 'processed/d/replace/move me+now.csv'),
    ).toBe('already-moved');
    expect(await bucket.move('b', 'incoming/d/replace/never.csv', 'failed/d/replace/never.csv')).toBe(
      'missing',
    );
  });

  it('never copies another version than the one named: a file replaced just before the copy stays', async () => {
    const from = 'incoming/d/replace/raced.csv';
    await put(from, 'v1');
    const v1 = await new DropBucket(client).head('b', from);
    // A second client's middleware drops a new version right before the copy is sent.
    const racing = createS3Client(localS3ClientConfig(s3.endpoint));
    let raced = false;
    racing.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'CopyObjectCommand' && !raced) {
          raced = true;
          await put(from, 'v2, dropped during the move');
        }
        return next(args);
      },
      { step: 'initialize', name: 'raceTheCopy' },
    );
    const bucket = new DropBucket(racing);
    expect(await bucket.move('b', from, 'failed/d/replace/raced.v1.csv', v1?.etag)).toBe('source-replaced');
    expect(await bucket.head('b', 'failed/d/replace/raced.v1.csv')).toBeUndefined();
    expect((await bucket.head('b', from))?.etag).not.toBe(v1?.etag);
  });

  // Found by the soak (seeds 11020, 11056): a file dropped between the move's last look and its
  // delete was deleted, unfiled, with no report.
  it('never deletes another version than the one copied: a file dropped right before the delete stays', async () => {
    const from = 'incoming/d/replace/raced-delete.csv';
    await put(from, 'v1');
    const v1 = await new DropBucket(client).head('b', from);
    const racing = createS3Client(localS3ClientConfig(s3.endpoint));
    racing.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'DeleteObjectCommand') await put(from, 'v2, dropped during the move');
        return next(args);
      },
      { step: 'initialize', name: 'raceTheDelete' },
    );
    const bucket = new DropBucket(racing);
    expect(await bucket.move('b', from, 'processed/d/replace/raced-delete.v1.csv', v1?.etag)).toBe(
      'copied-newer-kept',
    );
    expect((await bucket.head('b', 'processed/d/replace/raced-delete.v1.csv'))?.etag).toBe(v1?.etag);
    const kept = await bucket.head('b', from);
    expect(kept?.etag).toBe(createHash('md5').update('v2, dropped during the move').digest('hex'));
  });

  it('the local S3 honours a delete’s If-Match: 412 for another version, a delete for the one named', async () => {
    const key = 'incoming/d/replace/conditional-delete.csv';
    await put(key, 'v1');
    const etag = (await new DropBucket(client).head('b', key))?.etag;
    const remove = (ifMatch: string) =>
      client.send(new DeleteObjectCommand({ Bucket: 'b', Key: key, IfMatch: ifMatch }));
    await expect(remove('"0123456789abcdef0123456789abcdef"')).rejects.toMatchObject({
      name: 'PreconditionFailed',
      $metadata: { httpStatusCode: 412 },
    });
    expect(await new DropBucket(client).head('b', key)).toBeDefined();
    await remove(`"${etag}"`);
    expect(await new DropBucket(client).head('b', key)).toBeUndefined();
  });

  it('the local S3 honours CopySourceIfMatch: 412 for another version, a copy for the one named', async () => {
    await put('incoming/d/replace/conditional.csv', 'v1');
    const etag = (await new DropBucket(client).head('b', 'incoming/d/replace/conditional.csv'))?.etag;
    const copy = (ifMatch: string) =>
      client.send(
        new CopyObjectCommand({
          Bucket: 'b',
          Key: 'processed/conditional.csv',
          CopySource: 'b/incoming/d/replace/conditional.csv',
          CopySourceIfMatch: ifMatch,
        }),
      );
    await expect(copy('"0123456789abcdef0123456789abcdef"')).rejects.toMatchObject({
      name: 'PreconditionFailed',
      $metadata: { httpStatusCode: 412 },
    });
    await expect(copy(`"${etag}"`)).resolves.toBeDefined();
  });

  it('lists waiting files of several refs in key order, without folder markers', async () => {
    await put('incoming/alias/append/2.csv', 'x');
    await put('incoming/d_x/append/1.csv', 'x');
    await put('incoming/alias/append/', '');
    const listed = await new DropBucket(client).listWaiting('b', ['d_x', 'alias']);
    expect(listed.map((o) => o.key)).toEqual(['incoming/alias/append/2.csv', 'incoming/d_x/append/1.csv']);
  });
});
