import type { Settings } from '../config.js';
import { ConfigError } from '../errors.js';
import { PerformancePlatformClient, type PpClientOptions } from './client.js';
import type { PpTokenProvider } from './tokens.js';

type ClientSettings = Pick<
  Settings,
  'PP_BASE_URL' | 'PP_REQUEST_TIMEOUT_MS' | 'PP_MAX_ATTEMPTS' | 'PP_TOTAL_TIME_MS' | 'PP_GZIP_ABOVE_BYTES'
>;

/**
 * The forwarder's client, from the settings; shared by the Lambda, the CLI, the local run and the
 * benchmark (which passes a counting `fetch`).
 */
export function createPpClient(
  settings: ClientSettings,
  token: PpTokenProvider,
  overrides: Pick<PpClientOptions, 'fetch'> = {},
): PerformancePlatformClient {
  if (!settings.PP_BASE_URL) throw new ConfigError('Missing configuration: PP_BASE_URL');
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
    ...overrides,
  });
}
