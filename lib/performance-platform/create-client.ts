import { requireSettings, type Settings } from '../config.js';
import { PerformancePlatformClient } from './client.js';
import type { PpTokenProvider } from './tokens.js';

/** The forwarder's client, from the settings; shared by the Lambda, the CLI and the local run. */
export function createPpClient(settings: Settings, token: PpTokenProvider): PerformancePlatformClient {
  return new PerformancePlatformClient({
    baseUrl: requireSettings(settings, ['PP_BASE_URL']).PP_BASE_URL,
    token,
    timeoutMs: settings.PP_REQUEST_TIMEOUT_MS,
    retry: {
      maxAttempts: settings.PP_MAX_ATTEMPTS,
      baseDelayMs: 500,
      maxDelayMs: 10_000,
      totalTimeMs: settings.PP_TOTAL_TIME_MS,
    },
    gzipAboveBytes: settings.PP_GZIP_ABOVE_BYTES,
  });
}
