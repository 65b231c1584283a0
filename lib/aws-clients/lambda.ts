import type { LambdaClient, LambdaClientConfig } from '@aws-sdk/client-lambda';
import { captured } from '../client-capture.js';
import type { ProxyEnv } from '../proxy.js';
import { commonClientConfig } from './common.js';

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
  return captured(new LambdaClient({ ...commonClientConfig(env), ...overrides }));
}
