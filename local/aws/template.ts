import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
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
  const hash = await sourcesHash();
  const cached = await readCached(hash);
  if (cached) return cached;
  await mkdir(CACHE_DIR, { recursive: true });
  const release = await lock();
  try {
    // Another process may have made it while this one waited.
    const madeMeanwhile = await readCached(hash);
    if (madeMeanwhile) return madeMeanwhile;
    onPackage?.();
    const text = await packageTemplate();
    // An edit to serverless.yml during the package: this template is not that version's.
    if ((await sourcesHash()) !== hash) return JSON.parse(text) as CfnTemplate;
    const file = path.join(CACHE_DIR, `${hash}.json`);
    // Written aside and renamed: a reader never sees half a file.
    const partial = `${file}.${process.pid}.tmp`;
    await writeFile(partial, text);
    await rename(partial, file);
    // Templates of earlier versions of serverless.yml are of no further use.
    for (const name of await readdir(CACHE_DIR)) {
      const stale = path.join(CACHE_DIR, name);
      if (name.endsWith('.json') && stale !== file) await rm(stale, { force: true });
    }
    return JSON.parse(text) as CfnTemplate;
  } finally {
    await release();
  }
}

async function readCached(hash: string): Promise<CfnTemplate | undefined> {
  try {
    return JSON.parse(await readFile(path.join(CACHE_DIR, `${hash}.json`), 'utf8')) as CfnTemplate;
  } catch {
    return undefined; // Not made yet for these sources.
  }
}

async function packageTemplate(): Promise<string> {
  const out = await mkdtemp(path.join(CACHE_DIR, 'package-'));
  try {
    await execFileAsync(
      path.join(REPO_ROOT, 'node_modules', '.bin', 'serverless'),
      ['package', '--stage', LOCAL_STAGE, '--package', out],
      {
        cwd: REPO_ROOT,
        // Its own esbuild work folder: serverless-esbuild deletes the folder it used when done.
        env: {
          ...offlineEnv(),
          GOVPUB_ESBUILD_WORK_FOLDER: path.relative(REPO_ROOT, path.join(out, 'esbuild')),
        },
        maxBuffer: 16 * 1024 * 1024,
        timeout: 170_000,
      },
    );
    return await readFile(path.join(out, 'cloudformation-template-update-stack.json'), 'utf8');
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

const LOCK_FILE = path.join(CACHE_DIR, '.lock');
/** Longer than a package ever takes: a lock this old was left by a process that died. */
const STALE_LOCK_MS = 5 * 60_000;

/** One packaging at a time across processes (npm start beside the tests, two test runs). */
async function lock(): Promise<() => Promise<void>> {
  for (;;) {
    try {
      const handle = await open(LOCK_FILE, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(LOCK_FILE, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (await lockIsStale()) {
        await rm(LOCK_FILE, { force: true });
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

async function lockIsStale(): Promise<boolean> {
  try {
    const [holder, info] = await Promise.all([readFile(LOCK_FILE, 'utf8'), stat(LOCK_FILE)]);
    if (Date.now() - info.mtimeMs > STALE_LOCK_MS) return true;
    process.kill(Number(holder), 0);
    return false;
  } catch (error) {
    // ESRCH: its process is gone. A lock file read while being written counts as held.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** `serverless package` needs no AWS account: none of the caller's credentials reach it. */
export function offlineEnv(): NodeJS.ProcessEnv {
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
