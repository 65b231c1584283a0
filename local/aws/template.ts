import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * The CloudFormation template `serverless package` makes of serverless.yml: the one description
 * of the wiring (routes, rules, schedules, triggers, environments, timeouts) that the local run
 * reads too, so that the two cannot drift.
 */

const execFileAsync = promisify(execFile);
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The stage the local run packages as; its names never reach AWS. */
export const LOCAL_STAGE = 'local';
const CACHE_DIR = path.join(REPO_ROOT, '.govpub', 'template');

export interface CfnResource {
  Type: string;
  Condition?: string;
  Properties?: Record<string, unknown>;
}

export interface CfnTemplate {
  Parameters?: Record<string, { Type: string; Default?: unknown }>;
  Conditions?: Record<string, unknown>;
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown }>;
}

export class TemplatePackagingError extends Error {
  override name = 'TemplatePackagingError';
}

/** What the template is made from: a change to any of these makes a new one. */
async function sourcesHash(): Promise<string> {
  const hash = createHash('sha256');
  const machines = (await readdir(path.join(REPO_ROOT, 'statemachines'))).sort();
  for (const file of ['serverless.yml', 'package-lock.json', ...machines.map((m) => `statemachines/${m}`)]) {
    hash
      .update(file)
      .update('\0')
      .update(await readFile(path.join(REPO_ROOT, file)));
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * The packaged template of this checkout, made once per change of serverless.yml (about 10 s,
 * offline, without AWS credentials) and kept under .govpub/template/.
 */
export async function localTemplate(onPackage?: () => void): Promise<CfnTemplate> {
  const cached = path.join(CACHE_DIR, `${await sourcesHash()}.json`);
  try {
    return JSON.parse(await readFile(cached, 'utf8')) as CfnTemplate;
  } catch {
    // Not made yet for these sources.
  }
  onPackage?.();
  await mkdir(CACHE_DIR, { recursive: true });
  const out = await mkdtemp(path.join(CACHE_DIR, 'package-'));
  try {
    await execFileAsync(
      path.join(REPO_ROOT, 'node_modules', '.bin', 'serverless'),
      ['package', '--stage', LOCAL_STAGE, '--package', out],
      { cwd: REPO_ROOT, env: offlineEnv(), maxBuffer: 16 * 1024 * 1024, timeout: 170_000 },
    );
    const text = await readFile(path.join(out, 'cloudformation-template-update-stack.json'), 'utf8');
    // Written aside and renamed: a reader never sees half a file.
    const partial = `${cached}.${process.pid}.tmp`;
    await writeFile(partial, text);
    await rename(partial, cached);
    // Templates of earlier versions of serverless.yml are of no further use.
    for (const file of await readdir(CACHE_DIR)) {
      const stale = path.join(CACHE_DIR, file);
      if (file.endsWith('.json') && stale !== cached) await rm(stale, { force: true });
    }
    return JSON.parse(text) as CfnTemplate;
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new TemplatePackagingError(
      `serverless package --stage ${LOCAL_STAGE} failed: ${String(stderr).slice(-2000)}${String(stdout).slice(-2000)}`,
      { cause: error },
    );
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/** `serverless package` needs no AWS account: none of the caller's credentials reach it. */
function offlineEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SHARED_CREDENTIALS_FILE: path.join(CACHE_DIR, 'no-such-credentials'),
    AWS_CONFIG_FILE: path.join(CACHE_DIR, 'no-such-config'),
  };
  for (const name of Object.keys(env)) {
    if (
      /^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE|DEFAULT_PROFILE|REGION|DEFAULT_REGION|ROLE_ARN|WEB_IDENTITY_TOKEN_FILE|CONTAINER_CREDENTIALS_\w+)$/.test(
        name,
      )
    ) {
      delete env[name];
    }
  }
  return env;
}
