/**
 * `npm run soak -- --runs N --seed S [--parallel P] [--batch B]`: runs N randomized fault
 * schedules (seeds S, S+1, …; S random by default), P at a time, each on a fresh local pipeline,
 * and prints every violation with the seed that replays it (`--runs 1 --seed <that seed>`). Exit
 * code 1 when any schedule broke an invariant or leaked the API key.
 *
 * More than B schedules (default 100) run in batches, each in a fresh child process: a process
 * that has started hundreds of local pipelines (s3rver, dynalite, Step Functions, HTTP servers)
 * grows and slows, so a long soak would measure its own heap instead of the pipeline.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Log } from '../lib/observability.js';
import { installPromiseWithResolvers } from '../local/aws/polyfills.js';
import { LOCAL_API_KEY, startLocalPipeline } from '../local/pipeline.js';
import { everythingFiled } from './e2e/support.js';
import { runSchedule, type ScheduleResult } from './support/fault-schedule.js';

installPromiseWithResolvers();
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '100' },
    seed: { type: 'string' },
    parallel: { type: 'string', default: '2' },
    batch: { type: 'string', default: '100' },
  },
});
const runs = Number(values.runs);
const first = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
const parallel = Math.max(1, Number(values.parallel));
const batch = Number(values.batch);
if (
  !Number.isInteger(runs) ||
  runs < 1 ||
  !Number.isInteger(first) ||
  !Number.isInteger(batch) ||
  batch < 1
) {
  process.stderr.write('usage: npm run soak -- --runs N [--seed S] [--parallel P] [--batch B]\n');
  process.exit(2);
}

/** What a run of schedules found, added up; a batch's child sends its own to the parent. */
interface Totals {
  done: number;
  failedSeeds: number[];
  drops: number;
  uploads: number;
  kills: number;
  outcomes: Record<string, number>;
  masked: string[];
}

function emptyTotals(): Totals {
  return { done: 0, failedSeeds: [], drops: 0, uploads: 0, kills: 0, outcomes: {}, masked: [] };
}

function addUp(totals: Totals, more: Totals): void {
  totals.done += more.done;
  totals.failedSeeds.push(...more.failedSeeds);
  totals.drops += more.drops;
  totals.uploads += more.uploads;
  totals.kills += more.kills;
  totals.masked.push(...more.masked);
  for (const [outcome, count] of Object.entries(more.outcomes)) {
    totals.outcomes[outcome] = (totals.outcomes[outcome] ?? 0) + count;
  }
}

/** The service's log lines of one schedule, kept only to be searched for the key. */
function collectingLog(lines: string[]): Log {
  const at =
    (level: string) =>
    (message: unknown, ...rest: unknown[]) => {
      lines.push(`${level} ${String(message)} ${JSON.stringify(rest[0] ?? {})}`);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as unknown as Log;
}

async function runOne(seed: number): Promise<ScheduleResult> {
  const lines: string[] = [];
  let readable = '';
  const result = await runSchedule(seed, {
    start: async (options) => {
      const pipeline = await startLocalPipeline({ ...options, log: collectingLog(lines) });
      const close = pipeline.close.bind(pipeline);
      pipeline.close = async () => {
        readable = await everythingFiled(pipeline).catch(() => '');
        await close();
      };
      return pipeline;
    },
  });
  if (lines.join('\n').includes(LOCAL_API_KEY) || readable.includes(LOCAL_API_KEY)) {
    result.violations.push('the API key appears in a log line, report, event or execution');
  }
  return result;
}

/** Runs `count` schedules from `from` in this process, printing violations as they are found. */
async function runHere(from: number, count: number, progress: (totals: Totals) => void): Promise<Totals> {
  const totals = emptyTotals();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const seed = from + next++;
      const result = await runOne(seed);
      addUp(totals, {
        done: 1,
        failedSeeds: result.violations.length > 0 ? [seed] : [],
        ...result.summary,
        masked: result.summary.masked.map((file) => `seed ${seed}: ${file}`),
      });
      if (result.violations.length > 0) {
        process.stdout.write(
          `\nseed ${seed}: ${result.violations.length} violation(s)\n${result.violations.map((v) => `  - ${v}`).join('\n')}\n  faults: ${result.summary.faults.join('; ')}\n`,
        );
      }
      progress(totals);
    }
  };
  await Promise.all(Array.from({ length: parallel }, () => worker()));
  return totals;
}

/** Runs one batch in a fresh child process (this script, with the same loader), for its totals. */
function runInChild(from: number, count: number): Promise<Totals> {
  return new Promise((resolve, reject) => {
    const child = fork(
      fileURLToPath(import.meta.url),
      [
        '--runs',
        String(count),
        '--seed',
        String(from),
        '--parallel',
        String(parallel),
        '--batch',
        String(count),
      ],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    let totals: Totals | undefined;
    child.on('message', (message) => {
      totals = message as Totals;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (totals) resolve(totals);
      else reject(new Error(`the batch from seed ${from} ended (exit ${code}) without its totals`));
    });
  });
}

const started = Date.now();
const seconds = () => Math.round((Date.now() - started) / 1000);
const line = (done: number, failing: number) =>
  process.stdout.write(`${done}/${runs} schedules, ${failing} failing, ${seconds()} s\n`);

if (process.send && runs <= batch) {
  // A batch of a longer soak: its parent prints the progress and the totals.
  const totals = await runHere(first, runs, () => {});
  process.send(totals, () => process.exit(0));
} else {
  const totals = emptyTotals();
  if (runs <= batch) {
    addUp(
      totals,
      await runHere(first, runs, (sofar) => {
        if (sofar.done % 10 === 0 || sofar.done === runs) line(sofar.done, sofar.failedSeeds.length);
      }),
    );
  } else {
    for (let from = first; from < first + runs; from += batch) {
      addUp(totals, await runInChild(from, Math.min(batch, first + runs - from)));
      line(totals.done, totals.failedSeeds.length);
    }
  }
  const failed = totals.failedSeeds.sort((a, b) => a - b);
  process.stdout.write(
    `\n${runs} schedules from seed ${first} in ${seconds()} s: ${totals.drops} drops, ${totals.uploads} uploads received, ${totals.kills} functions killed, outcomes ${JSON.stringify(totals.outcomes)}; ${failed.length} failing${failed.length > 0 ? ` (seeds ${failed.join(', ')})` : ''}\n`,
  );
  if (totals.masked.length > 0) {
    process.stdout.write(
      `${totals.masked.length} file(s) met an outside upload in their turn (their reports' claims unchecked, the README's stated limit):\n${totals.masked.map((masked) => `  ${masked}`).join('\n')}\n`,
    );
  }
  process.exit(failed.length > 0 ? 1 : 0);
}
