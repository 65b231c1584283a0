import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LocalPipeline } from '../../local/pipeline.js';
import { exposeToScan, MIN_SECRET_LENGTH, testSecret } from '../leak-scan.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The local write API's token for carers-allowance/transaction-count (config/performance-platform-local.json). */
export const LOCAL_PP_TOKEN = 'local-pp-token-carers';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment a user of the local pipeline would set for the CLI: the banner's (with the
 * short waits of a fast pipeline), and a token.
 */
export function cliEnvironment(pipeline: LocalPipeline): Record<string, string> {
  return {
    ...pipeline.cliEnvironment(),
    PP_TOKEN: LOCAL_PP_TOKEN,
  };
}

/**
 * Runs `node bin/govpub.mjs …` as a user would, with only PATH, HOME, TMPDIR and `env` (where
 * `undefined` removes a variable). Its key and token are registered with the secret scan (unless
 * `keyIsPublic`: the local run's banner shows its stand-in's key on purpose) and all it prints is
 * exposed to it: a user reads the CLI's output.
 */
export async function runGovpub(
  args: string[],
  env: Record<string, string | undefined>,
  input?: string,
  { keyIsPublic = false }: { keyIsPublic?: boolean } = {},
): Promise<CliRun> {
  const full: Record<string, string | undefined> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    TMPDIR: tmpdir(),
    // Never a developer's running npm start: a test names its local run, if any.
    GOVPUB_LOCAL_RUN_FILE: join(tmpdir(), 'govpub-test-no-local-run.json'),
    ...env,
  };
  for (const secret of [keyIsPublic ? undefined : full.DGS_API_KEY, full.PP_TOKEN]) {
    if (secret && secret.length >= MIN_SECRET_LENGTH) testSecret(secret);
  }
  const child = spawn(process.execPath, ['bin/govpub.mjs', ...args], {
    cwd: ROOT,
    env: Object.fromEntries(Object.entries(full).filter(([, value]) => value !== undefined)),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  // A command may exit before reading its input.
  child.stdin.on('error', () => {});
  child.stdin.end(input);
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  // 'close', not 'exit': the output may still be in the pipes when the process has exited.
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  exposeToScan(`govpub ${args[0] ?? ''} stdout`, stdout);
  exposeToScan(`govpub ${args[0] ?? ''} stderr`, stderr);
  return { code, stdout, stderr };
}
