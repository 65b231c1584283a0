/**
 * Runs the real upload path (sendFile: S3 GetObject streamed into the presigned PUT) in a
 * process of its own, so that its peak resident memory can be measured apart from the servers.
 * Prints one JSON line: { maxRssBytes }.
 */
import { createS3Client } from '../../../lib/aws-clients/s3.js';
import { DataGovSgClient } from '../../../lib/datagovsg/client.js';
import { DropBucket } from '../../../lib/drop-bucket.js';
import { noMetrics } from '../../../lib/metrics.js';
import { objectSource, sendFile } from '../../../lib/publish/send-file.js';

const [s3Endpoint, bucketName, key, dgsBaseUrl, apiKey, uploadOrigin, datasetId] = process.argv.slice(2);
if (!s3Endpoint || !bucketName || !key || !dgsBaseUrl || !apiKey || !uploadOrigin || !datasetId) {
  throw new Error(
    'usage: stream-upload S3_ENDPOINT BUCKET KEY DGS_BASE_URL API_KEY UPLOAD_ORIGIN DATASET_ID',
  );
}
// s3rver's settings, written out so that the child does not load the local S3 server's code.
const bucket = new DropBucket(
  createS3Client({
    endpoint: s3Endpoint,
    region: 'ap-southeast-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  }),
);
const dgs = new DataGovSgClient({
  baseUrl: dgsBaseUrl,
  apiKey: async () => apiKey,
  allowedUploadOrigins: [uploadOrigin],
  timeoutMs: 10_000,
  retry: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
});
const object = await bucket.head(bucketName, key);
if (!object) throw new Error(`${key} not found`);
const md5 = await bucket.md5(object);
const silent = { debug() {}, info() {}, warn() {}, error() {} };
await sendFile(
  {
    dgs,
    settings: { UPLOAD_MAX_ATTEMPTS: 1, UPLOAD_IDLE_TIMEOUT_SECONDS: 120, IDLE_CONFIRM_SECONDS: 0 },
    log: silent,
    metrics: noMetrics,
    now: () => new Date(),
  },
  { source: objectSource(bucket, object), datasetId, mode: 'append', md5Base64: md5.base64 },
);
// maxRSS is in kibibytes.
process.stdout.write(`${JSON.stringify({ maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
