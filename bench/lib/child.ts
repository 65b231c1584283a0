import { spawn } from 'node:child_process';
import { build } from 'esbuild';

/** Bounded capture of a child's output: a runaway child cannot fill the parent's memory. */
const MAX_OUTPUT_CHARS = 1024 * 1024;

/** The environment of measured children: the parent's, without loaders (tsx) injected by NODE_OPTIONS. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _options, ...env } = process.env;
  return { ...env, ...extra };
}

/**
 * Runs `node script ...args` and returns the JSON object the child printed as its last stdout
 * line. The child is killed (by its own pid) after `timeoutMs`; a non-zero exit or a missing
 * result rejects with the tail of its stderr.
 */
export function runNodeChild<T>(script: string, args: readonly string[], timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      if (stdout.length < MAX_OUTPUT_CHARS) stdout += text;
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr = (stderr + text).slice(-MAX_OUTPUT_CHARS);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new Error(`${script} exited with ${code ?? signal}: ${stderr.slice(-2000)}`));
        return;
      }
      const last = stdout.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`${script} printed no JSON result: ${stdout.slice(-500)} ${stderr.slice(-1000)}`));
      }
    });
  });
}

/**
 * Bundles child entry points the way serverless.yml bundles the functions (esbuild, ESM, node20,
 * dependencies included), so children run on plain `node` like a Lambda and their resident
 * memory holds no TypeScript loader. Returns the path of each bundle by entry name. `shipped`
 * adds what serverless.yml's esbuild also does for a deploy, minify and splitting, for bundles
 * whose size and start-up are measured.
 */
export async function bundleChildren(
  entries: Record<string, string>,
  outDir: string,
  { shipped = false }: { shipped?: boolean } = {},
): Promise<Record<string, string>> {
  await build({
    entryPoints: entries,
    minify: shipped,
    splitting: shipped,
    outdir: outDir,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    mainFields: ['module', 'main'],
    outExtension: { '.js': '.mjs' },
    logLevel: 'error',
    banner: {
      js: "import { createRequire as __benchCreateRequire } from 'node:module'; const require = __benchCreateRequire(import.meta.url);",
    },
  });
  return Object.fromEntries(Object.keys(entries).map((name) => [name, `${outDir}/${name}.mjs`]));
}
