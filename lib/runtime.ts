import type { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import type { Settings } from './config.js';
import { DataGovSgClient } from './datagovsg/client.js';
import { ConfigError } from './errors.js';
import { defaultSsmProvider, readSecureParameter } from './parameters.js';
import { type ProxyEnv, proxiedFetch } from './proxy.js';
import type { Sleep } from './retry.js';

/**
 * Reads the API key: from SSM (SecureString, cached DGS_API_KEY_MAX_AGE_SECONDS) in AWS, else
 * from DGS_API_KEY. SSM's failures are typed (lib/parameters.ts).
 */
export function apiKeyProvider(
  settings: Settings,
  ssm: () => Pick<SSMProvider, 'get'> = defaultSsmProvider,
): () => Promise<string> {
  const parameterName = settings.DGS_API_KEY_PARAMETER;
  if (parameterName) {
    return () =>
      readSecureParameter(ssm(), parameterName, { maxAgeSeconds: settings.DGS_API_KEY_MAX_AGE_SECONDS });
  }
  const key = settings.DGS_API_KEY;
  if (!key) throw new ConfigError('Set DGS_API_KEY or DGS_API_KEY_PARAMETER');
  return async () => key;
}

/**
 * The data.gov.sg client from the settings. Its requests honour HTTPS_PROXY, HTTP_PROXY and
 * NO_PROXY from `options.env` (default process.env), unless a `fetch` is given.
 */
export function createDataGovSgClient(
  settings: Settings,
  apiKey = apiKeyProvider(settings),
  options: { sleep?: Sleep; fetch?: typeof fetch; env?: ProxyEnv } = {},
): DataGovSgClient {
  const fetch = options.fetch ?? proxiedFetch(options.env);
  return new DataGovSgClient({
    baseUrl: settings.DGS_API_BASE_URL,
    apiKey,
    allowedUploadOrigins: settings.UPLOAD_ALLOWED_ORIGINS,
    timeoutMs: settings.DGS_REQUEST_TIMEOUT_MS,
    retry: { maxAttempts: settings.DGS_MAX_ATTEMPTS, baseDelayMs: 1_000, maxDelayMs: 20_000 },
    ...(options.sleep ? { sleep: options.sleep } : {}),
    ...(fetch ? { fetch } : {}),
  });
}

export { once } from './once.js';
