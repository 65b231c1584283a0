import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, type EventBridgeClientConfig } from '@aws-sdk/client-eventbridge';
import type { LambdaClient, LambdaClientConfig } from '@aws-sdk/client-lambda';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { SFNClient, type SFNClientConfig } from '@aws-sdk/client-sfn';
import { captured } from './client-capture.js';
import { type ProxyEnv, sdkRequestHandler } from './proxy.js';

const MAX_ATTEMPTS = 4;

/**
 * Bounded attempts and timeouts for every client: a hung call must not eat a Lambda's budget.
 * Every client honours HTTPS_PROXY, HTTP_PROXY and NO_PROXY from `env` (lib/proxy.ts).
 */
function common(env: ProxyEnv) {
  return {
    maxAttempts: MAX_ATTEMPTS,
    requestHandler: sdkRequestHandler({ connectionTimeout: 5_000, requestTimeout: 30_000 }, env),
  };
}

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

export function createDynamoDbClient(
  overrides: DynamoDBClientConfig = {},
  env: ProxyEnv = process.env,
): DynamoDBClient {
  return captured(new DynamoDBClient({ ...common(env), ...overrides }));
}

export function createSfnClient(overrides: SFNClientConfig = {}, env: ProxyEnv = process.env): SFNClient {
  return captured(new SFNClient({ ...common(env), ...overrides }));
}

export function createEventBridgeClient(
  overrides: EventBridgeClientConfig = {},
  env: ProxyEnv = process.env,
): EventBridgeClient {
  return captured(new EventBridgeClient({ ...common(env), ...overrides }));
}

/**
 * Loaded on first use: the Lambda SDK is about 70 KB of bundle that upload and publishRequests
 * need only to kick another function (a Performance Platform file, a hand-over, a request), so a
 * cold start does not parse it (with esbuild's `splitting` it is a chunk of its own).
 */
export async function createLambdaClient(
  overrides: LambdaClientConfig = {},
  env: ProxyEnv = process.env,
): Promise<LambdaClient> {
  const { LambdaClient } = await import('@aws-sdk/client-lambda');
  return captured(new LambdaClient({ ...common(env), ...overrides }));
}
