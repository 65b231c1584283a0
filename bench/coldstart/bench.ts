/**
 * Section 3: packages the service as `serverless package` does for a deploy, then measures each
 * function zip and how long plain `node` takes to load its bundle, against `node -e 0`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cp, mkdir, readdir, readFile, stat, symlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleChildren, childEnv } from '../lib/child.js';
import { staticImportClosure } from '../lib/static-imports.js';
import { median, pairedRatio, rotation } from '../lib/stats.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
/** Not needed to package, or written by packaging: left out of the copy. */
const NOT_COPIED = new Set([
  'node_modules',
  '.git',
  '.serverless',
  '.esbuild',
  'coverage',
  '.local',
  'bench',
]);
const PACKAGE_TIMEOUT_MS = 300_000;
const RUN_TIMEOUT_MS = 30_000;
const IMPORT_TIMER =
  'const t = performance.now(); await import(process.argv[1]); process.stdout.write(String(performance.now() - t));';

export interface ColdStartOptions {
  runs: number;
  stage: string;
  workDir: string;
  log: (message: string) => void;
}

export interface FunctionColdStart {
  name: string;
  zipBytes: number;
  /** The handler bundle and the chunks it imports statically: what every cold start parses. */
  bundleBytes: number;
  /** Its other chunks (esbuild splitting): code behind an import(), parsed only when that runs. */
  chunkBytes: number;
  bundle: string;
  /** Wall time of `node <bundle>.mjs`, start to exit, per run. */
  wallMs: number[];
  medianWallMs: number;
  /**
   * What loading the bundle adds to a cold start: the median over rounds of
   * (node bundle.mjs − node -e 0) measured in the same round.
   */
  overheadMs: number;
  /**
   * The fastest run of the bundle less the fastest `node -e 0`: a machine's interference only
   * adds time, so on a noisy VM this moves less between runs than the median (not judged).
   * Absent in results committed before it was measured.
   */
  fastestOverheadMs?: number;
  /** The median over rounds of (node bundle.mjs ÷ node -e 0). */
  ratio: number;
  /** The import alone, timed inside the process (performance.now around import()). */
  medianInProcessImportMs: number;
}

/**
 * A bundle that is not a function, built as serverless.yml builds the functions and timed in the
 * same rounds: what any handler pays before its own code (see `REFERENCES`).
 */
export interface ReferenceColdStart {
  name: string;
  bundleBytes: number;
  wallMs: number[];
  medianWallMs: number;
  overheadMs: number;
  fastestOverheadMs?: number;
}

export interface ColdStartResult {
  stage: string;
  packageSeconds: number;
  runs: number;
  bareNode: { wallMs: number[]; medianWallMs: number };
  functions: FunctionColdStart[];
  /** Absent in results committed before the references were measured. */
  references?: ReferenceColdStart[];
}

/**
 * Floors for the import overhead: an empty module (the ESM loader alone), and the SDK core with
 * one small client, which every handler that calls AWS at all loads at init.
 */
const REFERENCES: Record<string, string> = {
  '(empty .mjs)': 'references/empty.ts',
  '(one AWS SDK client: DynamoDB)': 'references/dynamodb-client.ts',
};

export async function runColdStartBench(options: ColdStartOptions): Promise<ColdStartResult> {
  // A copy of the service, so that packaging neither races nor overwrites the .serverless/ and
  // .esbuild/ of whoever else is working in the repository.
  const service = join(options.workDir, 'service');
  await mkdir(service, { recursive: true });
  for (const entry of await readdir(REPO)) {
    if (!NOT_COPIED.has(entry)) await cp(join(REPO, entry), join(service, entry), { recursive: true });
  }
  await symlink(join(REPO, 'node_modules'), join(service, 'node_modules'), 'dir');

  options.log(`cold start: npx serverless package --stage ${options.stage}`);
  const started = performance.now();
  await runCommand('npx', ['serverless', 'package', '--stage', options.stage], service, PACKAGE_TIMEOUT_MS);
  const packageSeconds = (performance.now() - started) / 1000;

  const artefacts = join(service, '.serverless');
  const zips = (await readdir(artefacts)).filter((file) => file.endsWith('.zip')).sort();
  if (zips.length === 0) throw new Error('serverless package wrote no function zip');
  const functions: Array<{
    name: string;
    zipBytes: number;
    bundle: string;
    bundleBytes: number;
    chunkBytes: number;
  }> = [];
  for (const zip of zips) {
    const name = basename(zip, '.zip');
    const into = join(options.workDir, 'unzipped', name);
    await mkdir(into, { recursive: true });
    unzip(join(artefacts, zip), into);
    const { bundle, chunks } = await findBundle(into);
    const { loaded, missing } = await staticImportClosure(bundle, (file) =>
      readFile(file, 'utf8').catch(() => undefined),
    );
    if (missing.length > 0) throw new Error(`${zip} lacks what its bundle imports: ${missing.join(', ')}`);
    let loadedBytes = 0;
    for (const file of loaded) loadedBytes += (await stat(file)).size;
    let lazyBytes = 0;
    for (const chunk of chunks) if (!loaded.has(chunk)) lazyBytes += (await stat(chunk)).size;
    functions.push({
      name,
      zipBytes: (await stat(join(artefacts, zip))).size,
      bundle,
      bundleBytes: loadedBytes,
      chunkBytes: lazyBytes,
    });
  }

  const references = await bundleReferences(join(options.workDir, 'references'));
  const commands = [
    { name: '(bare node)', args: ['-e', '0'] },
    ...functions.map((fn) => ({ name: fn.name, args: [fn.bundle] })),
    ...references.map((reference) => ({ name: reference.name, args: [reference.bundle] })),
  ];
  const wall = new Map<string, number[]>(commands.map((command) => [command.name, []]));
  const inProcess = new Map<string, number[]>(functions.map((fn) => [fn.name, []]));
  // One untimed round first: page cache and code cache warm for every command alike.
  for (const command of commands) timeNode(command.args);
  options.log(`cold start: ${options.runs} rounds of ${commands.length} processes`);
  for (let run = 0; run < options.runs; run++) {
    for (const command of rotation(commands, run)) wall.get(command.name)?.push(timeNode(command.args));
    for (const fn of rotation(functions, run)) {
      inProcess.get(fn.name)?.push(Number(runNode(['--input-type=module', '-e', IMPORT_TIMER, fn.bundle])));
    }
  }
  const bareWall = wall.get('(bare node)') ?? [];
  const bareMedian = median(bareWall);
  const overOf = (wallMs: number[]) =>
    median(wallMs.map((ms, round) => ms - (bareWall[round] ?? Number.NaN)));
  const fastestOverOf = (wallMs: number[]) => Math.min(...wallMs) - Math.min(...bareWall);
  return {
    stage: options.stage,
    packageSeconds,
    runs: options.runs,
    bareNode: { wallMs: bareWall, medianWallMs: bareMedian },
    functions: functions.map((fn) => {
      const wallMs = wall.get(fn.name) ?? [];
      const medianWallMs = median(wallMs);
      const rounds = (values: number[]) => values.map((value, rep) => ({ rep, value }));
      return {
        name: fn.name,
        zipBytes: fn.zipBytes,
        bundleBytes: fn.bundleBytes,
        chunkBytes: fn.chunkBytes,
        bundle: fn.bundle.slice(join(options.workDir, 'unzipped', fn.name).length + 1),
        wallMs,
        medianWallMs,
        overheadMs: overOf(wallMs),
        fastestOverheadMs: fastestOverOf(wallMs),
        ratio: pairedRatio(rounds(wallMs), rounds(bareWall)),
        medianInProcessImportMs: median(inProcess.get(fn.name) ?? []),
      };
    }),
    references: references.map((reference) => {
      const wallMs = wall.get(reference.name) ?? [];
      return {
        name: reference.name,
        bundleBytes: reference.bundleBytes,
        wallMs,
        medianWallMs: median(wallMs),
        overheadMs: overOf(wallMs),
        fastestOverheadMs: fastestOverOf(wallMs),
      };
    }),
  };
}

/**
 * Builds the reference bundles as serverless.yml's `custom.esbuild` builds the functions (ESM,
 * node20, minified, split), so they compare with the function bundles.
 */
async function bundleReferences(
  outDir: string,
): Promise<Array<{ name: string; bundle: string; bundleBytes: number }>> {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const entries = Object.entries(REFERENCES).map(([name, source], index) => ({
    name,
    entry: `reference-${index}`,
    source: join(here, source),
  }));
  await bundleChildren(Object.fromEntries(entries.map(({ entry, source }) => [entry, source])), outDir, {
    shipped: true,
  });
  const built = [];
  for (const { name, entry } of entries) {
    const bundle = join(outDir, `${entry}.mjs`);
    const { loaded, missing } = await staticImportClosure(bundle, (file) =>
      readFile(file, 'utf8').catch(() => undefined),
    );
    if (missing.length > 0) throw new Error(`${bundle} lacks what it imports: ${missing.join(', ')}`);
    let bundleBytes = 0;
    for (const file of loaded) bundleBytes += (await stat(file)).size;
    built.push({ name, bundle, bundleBytes });
  }
  return built;
}

/** Wall time of one `node ...args` process, spawn to exit, in ms. */
function timeNode(args: readonly string[]): number {
  const started = performance.now();
  runNode(args);
  return performance.now() - started;
}

function runNode(args: readonly string[]): string {
  const result = spawnSync(process.execPath, args, {
    env: childEnv({ AWS_REGION: 'ap-southeast-1' }),
    encoding: 'utf8',
    timeout: RUN_TIMEOUT_MS,
    maxBuffer: 1024 * 1024,
  });
  if (result.status !== 0) {
    throw new Error(`node ${args.join(' ')} failed (${result.status ?? result.signal}): ${result.stderr}`);
  }
  return result.stdout;
}

function unzip(zip: string, into: string): void {
  const result = spawnSync('unzip', ['-q', '-o', zip, '-d', into], {
    encoding: 'utf8',
    timeout: RUN_TIMEOUT_MS,
  });
  if (result.status !== 0) throw new Error(`unzip ${zip} failed: ${result.stderr || result.error?.message}`);
}

/** The handler's bundle: the one .mjs outside its `<handler>.chunks/` folder. */
async function findBundle(directory: string): Promise<{ bundle: string; chunks: string[] }> {
  const files = (await readdir(directory, { recursive: true })).filter((file) => file.endsWith('.mjs'));
  const isChunk = (file: string) => /\.chunks[\\/]/.test(file);
  const bundles = files.filter((file) => !isChunk(file));
  if (bundles.length !== 1 || !bundles[0])
    throw new Error(`expected one handler .mjs in ${directory}, found ${bundles.length}`);
  return {
    bundle: join(directory, bundles[0]),
    chunks: files.filter(isChunk).map((file) => join(directory, file)),
  };
}

function runCommand(command: string, args: readonly string[], cwd: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (text: Buffer) => {
      output = (output + text.toString('utf8')).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${output.slice(-4000)}`));
    });
  });
}
