/**
 * `npm run soak -- --runs N --seed S [--parallel P]`: runs N randomized fault schedules (seeds S,
 * S+1, …; S random by default), P at a time, each on a fresh local pipeline, and prints every
 * violation with the seed that replays it (`--runs 1 --seed <that seed>`). Exit code 1 when any
 * schedule broke an invariant or leaked the API key.
 */
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
  },
});
const runs = Number(values.runs);
const first = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
const parallel = Math.max(1, Number(values.parallel));
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(first)) {
  process.stderr.write('usage: npm run soak -- --runs N [--seed S] [--parallel P]\n');
  process.exit(2);
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

const started = Date.now();
const failed: ScheduleResult[] = [];
const totals = { drops: 0, uploads: 0, kills: 0, outcomes: {} as Record<string, number> };
const masked: string[] = [];
let done = 0;
let next = 0;
async function worker(): Promise<void> {
  while (next < runs) {
    const seed = first + next++;
    const result = await runOne(seed);
    done += 1;
    totals.drops += result.summary.drops;
    totals.uploads += result.summary.uploads;
    totals.kills += result.summary.kills;
    masked.push(...result.summary.masked.map((file) => `seed ${seed}: ${file}`));
    for (const [outcome, count] of Object.entries(result.summary.outcomes)) {
      totals.outcomes[outcome] = (totals.outcomes[outcome] ?? 0) + count;
    }
    if (result.violations.length > 0) {
      failed.push(result);
      process.stdout.write(
        `\nseed ${seed}: ${result.violations.length} violation(s)\n${result.violations.map((v) => `  - ${v}`).join('\n')}\n  faults: ${result.summary.faults.join('; ')}\n`,
      );
    }
    if (done % 10 === 0 || done === runs) {
      process.stdout.write(
        `${done}/${runs} schedules, ${failed.length} failing, ${Math.round((Date.now() - started) / 1000)} s\n`,
      );
    }
  }
}
await Promise.all(Array.from({ length: parallel }, () => worker()));
process.stdout.write(
  `\n${runs} schedules from seed ${first} in ${Math.round((Date.now() - started) / 1000)} s: ${totals.drops} drops, ${totals.uploads} uploads received, ${totals.kills} functions killed, outcomes ${JSON.stringify(totals.outcomes)}; ${failed.length} failing${failed.length > 0 ? ` (seeds ${failed.map((f) => f.seed).join(', ')})` : ''}\n`,
);
if (masked.length > 0) {
  process.stdout.write(
    `${masked.length} file(s) met an outside upload in their turn (their reports' claims unchecked, the README's stated limit):\n${masked.map((line) => `  ${line}`).join('\n')}\n`,
  );
}
process.exit(failed.length > 0 ? 1 : 0);
