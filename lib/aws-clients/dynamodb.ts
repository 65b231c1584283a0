import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { captured } from '../client-capture.js';
import type { ProxyEnv } from '../proxy.js';
import { commonClientConfig } from './common.js';

export function createDynamoDbClient(
  overrides: DynamoDBClientConfig = {},
  env: ProxyEnv = process.env,
): DynamoDBClient {
  return captured(new DynamoDBClient({ ...commonClientConfig(env), ...overrides }));
}
