import { type ProxyEnv, sdkRequestHandler } from '../proxy.js';

/**
 * One module per client (lib/aws-clients/*.ts), not one for all: esbuild puts a module in one
 * chunk, whole, so when a handler's startup code took one factory from a shared module and a
 * path loaded on demand another, both clients would load at startup.
 */
export const MAX_ATTEMPTS = 4;

/**
 * Bounded attempts and timeouts for every client: a hung call must not eat a Lambda's budget.
 * Every client honours HTTPS_PROXY, HTTP_PROXY and NO_PROXY from `env` (lib/proxy.ts).
 */
export function commonClientConfig(env: ProxyEnv) {
  return {
    maxAttempts: MAX_ATTEMPTS,
    requestHandler: sdkRequestHandler({ connectionTimeout: 5_000, requestTimeout: 30_000 }, env),
  };
}
