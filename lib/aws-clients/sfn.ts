import { SFNClient, type SFNClientConfig } from '@aws-sdk/client-sfn';
import { captured } from '../client-capture.js';
import type { ProxyEnv } from '../proxy.js';
import { commonClientConfig } from './common.js';

export function createSfnClient(overrides: SFNClientConfig = {}, env: ProxyEnv = process.env): SFNClient {
  return captured(new SFNClient({ ...commonClientConfig(env), ...overrides }));
}
