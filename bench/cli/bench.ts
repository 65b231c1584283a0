/**
 * Section 6: how long `govpub --help` takes to start and exit, against `node -e 0` in the same
 * rounds; and, for the saving, the CLI run from its TypeScript through tsx as it was before the
 * bundle (fewer rounds: each takes about half a second).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { childEnv } from '../lib/child.js';
import { median, pairedRatio, rotation } from '../lib/stats.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const RUN_TIMEOUT_MS = 30_000;
/** Rounds of the tsx run: enough for a median, few because each costs seconds. */
const FROM_SOURCE_RUNS = 3;

export interface CliStartupOptions {
  runs: number;
  log: (message: string) => void;
}

export interface CliStartupResult {
  runs: number;
  bareNodeMs: number[];
  bundledMs: number[];
  fromSourceMs: number[];
  /** The median over rounds of (govpub --help − node -e 0) in the same round. */
  overheadMs: number;
  /** The median over rounds of (govpub --help ÷ node -e 0). */
  ratio: number;
  medianBundledMs: number;
  medianBareNodeMs: number;
  medianFromSourceMs: number;
}

export async function runCliStartupBench(options: CliStartupOptions): Promise<CliStartupResult> {
  options.log('cli: building the bundle (scripts/build-cli.mjs, as npm ci does)');
  run(['scripts/build-cli.mjs']);
  const commands: Array<{ name: string; args: string[]; env: Record<string, string> }> = [
    { name: 'bare', args: ['-e', '0'], env: {} },
    { name: 'bundled', args: ['bin/govpub.mjs', '--help'], env: { GOVPUB_CLI_FROM_SOURCE: '' } },
  ];
  const times = new Map<string, number[]>(commands.map((command) => [command.name, []]));
  // An untimed round first: page cache and code cache warm for both alike.
  for (const command of commands) timed(command.args, command.env);
  options.log(`cli: ${options.runs} rounds of node -e 0 and govpub --help`);
  for (let round = 0; round < options.runs; round++) {
    for (const command of rotation(commands, round)) {
      times.get(command.name)?.push(timed(command.args, command.env));
    }
  }
  options.log(`cli: ${FROM_SOURCE_RUNS} runs of govpub --help from TypeScript (tsx)`);
  const fromSourceMs = Array.from({ length: FROM_SOURCE_RUNS }, () =>
    timed(['bin/govpub.mjs', '--help'], { GOVPUB_CLI_FROM_SOURCE: '1' }),
  );
  const bareNodeMs = times.get('bare') ?? [];
  const bundledMs = times.get('bundled') ?? [];
  const rounds = (values: number[]) => values.map((value, rep) => ({ rep, value }));
  return {
    runs: options.runs,
    bareNodeMs,
    bundledMs,
    fromSourceMs,
    overheadMs: median(bundledMs.map((ms, round) => ms - (bareNodeMs[round] ?? Number.NaN))),
    ratio: pairedRatio(rounds(bundledMs), rounds(bareNodeMs)),
    medianBundledMs: median(bundledMs),
    medianBareNodeMs: median(bareNodeMs),
    medianFromSourceMs: median(fromSourceMs),
  };
}

/** Wall time of one `node …args` process in the repository, spawn to exit, in ms. */
function timed(args: readonly string[], env: Record<string, string>): number {
  const started = performance.now();
  run(args, env);
  return performance.now() - started;
}

function run(args: readonly string[], env: Record<string, string> = {}): void {
  const result = spawnSync(process.execPath, args, {
    cwd: REPO,
    env: childEnv(env),
    encoding: 'utf8',
    timeout: RUN_TIMEOUT_MS,
    maxBuffer: 1024 * 1024,
  });
  if (result.status !== 0) {
    throw new Error(`node ${args.join(' ')} exited ${result.status}: ${result.stderr.slice(0, 500)}`);
  }
}
