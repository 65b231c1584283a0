import { PRODUCTION_BASE_URL, STAGING_BASE_URL } from '../config.js';
import { outboundProxy, proxyFor, proxyOrigin } from '../proxy.js';
import { createDataGovSgClient } from '../runtime.js';
import { type CommonOptions, settingsFromEnv } from './common.js';
import { CliError, classify, EXIT, type ExitCode } from './exit.js';
import type { Output } from './output.js';

/**
 * The guide's troubleshooting steps that fit the failure: a missing key is not a network
 * problem, and a refused key is not a connection one. `proxy` is the proxy the requests went
 * through, if any: shown by its origin only (its URL may hold a password).
 */
export function whoamiHints(baseUrl: string, exitCode: ExitCode, message: string, proxy?: URL): string[] {
  const url = `Check the API URL: DGS_API_BASE_URL is ${baseUrl}; staging is ${STAGING_BASE_URL} and production ${PRODUCTION_BASE_URL}, and their keys differ.`;
  const key =
    'Check the API key in DGS_API_KEY: it must be the current one for that environment and not expired; regenerate it in the data.gov.sg admin dashboard if in doubt.';
  const network = `Check the internet connection to ${baseUrl} (and any proxy or firewall on the way).`;
  switch (exitCode) {
    case EXIT.usage:
      return /DGS_API_KEY/.test(message)
        ? [
            'Set DGS_API_KEY to your data.gov.sg API key (from the admin dashboard; staging and production keys differ), or DGS_API_KEY_PARAMETER to the SSM parameter that holds it.',
          ]
        : [];
    case EXIT.auth:
      return [url, key];
    case EXIT.connection:
    case EXIT.timeout:
      return proxy
        ? [
            `Requests to ${baseUrl} go through the proxy ${proxyOrigin(proxy)} (HTTPS_PROXY or HTTP_PROXY): check that it is reachable and lets them through, or name the host in NO_PROXY.`,
            url,
          ]
        : [network, url];
    case EXIT.http:
      return ['data.gov.sg answered with an error of its own: try again in a few minutes.', url];
    default:
      return [url, key, network];
  }
}

/** `govpub whoami`: checks the key (the guide's step 2). */
export async function whoami(out: Output, _options: CommonOptions): Promise<ExitCode> {
  const settings = settingsFromEnv();
  const baseUrl = settings.DGS_API_BASE_URL;
  try {
    const dgs = createDataGovSgClient(settings);
    const user = await dgs.whoami();
    out.info(`The API key works: user ${user.userId}${user.email ? ` (${user.email})` : ''} on ${baseUrl}.`);
    out.result({ ok: true, command: 'whoami', baseUrl, userId: user.userId, email: user.email ?? null });
    return EXIT.ok;
  } catch (error) {
    const { exitCode, message, details } = classify(error);
    throw new CliError(exitCode, message, {
      hints: whoamiHints(baseUrl, exitCode, message, proxyInUse(baseUrl)),
      details: { baseUrl, ...details },
    });
  }
}

/** The proxy requests to `baseUrl` go through; undefined when none, or when the variables are invalid. */
function proxyInUse(baseUrl: string): URL | undefined {
  try {
    const proxy = outboundProxy();
    return proxy ? proxyFor(proxy, new URL(baseUrl)) : undefined;
  } catch {
    return undefined;
  }
}
