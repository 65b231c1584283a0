import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadSettings, type Settings } from '../../lib/config.js';
import { nextWait } from '../../lib/publish/poll.js';

/**
 * Step Functions Standard ends an execution that reaches 25,000 history events, and no Catch can
 * take that error: the outcome would never be filed. The polling deadline, the schedule and the
 * retries must keep even the longest execution below it.
 */
const HISTORY_LIMIT = 25_000;

type Retrier = { MaxAttempts?: number };
type State = { Type: string; Retry?: Retrier[] };
const definition = JSON.parse(readFileSync('statemachines/publish-dataset.asl.json', 'utf8')) as {
  States: Record<string, State>;
};

/** Attempts of a task at worst: the first, and every retry its retriers allow (3 is ASL's default). */
function worstAttempts(name: string): number {
  const state = definition.States[name];
  if (!state) throw new Error(`${name} is not a state of the machine`);
  return 1 + (state.Retry ?? []).reduce((sum, retrier) => sum + (retrier.MaxAttempts ?? 3), 0);
}

/**
 * History events of a Lambda task state: entered and exited, and per attempt scheduled, started
 * and succeeded or failed (a timed-out attempt has no started event: fewer).
 */
const taskEvents = (name: string) => 2 + 3 * worstAttempts(name);
/** Wait and Choice states: entered and exited. */
const PASSING_STATE_EVENTS = 2;

/** Status checks in one polling phase that lasts `seconds`, on the schedule of `settings`. */
function checksIn(settings: Settings, seconds: number): number {
  let elapsed = settings.POLL_FIRST_WAIT_SECONDS;
  let checks = 1;
  while (elapsed < seconds) {
    elapsed += Math.min(nextWait(settings, elapsed), seconds - elapsed);
    checks += 1;
  }
  return checks;
}

/**
 * The most events one execution can record: REUPLOAD_MAX_ATTEMPTS + 1 polling phases, each as
 * long as the later of the deadline and MAX_WAIT_SECONDS (an outage stretches the deadline up to
 * that), every status check taking all its attempts; the re-uploads and the filing at their worst.
 */
function worstHistory(settings: Settings): { checks: number; events: number } {
  const phase = Math.max(settings.POLL_DEADLINE_SECONDS, settings.MAX_WAIT_SECONDS);
  const checksPerPhase = checksIn(settings, phase);
  const perCheck = PASSING_STATE_EVENTS + taskEvents('CheckIngestionStatus') + PASSING_STATE_EVENTS;
  const phases = settings.REUPLOAD_MAX_ATTEMPTS + 1;
  const reuploads = settings.REUPLOAD_MAX_ATTEMPTS * (PASSING_STATE_EVENTS + taskEvents('Reupload'));
  const ending = taskEvents('FileOutcome') + taskEvents('StartNextFile') + PASSING_STATE_EVENTS;
  const execution = 2; // started, and succeeded or failed
  return {
    checks: checksPerPhase * phases,
    events: phases * checksPerPhase * perCheck + reuploads + ending + execution,
  };
}

describe('the publish state machine against Step Functions limits', () => {
  it('stays under 25,000 history events with the default settings, at the worst', () => {
    const settings = loadSettings({});
    const { checks, events } = worstHistory(settings);
    // 25 h phases at a 300 s cap: about 307 checks each.
    expect(checks).toBeGreaterThan(900);
    expect(events).toBeLessThan(HISTORY_LIMIT);
  });

  it('would not with a polling deadline of two days: the bound is a real one', () => {
    const settings = loadSettings({ POLL_DEADLINE_SECONDS: String(48 * 3600) });
    expect(worstHistory(settings).events).toBeGreaterThan(HISTORY_LIMIT);
  });

  it('lasts far less than the one-year limit on an execution', () => {
    const settings = loadSettings({});
    const phase = Math.max(settings.POLL_DEADLINE_SECONDS, settings.MAX_WAIT_SECONDS);
    expect((settings.REUPLOAD_MAX_ATTEMPTS + 1) * phase).toBeLessThan(7 * 86_400);
  });
});
