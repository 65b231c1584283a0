/**
 * Our upload path, as the upload function runs it: sendFile (status check, append link, GetObject
 * pinned to the ETag, streamed PUT), optionally with the in-flight CSV check, optionally with the
 * MD5 (a whole read for an object uploaded in parts) in the measured time. Prints
 * { ms, maxRssBytes, bytes, checkPassed?, checkRows? }.
 */
import { createS3Client } from '../../lib/aws-clients/s3.js';
import { DataGovSgClient } from '../../lib/datagovsg/client.js';
import { DropBucket } from '../../lib/drop-bucket.js';
import { noMetrics } from '../../lib/metrics.js';
import { objectSource, sendFile } from '../../lib/publish/send-file.js';
import { childArgs, peakRssBytes, report, startMeasure } from '../lib/measure.js';
import type { UploadChildArgs, UploadChildResult } from './protocol.js';

const args = childArgs<UploadChildArgs>();
// s3rver's settings, written out so that the child does not load the local S3 server's code.
const bucket = new DropBucket(
  createS3Client({
    endpoint: args.s3Endpoint,
    region: 'ap-southeast-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  }),
);
const dgs = new DataGovSgClient({
  baseUrl: args.dgsBaseUrl,
  apiKey: async () => args.apiKey,
  allowedUploadOrigins: [args.uploadOrigin],
  timeoutMs: 10_000,
  retry: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
});
const silent = { debug() {}, info() {}, warn() {}, error() {} };

const object = await bucket.head(args.bucket, args.key);
if (!object) throw new Error(`${args.key} not found`);
// As the pump: the MD5 first (a read of the whole object when the ETag is not the MD5), then the send.
const measure = args.md5Measured ? startMeasure() : undefined;
const md5 = await bucket.md5(object);
const sendMeasure = measure ?? startMeasure();
const attempt = await sendFile(
  {
    dgs,
    settings: { UPLOAD_MAX_ATTEMPTS: 1, UPLOAD_IDLE_TIMEOUT_SECONDS: 120, IDLE_CONFIRM_SECONDS: 0 },
    log: silent,
    metrics: noMetrics,
    now: () => new Date(),
  },
  {
    source: objectSource(bucket, object),
    datasetId: args.datasetId,
    mode: 'append',
    md5Base64: md5.base64,
    ...(args.checkColumns ? { check: { mode: 'append', expectedColumns: args.checkColumns } } : {}),
  },
);
const { ms, cpuMs } = sendMeasure.stop();
const result: UploadChildResult = {
  ms,
  cpuMs,
  maxRssBytes: peakRssBytes(),
  bytes: object.size,
  ...(attempt.check ? { checkPassed: attempt.check.passed, checkRows: attempt.check.rows } : {}),
};
report(result);
