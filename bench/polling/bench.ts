/**
 * Section 4: the real state machine (statemachines/publish-dataset.asl.json, run by
 * aws-local-stepfunctions) with the real poll decision (checkIngestion) under simulated time.
 * Wait states take 0 ms; the clock moves by the wait the state machine just did ($.poll.
 * nextWaitSeconds, read by the CheckIngestionStatus task). data.gov.sg's status is simulated: the
 * previous upload's result at first, our upload in progress from 5 s, terminal from T on.
 */
import '../../local/aws/polyfills.js';
import { readFileSync } from 'node:fs';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { type IngestionStatus, normalizeStatus, type StatusBaseline } from '../../lib/datagovsg/status.js';
import type { DatasetLock } from '../../lib/dataset-lock.js';
import { checkIngestion, initialPoll, type PollDeps, type PollSettings } from '../../lib/publish/poll.js';
import {
  type PollState,
  type PublicationState,
  publicationStateSchema,
} from '../../lib/publish/publication.js';
import * as z from '../../lib/zod.js';
import { loadAslForLocalRun } from '../../local/aws/step-functions.js';

const ASL_PATH = new URL('../../statemachines/publish-dataset.asl.json', import.meta.url);
const DATASET_ID = 'd_3c55210de27fcccda2ed0c63fdd2b352';
/** The upload finished, and the execution started, at this simulated instant. */
const UPLOADED_AT = Date.UTC(2025, 0, 6, 9, 0, 0);
/** data.gov.sg shows our upload as in progress from this long after the upload. */
const PICKED_UP_AFTER_MS = 5_000;
const BASELINE: StatusBaseline = {
  status: 'INGESTION_SUCCESS',
  version: 7,
  updatedAt: UPLOADED_AT - 86_400_000,
};
const SILENT = { debug() {}, info() {}, warn() {}, error() {} };

export interface PollRun {
  /** States entered (Standard workflows bill each state transition). */
  transitions: number;
  statusChecks: number;
  /** Simulated time from the terminal status appearing to the check that saw it. */
  lagSeconds: number;
  lagFraction: number;
  /** Simulated seconds from the upload to the check that saw the terminal status. */
  detectedAtSeconds: number;
  result: string | undefined;
  /** How often each state was entered. */
  states: Record<string, number>;
}

export interface PollingScenario {
  ingestionSeconds: number;
  ours: PollRun;
  /** The same machine and code with a fixed 30 s wait (first wait and cap 30 s). */
  fixed30: PollRun;
  /** ours' transitions divided by the fixed 30 s poll's. */
  transitionRatio: number;
}

export interface PollingBenchResult {
  settings: PollSettings;
  scenarios: PollingScenario[];
  /** Worst lag over ingestions of every length from 30 s (the first wait) to 2 h in 5 s steps (checkIngestion alone). */
  sweep: {
    fromSeconds: number;
    toSeconds: number;
    stepSeconds: number;
    worstLagFraction: number;
    worstAtSeconds: number;
    worstLagSeconds: number;
    worstLagSecondsAt: number;
  };
}

/** The settings that shape polling, for the report (the rest, API keys included, stays out). */
const POLL_SETTING = /^(POLL_|REUPLOAD_|LOCK_POLL_|UNCONFIRMED_)/;

function reportedSettings(settings: PollSettings): PollSettings {
  return Object.fromEntries(
    Object.entries(settings).filter(([name]) => POLL_SETTING.test(name)),
  ) as PollSettings;
}

/** `settings` as lib/config.ts reads them (all of them, so that a new poll setting is never missing). */
export async function runPollingBench(
  settings: PollSettings,
  ingestionSeconds: readonly number[],
): Promise<PollingBenchResult> {
  const definition: object = loadAslForLocalRun(JSON.parse(readFileSync(ASL_PATH, 'utf8')));
  // Validation costs 150–350 ms: one machine for every run.
  const machine = new StateMachine(definition as StateMachineDefinition, {
    validationOptions: { checkArn: false, checkPaths: true },
  });
  // Every wait is min(cap, (rate − 1) × elapsed) with elapsed ≥ the first wait: a rate of 2 and a
  // cap of 30 s give 30 s each time.
  const fixed30: PollSettings = {
    ...settings,
    POLL_FIRST_WAIT_SECONDS: 30,
    POLL_BACKOFF_RATE: 2,
    POLL_MAX_WAIT_SECONDS: 30,
  };
  const scenarios: PollingScenario[] = [];
  for (const seconds of ingestionSeconds) {
    const ours = await execute(machine, settings, seconds);
    const fixed = await execute(machine, fixed30, seconds);
    scenarios.push({
      ingestionSeconds: seconds,
      ours,
      fixed30: fixed,
      transitionRatio: ours.transitions / fixed.transitions,
    });
  }
  return { settings: reportedSettings(settings), scenarios, sweep: await sweep(settings, 30, 7200, 5) };
}

/** A simulated clock and data.gov.sg whose ingestion of our upload ends `ingestionSeconds` after it. */
function simulation(settings: PollSettings, ingestionSeconds: number) {
  let now = UPLOADED_AT;
  const terminalAt = UPLOADED_AT + ingestionSeconds * 1000;
  let detectedAt: number | undefined;
  let statusChecks = 0;
  const status = (raw: string, version: number, updatedAt: number): IngestionStatus => ({
    status: normalizeStatus(raw),
    rawStatus: raw,
    version,
    updatedAt,
    failures: null,
  });
  const lock: DatasetLock = {
    acquire: async () => ({ acquired: false, current: undefined }),
    update: async () => undefined,
    release: async () => true,
    get: async () => undefined,
  };
  const deps: PollDeps = {
    settings,
    log: SILENT,
    now: () => new Date(now),
    lock,
    dgs: {
      ingestionStatus: async () => {
        statusChecks += 1;
        if (now >= terminalAt) return status('Ingestion Success', 8, terminalAt);
        if (now >= UPLOADED_AT + PICKED_UP_AFTER_MS) {
          return status('Pending Ingestion', 8, UPLOADED_AT + PICKED_UP_AFTER_MS);
        }
        return status('Ingestion Success', BASELINE.version ?? 0, BASELINE.updatedAt ?? 0);
      },
    },
  };
  const iso = new Date(UPLOADED_AT).toISOString();
  const input: PublicationState = {
    publication: {
      publicationId: 'bench',
      lockToken: 'bench-token',
      bucket: 'bench-drop',
      sourceKey: `incoming/${DATASET_ID}/append/bench.csv`,
      datasetRef: DATASET_ID,
      datasetId: DATASET_ID,
      mode: 'append',
      newColumns: false,
      size: 1,
      etag: '0'.repeat(32),
      md5Hex: '0'.repeat(32),
      md5Base64: Buffer.alloc(16).toString('base64'),
      droppedAt: iso,
      requestedBy: null,
      droppedBy: null,
      uploads: [{ startedAt: iso, finishedAt: iso, baseline: BASELINE, links: 1, unconfirmed: false }],
    },
    poll: initialPoll(settings, new Date(UPLOADED_AT)),
  };
  return {
    input,
    deps,
    /** The Wait state before this check lasted `seconds` of simulated time. */
    advance(seconds: number) {
      now += seconds * 1000;
    },
    observe(poll: PollState) {
      if (poll.decision !== 'wait' && detectedAt === undefined) detectedAt = now;
    },
    outcome() {
      const detected = detectedAt ?? Number.NaN;
      const lagSeconds = (detected - terminalAt) / 1000;
      return {
        statusChecks,
        lagSeconds,
        lagFraction: lagSeconds / ingestionSeconds,
        detectedAtSeconds: (detected - UPLOADED_AT) / 1000,
      };
    },
  };
}

async function execute(
  machine: StateMachine,
  settings: PollSettings,
  ingestionSeconds: number,
): Promise<PollRun> {
  const sim = simulation(settings, ingestionSeconds);
  const toJson = (value: unknown) => JSON.parse(JSON.stringify(value));
  let result: string | undefined;
  const run = machine.run(toJson(sim.input), {
    overrides: {
      taskResourceLocalHandlers: {
        // As functions/sfn-check-status.ts: parse the state, one checkIngestion; the result goes
        // through JSON as a Lambda's does.
        CheckIngestionStatus: async (input) => {
          const state = z.parse(publicationStateSchema, input);
          sim.advance(state.poll.nextWaitSeconds);
          const poll = await checkIngestion(sim.deps, state);
          sim.observe(poll);
          result = poll.result;
          return toJson(poll);
        },
        Reupload: async () => {
          throw new Error('no re-upload expected: the simulated ingestion succeeds');
        },
        FileOutcome: async () => ({ filed: true }),
        StartNextFile: async () => ({}),
      },
      waitTimeOverrides: { WaitForIngestion: 0, WaitBeforeReupload: 0 },
      retryIntervalOverrides: { CheckIngestionStatus: 0, Reupload: 0, FileOutcome: 0, StartNextFile: 0 },
    },
  });
  const states: Record<string, number> = {};
  let transitions = 0;
  const logs = (async () => {
    for await (const event of run.eventLogs) {
      if (event.type !== 'StateEntered') continue;
      transitions += 1;
      states[event.state.name] = (states[event.state.name] ?? 0) + 1;
    }
  })();
  await run.result;
  await logs;
  return { transitions, result, states, ...sim.outcome() };
}

/**
 * The worst detection lag (as a fraction of the ingestion time, and in seconds) over many
 * ingestion times, from the same checkIngestion loop without the state machine (cheap).
 */
async function sweep(
  settings: PollSettings,
  fromSeconds: number,
  toSeconds: number,
  stepSeconds: number,
): Promise<PollingBenchResult['sweep']> {
  let worstLagFraction = 0;
  let worstAtSeconds = fromSeconds;
  let worstLagSeconds = 0;
  let worstLagSecondsAt = fromSeconds;
  for (let seconds = fromSeconds; seconds <= toSeconds; seconds += stepSeconds) {
    const sim = simulation(settings, seconds);
    let state = sim.input;
    for (let check = 0; check < 10_000; check++) {
      sim.advance(state.poll.nextWaitSeconds);
      const poll = await checkIngestion(sim.deps, state);
      sim.observe(poll);
      if (poll.decision !== 'wait') break;
      state = { ...state, poll };
    }
    const { lagFraction, lagSeconds } = sim.outcome();
    if (lagFraction > worstLagFraction) {
      worstLagFraction = lagFraction;
      worstAtSeconds = seconds;
    }
    if (lagSeconds > worstLagSeconds) {
      worstLagSeconds = lagSeconds;
      worstLagSecondsAt = seconds;
    }
  }
  return {
    fromSeconds,
    toSeconds,
    stepSeconds,
    worstLagFraction,
    worstAtSeconds,
    worstLagSeconds,
    worstLagSecondsAt,
  };
}
