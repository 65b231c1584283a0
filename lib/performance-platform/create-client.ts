import type { Settings } from '../config.js';
import { ConfigError } from '../errors.js';
import { type ProxyEnv, proxiedFetch } from '../proxy.js';
import { PerformancePlatformClient, type PpClientOptions } from './client.js';
import type { PpTokenProvider } from './tokens.js';

type ClientSettings = Pick<
  Settings,
  'PP_BASE_URL' | 'PP_REQUEST_TIMEOUT_MS' | 'PP_MAX_ATTEMPTS' | 'PP_TOTAL_TIME_MS' | 'PP_GZIP_ABOVE_BYTES'
>;

/**
 * The forwarder's client, from the settings; shared by the Lambda, the CLI, the local run and the
 * benchmark (which passes a counting `fetch`). Without a `fetch`, its requests honour
 * HTTPS_PROXY, HTTP_PROXY and NO_PROXY from `env` (default process.env).
 */
export function createPpClient(
  settings: ClientSettings,
  token: PpTokenProvider,
  { env, ...overrides }: Pick<PpClientOptions, 'fetch'> & { env?: ProxyEnv } = {},
): PerformancePlatformClient {
  if (!settings.PP_BASE_URL) throw new ConfigError('Missing configuration: PP_BASE_URL');
  const fetch = overrides.fetch ?? proxiedFetch(env);
  return new PerformancePlatformClient({
    baseUrl: settings.PP_BASE_URL,
    token,
    timeoutMs: settings.PP_REQUEST_TIMEOUT_MS,
    retry: {
      maxAttempts: settings.PP_MAX_ATTEMPTS,
      baseDelayMs: 500,
      maxDelayMs: 10_000,
      totalTimeMs: settings.PP_TOTAL_TIME_MS,
    },
    gzipAboveBytes: settings.PP_GZIP_ABOVE_BYTES,
    ...(fetch ? { fetch } : {}),
  });
}
