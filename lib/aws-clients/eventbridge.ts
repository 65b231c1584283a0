import { EventBridgeClient, type EventBridgeClientConfig } from '@aws-sdk/client-eventbridge';
import { captured } from '../client-capture.js';
import type { ProxyEnv } from '../proxy.js';
import { commonClientConfig } from './common.js';

export function createEventBridgeClient(
  overrides: EventBridgeClientConfig = {},
  env: ProxyEnv = process.env,
): EventBridgeClient {
  return captured(new EventBridgeClient({ ...commonClientConfig(env), ...overrides }));
}
