/**
 * Issue 12's proof: randomized fault schedules (test/support/fault-schedule.ts) run on the whole
 * local pipeline, each checked against the invariants: every file ends in exactly one of
 * processed/, failed/ or unconfirmed/ with a report that matches what data.gov.sg recorded; each
 * file's rows are ingested at most once (once when published); never two uploads to a dataset at
 * once; key order; no drop-again advice for a file that may be in the dataset; no function failing
 * for a reason that is not a fault; and, through the suite's secret scan, no secret anywhere.
 *
 * A bounded number of schedules runs here (GOVPUB_SCHEDULES, default 24, from GOVPUB_SCHEDULE_SEED
 * or a fixed seed); `npm run soak -- --runs N --seed S` runs more. A failure names its seed.
 */
import { describe, expect, it } from 'vitest';
import { runSchedule } from '../support/fault-schedule.js';
import { startFastPipeline } from './support.js';

const RUNS = Number(process.env.GOVPUB_SCHEDULES ?? 24);
const FIRST_SEED = Number(process.env.GOVPUB_SCHEDULE_SEED ?? 20_261_205);

describe('randomized fault schedules', () => {
  it(`keep every invariant over ${RUNS} schedules from seed ${FIRST_SEED}`, async () => {
    const failures: string[] = [];
    for (let seed = FIRST_SEED; seed < FIRST_SEED + RUNS; seed++) {
      const result = await runSchedule(seed, { start: startFastPipeline, settleTimeoutMs: 30_000 });
      if (result.violations.length > 0) {
        failures.push(
          `seed ${seed} (replay: npm run soak -- --runs 1 --seed ${seed}):\n${result.violations.map((v) => `  - ${v}`).join('\n')}\n  faults: ${result.summary.faults.join('; ')}`,
        );
      }
    }
    expect(failures, failures.join('\n')).toEqual([]);
  }, 90_000);
});
