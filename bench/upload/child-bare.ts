/**
 * Baseline of the streaming benchmark: the least a Node program can do to move an S3 object
 * into a presigned PUT. A fresh upload link, GetObject, and its Body piped into `http.request`
 * with Content-Length. Like the sendFile child, it heads the object before the clock starts, so
 * both pay the S3 client's first-request set-up outside the measured window.
 * Prints { ms, cpuMs, maxRssBytes, bytes }.
 */
import http from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { childArgs, peakRssBytes, report, startMeasure } from '../lib/measure.js';
import type { UploadChildArgs, UploadChildResult } from './protocol.js';

const args = childArgs<UploadChildArgs>();
const s3 = new S3Client({
  endpoint: args.s3Endpoint,
  region: 'ap-southeast-1',
  forcePathStyle: true,
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});

function put(url: string, body: Readable, size: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, {
      method: 'PUT',
      headers: { 'content-length': String(size), 'content-type': 'text/csv' },
    });
    request.on('response', (response) => {
      response.resume();
      response.on('end', () =>
        response.statusCode === 200 ? resolve() : reject(new Error(`PUT answered ${response.statusCode}`)),
      );
    });
    pipeline(body, request).catch(reject);
  });
}

const head = await s3.send(new HeadObjectCommand({ Bucket: args.bucket, Key: args.key }));
const size = head.ContentLength ?? args.size;
const measure = startMeasure();
const link = await fetch(`${args.dgsBaseUrl}/v2/admin/api/datasets/${args.datasetId}/upload-link`, {
  headers: { 'x-dgs-admin-api-key': args.apiKey },
});
if (!link.ok) throw new Error(`upload-link answered ${link.status}`);
const { url } = (await link.json()) as { url: string };
const object = await s3.send(new GetObjectCommand({ Bucket: args.bucket, Key: args.key }));
await put(url, object.Body as Readable, size);
const { ms, cpuMs } = measure.stop();
const result: UploadChildResult = { ms, cpuMs, maxRssBytes: peakRssBytes(), bytes: size };
report(result);
