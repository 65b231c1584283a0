import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DropBucket } from '../../../lib/drop-bucket.js';

// s3rver has no UploadPartCopy, so this one path is checked at the SDK boundary (style H5).
const s3 = mockClient(S3Client);
const GIB = 1024 ** 3;

describe('DropBucket.move for objects over 5 GiB', () => {
  beforeEach(() => {
    s3.reset();
    s3.on(HeadObjectCommand).resolves({ ContentLength: 5 * GIB + 1, ETag: '"abc-3"' });
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u1' });
    s3.on(AbortMultipartUploadCommand).resolves({});
    s3.on(UploadPartCopyCommand).callsFake((input: { PartNumber: number }) => ({
      CopyPartResult: { ETag: `"p${input.PartNumber}"` },
    }));
  });

  it('copies in byte ranges that cover the object exactly, then deletes the source', async () => {
    await new DropBucket(new S3Client({}), 2 * GIB).move(
      'b',
      'incoming/d/replace/huge.csv',
      'failed/d/replace/huge.csv',
    );
    const ranges = s3.commandCalls(UploadPartCopyCommand).map((call) => call.args[0].input.CopySourceRange);
    expect(ranges).toEqual([
      `bytes=0-${2 * GIB - 1}`,
      `bytes=${2 * GIB}-${4 * GIB - 1}`,
      `bytes=${4 * GIB}-${5 * GIB}`,
    ]);
    expect(s3.commandCalls(CopyObjectCommand)).toHaveLength(0);
    expect(s3.commandCalls(CompleteMultipartUploadCommand)[0]?.args[0].input.MultipartUpload?.Parts).toEqual([
      { PartNumber: 1, ETag: '"p1"' },
      { PartNumber: 2, ETag: '"p2"' },
      { PartNumber: 3, ETag: '"p3"' },
    ]);
    expect(s3.commandCalls(DeleteObjectCommand)[0]?.args[0].input.Key).toBe('incoming/d/replace/huge.csv');
  });

  it('aborts the multipart copy and keeps the source when a part fails', async () => {
    s3.on(UploadPartCopyCommand).rejects(new Error('throttled'));
    await expect(
      new DropBucket(new S3Client({})).move('b', 'incoming/x.csv', 'failed/x.csv'),
    ).rejects.toThrow('throttled');
    expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
    expect(s3.commandCalls(DeleteObjectCommand)).toHaveLength(0);
  });
});
