import { execFile } from 'node:child_process';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../lib/aws-clients/s3.js';
import { type LocalS3, localS3ClientConfig, startLocalS3 } from '../../local/aws/s3.js';
import { type LocalDataGovSg, SAMPLE_DATASETS, startLocalDataGovSg } from '../../local/datagovsg/server.js';

const MIB = 1024 * 1024;
const FILE_BYTES = 1024 * MIB;
const SMALL_BYTES = 8 * MIB;
/** The upload Lambda runs at 512 MB; the 1 GiB file is four times that. */
const MEMORY_ALLOWED = 256 * MIB;
/**
 * Peak memory may grow by at most this from an 8 MiB to a 1 GiB file: holding the file would add
 * a gigabyte. It is looser than the benchmark's 32 MB target because V8 frees socket buffers
 * lazily (growth of 19-35 MB was seen here); `npm run bench` measures the target itself.
 */
const GROWTH_ALLOWED = 64 * MIB;
const DATASET = SAMPLE_DATASETS[0]?.datasetId ?? '';
const run = promisify(execFile);

/** Generates CSV rows up to an exact size without holding them. */
function csvStream(bytes: number): Readable {
  const row = Buffer.from('2024,female,1234567\n'.padEnd(64, ' ').slice(0, 63).concat('\n'));
  const header = Buffer.from('year,sex,population\n');
  let left = bytes;
  let first = true;
  return new Readable({
    read() {
      if (left <= 0) return this.push(null);
      const chunk = first ? header : Buffer.concat(Array.from({ length: 1024 }, () => row));
      first = false;
      const piece = chunk.subarray(0, Math.min(chunk.length, left));
      left -= piece.length;
      this.push(piece);
    },
  });
}

describe('streaming upload memory', () => {
  let s3: LocalS3;
  let dataGovSg: LocalDataGovSg;

  beforeAll(async () => {
    s3 = await startLocalS3({ buckets: ['drop'] });
    dataGovSg = await startLocalDataGovSg({ apiKeys: ['k'], datasets: SAMPLE_DATASETS, stepDelayMs: 5 });
    const client = createS3Client(localS3ClientConfig(s3.endpoint));
    for (const [key, bytes] of [
      ['small.csv', SMALL_BYTES],
      ['big.csv', FILE_BYTES],
    ] as const) {
      await client.send(
        new PutObjectCommand({ Bucket: 'drop', Key: key, Body: csvStream(bytes), ContentLength: bytes }),
      );
    }
  }, 180_000);
  afterAll(async () => {
    await dataGovSg?.close();
    await s3?.close();
  });

  /** Uploads one object from a child process and returns its peak resident memory. */
  async function uploadInChild(key: string): Promise<number> {
    const { stdout } = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        'test/e2e/child/stream-upload.ts',
        s3.endpoint,
        'drop',
        key,
        dataGovSg.baseUrl,
        'k',
        dataGovSg.uploadOrigin,
        DATASET,
      ],
      { timeout: 150_000 },
    );
    return (JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { maxRssBytes: number }).maxRssBytes;
  }

  it(`streams a ${FILE_BYTES / MIB} MiB file with Content-Length, in memory that does not grow with its size`, async () => {
    const smallRss = await uploadInChild('small.csv');
    const bigRss = await uploadInChild('big.csv');
    const [small, big] = dataGovSg.uploads(DATASET);
    expect(small?.bytes).toBe(SMALL_BYTES);
    expect(big?.bytes).toBe(FILE_BYTES);
    // The append link was asked with the md5 taken from the single-part ETag, and the local
    // S3-like target checked the body against it.
    expect(dataGovSg.requests().filter((r) => r.path.includes('/append-link'))[1]?.path).toContain(
      `md5=${encodeURIComponent(big?.md5Base64 ?? '')}`,
    );
    expect(big?.headers['transfer-encoding']).toBeUndefined();
    expect(big?.headers['content-length']).toBe(String(FILE_BYTES));
    expect(bigRss).toBeLessThan(MEMORY_ALLOWED);
    expect(bigRss - smallRss).toBeLessThan(GROWTH_ALLOWED);
  }, 300_000);
});
