import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { captured } from '../client-capture.js';
import { type ProxyEnv, sdkRequestHandler } from '../proxy.js';
import { MAX_ATTEMPTS } from './common.js';

/**
 * S3 client for the drop bucket. Checksums only when required: otherwise a streamed PutObject
 * is stored with aws-chunked framing, and reads carry a checksum wrapper we do not need.
 * No request timeout, since a GetObject body may stream for minutes.
 */
export function createS3Client(overrides: S3ClientConfig = {}, env: ProxyEnv = process.env): S3Client {
  return captured(
    new S3Client({
      maxAttempts: MAX_ATTEMPTS,
      requestHandler: sdkRequestHandler({ connectionTimeout: 5_000 }, env),
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...overrides,
    }),
  );
}
