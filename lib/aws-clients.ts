import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, type EventBridgeClientConfig } from '@aws-sdk/client-eventbridge';
import { LambdaClient, type LambdaClientConfig } from '@aws-sdk/client-lambda';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { SFNClient, type SFNClientConfig } from '@aws-sdk/client-sfn';

/** Bounded attempts and timeouts for every client: a hung call must not eat a Lambda's budget. */
const common = {
  maxAttempts: 4,
  requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
} as const;

/**
 * S3 client for the drop bucket. Checksums only when required: otherwise a streamed PutObject
 * is stored with aws-chunked framing, and reads carry a checksum wrapper we do not need.
 * No request timeout, since a GetObject body may stream for minutes.
 */
export function createS3Client(overrides: S3ClientConfig = {}): S3Client {
  return new S3Client({
    maxAttempts: common.maxAttempts,
    requestHandler: { connectionTimeout: 5_000 },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...overrides,
  });
}

export function createDynamoDbClient(overrides: DynamoDBClientConfig = {}): DynamoDBClient {
  return new DynamoDBClient({ ...common, ...overrides });
}

export function createSfnClient(overrides: SFNClientConfig = {}): SFNClient {
  return new SFNClient({ ...common, ...overrides });
}

export function createEventBridgeClient(overrides: EventBridgeClientConfig = {}): EventBridgeClient {
  return new EventBridgeClient({ ...common, ...overrides });
}

export function createLambdaClient(overrides: LambdaClientConfig = {}): LambdaClient {
  return new LambdaClient({ ...common, ...overrides });
}
