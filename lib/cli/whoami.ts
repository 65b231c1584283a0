import { PRODUCTION_BASE_URL, STAGING_BASE_URL } from '../config.js';
import { createDataGovSgClient } from '../runtime.js';
import { type CommonOptions, settingsFromEnv } from './common.js';
import { CliError, classify, EXIT, type ExitCode } from './exit.js';
import type { Output } from './output.js';

/** The guide's troubleshooting steps, shown whenever the key cannot be checked. */
export function whoamiHints(baseUrl: string): string[] {
  return [
    `Check the API URL: DGS_API_BASE_URL is ${baseUrl}; staging is ${STAGING_BASE_URL} and production ${PRODUCTION_BASE_URL}, and their keys differ.`,
    'Check the API key in DGS_API_KEY: it must be the current one for that environment and not expired; regenerate it in the data.gov.sg admin dashboard if in doubt.',
    'Check the internet connection (and any proxy or firewall) to the API URL.',
  ];
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
    throw new CliError(exitCode, message, { hints: whoamiHints(baseUrl), details: { baseUrl, ...details } });
  }
}
