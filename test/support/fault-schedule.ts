/**
 * Randomized fault schedules for the whole local pipeline (issue 12): each schedule drops a
 * random set of files (replace and append, across datasets, some at the same key, with lost and
 * duplicated events) while a random schedule of faults strikes (data.gov.sg 429/5xx bursts,
 * dropped connections, PUTs cut at random bytes, slow answers, stale statuses, outside uploads,
 * lock-store outages, SSM throttling, functions killed before, during and after a send), then lets
 * it settle (faults stop, time passes, the sweep runs) and checks the invariants of the issue
 * against what the local data.gov.sg recorded. A schedule is a pure function of its seed, so a
 * failure is replayed with `npm run soak -- --seed S --runs 1` (timing may still vary).
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { fileLeaseId } from '../../lib/file-lease.js';
import type { PublishReport } from '../../lib/publish/file-outcome.js';
import type { ConcurrentUploadBehaviour, IngestionOutcome } from '../../local/datagovsg/types.js';
import type { LocalPipeline, LocalPipelineOptions } from '../../local/pipeline.js';
import { uploadOutsidePipeline } from '../e2e/support.js';
import { type KillPlan, ProcessFaults } from './process-faults.js';

/** A small seeded generator (mulberry32): the same seed gives the same schedule. */
export function seeded(seed: number) {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (low: number, high: number) => low + Math.floor(next() * (high - low + 1)),
    chance: (probability: number) => next() < probability,
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
  };
}
type Random = ReturnType<typeof seeded>;

const DATASETS = [
  { alias: 'resident-population', id: 'd_3c55210de27fcccda2ed0c63fdd2b352', header: 'year,sex,population' },
  {
    alias: 'operating-expenditure',
    id: 'd_8b84c4ee58e3cfc0ece0d773c8ca6abc',
    header: 'financial_year,ministry,expenditure_sgd_million',
  },
  {
    alias: 'online-transactions',
    id: 'd_5f2a6e1b9c0d4e7f8a3b2c1d0e9f8a7b',
    header: 'month,service,transactions,digital_share_pct',
  },
] as const;
type Dataset = (typeof DATASETS)[number];

const PP = { group: 'carers-allowance', type: 'transaction-count' } as const;
const KILLABLE = ['upload', 'task:Reupload', 'task:CheckIngestionStatus', 'task:FileOutcome', 'forwarder'];
const TARGETS = ['ingestion-status', 'upload-link', 'append-link', 'metadata', 'put'] as const;

/** Advice a person must never get for a file whose bytes may be in the dataset. */
const DROP_AGAIN = /drop (the file|it) again/i;

export interface ScheduledDrop {
  at: number;
  key: string;
  dataset: Dataset;
  body: string;
  /** Extra deliveries of its event (0: once), or lost. */
  deliveries: number;
  kind: 'good' | 'bad-csv';
}

interface ScheduledFault {
  at: number;
  describe: string;
  apply: (p: LocalPipeline, faults: ProcessFaults) => Promise<void> | void;
}

export interface Schedule {
  seed: number;
  drops: ScheduledDrop[];
  faults: ScheduledFault[];
  pp: { at: number; key: string; records: number; deliveries: number } | undefined;
  options: {
    staleFirstPolls: number;
    concurrentUpload: ConcurrentUploadBehaviour;
    stepDelayMs: number;
    apiKeyFromSsm: boolean;
    killChance: number;
    scripts: Array<{ datasetId: string; outcomes: IngestionOutcome[] }>;
  };
}

/** The schedule of a seed: what is dropped when, and which faults strike when. */
export function generateSchedule(seed: number): Schedule {
  const random = seeded(seed);
  const datasets = DATASETS.filter(() => random.chance(0.6));
  if (datasets.length === 0) datasets.push(random.pick(DATASETS));
  const drops: ScheduledDrop[] = [];
  const waves = random.int(1, 3);
  let at = 0;
  for (let wave = 0; wave < waves; wave++) {
    at += random.int(0, 400);
    for (let i = random.int(1, 4); i > 0; i--) {
      const dataset = random.pick(datasets);
      const mode = random.chance(0.6) ? 'append' : 'replace';
      const name = random.pick(['a.csv', 'b.csv', 'c.csv']);
      const kind = random.chance(0.06) ? 'bad-csv' : 'good';
      drops.push({
        at: at + random.int(0, 60),
        key: `incoming/${dataset.alias}/${mode}/${name}`,
        dataset,
        body: csvBody(dataset, seed, drops.length, kind, random),
        deliveries: random.chance(0.15) ? -1 : random.chance(0.2) ? random.int(1, 2) : 0,
        kind,
      });
    }
  }
  const window = at + 600;
  const faults: ScheduledFault[] = [];
  for (let i = random.int(0, 5); i > 0; i--) faults.push(dataGovSgFault(random, window));
  if (random.chance(0.3)) faults.push(outsideUpload(random, window, datasets));
  const apiKeyFromSsm = random.chance(0.5);
  if (apiKeyFromSsm) {
    for (let i = random.int(0, 2); i > 0; i--) {
      const fault = random.chance(0.7) ? 'throttled' : 'server-error';
      const times = random.int(1, 6);
      faults.push({
        at: random.int(0, window),
        describe: `SSM ${fault} x${times}`,
        apply: (p) => p.ssm?.fault(fault, times),
      });
    }
  }
  if (random.chance(0.3)) faults.push(lockStoreOutage(random, window));
  const scripts = datasets.map((dataset) => ({
    datasetId: dataset.id,
    outcomes: Array.from({ length: random.int(0, 4) }, () =>
      random.pick<IngestionOutcome>([
        'success',
        'success',
        'success',
        'validation-failed',
        'ingestion-failed',
      ]),
    ),
  }));
  const pp = random.chance(0.25)
    ? {
        at: random.int(0, window),
        key: `incoming/performance/${PP.group}/${PP.type}/records-${seed}.ndjson`,
        records: random.int(20, 250),
        deliveries: random.int(0, 2),
      }
    : undefined;
  return {
    seed,
    drops: drops.sort((a, b) => a.at - b.at),
    faults: faults.sort((a, b) => a.at - b.at),
    pp,
    options: {
      staleFirstPolls: random.pick([0, 0, 1]),
      concurrentUpload: random.pick<ConcurrentUploadBehaviour>(['fail-ingestion', 'refuse-link']),
      stepDelayMs: random.int(3, 40),
      apiKeyFromSsm,
      killChance: random.pick([0, 0, 0.08, 0.15, 0.25]),
      scripts,
    },
  };
}

function csvBody(
  dataset: Dataset,
  seed: number,
  index: number,
  kind: ScheduledDrop['kind'],
  random: Random,
): string {
  const unique = `${seed}${String(index).padStart(3, '0')}`;
  const rows = Array.from({ length: random.int(1, 40) }, (_, row) => rowOf(dataset, Number(unique) + row));
  if (kind === 'bad-csv') rows.push(rowOf(dataset, 1).replace(/,(\d+)$/, ',12O'));
  return `${dataset.header}\n${rows.join('\n')}\n`;
}

function rowOf(dataset: Dataset, n: number): string {
  switch (dataset.alias) {
    case 'resident-population':
      return `${2000 + (n % 25)},${n % 2 ? 'female' : 'male'},${n}`;
    case 'operating-expenditure':
      return `${2000 + (n % 25)},M${n % 7},${n}`;
    case 'online-transactions':
      return `2024-0${(n % 9) + 1},service ${n % 5},${n},${n % 100}`;
  }
}

function dataGovSgFault(random: Random, window: number): ScheduledFault {
  const endpoint = random.pick(TARGETS);
  const times = random.int(1, 6);
  const kind = random.pick(['status', 'status', 'reset', 'slow'] as const);
  if (kind === 'status') {
    const status = random.pick([429, 500, 502, 503]);
    return {
      at: random.int(0, window),
      describe: `${endpoint} ${status} x${times}`,
      apply: (p) => p.dataGovSg?.fault({ endpoint, status, times }),
    };
  }
  if (kind === 'reset') {
    const resetAfterBytes = endpoint === 'put' ? random.int(0, 300) : 0;
    return {
      at: random.int(0, window),
      describe: `${endpoint} reset after ${resetAfterBytes} bytes x${times}`,
      apply: (p) => p.dataGovSg?.fault({ endpoint, resetAfterBytes, times }),
    };
  }
  const delayMs = random.int(50, 500);
  return {
    at: random.int(0, window),
    describe: `${endpoint} slow ${delayMs} ms x${times}`,
    apply: (p) => p.dataGovSg?.fault({ endpoint, delayMs, times }),
  };
}

/** Someone uploading in the web UI (or another tool) while the pipeline works. */
function outsideUpload(random: Random, window: number, datasets: Dataset[]): ScheduledFault {
  const dataset = random.pick(datasets);
  const body = Buffer.from(`${dataset.header}\n${rowOf(dataset, 999_999_000 + random.int(0, 999))}\n`);
  return {
    at: random.int(0, window),
    describe: `outside upload to ${dataset.alias}`,
    apply: async (p) => {
      try {
        await uploadOutsidePipeline(p, dataset.id, body);
      } catch {
        // A refused link or a failed PUT is what an outside uploader would also meet.
      }
    },
  };
}

function lockStoreOutage(random: Random, window: number): ScheduledFault {
  const start = random.int(0, window);
  const length = random.int(50, 500);
  return {
    at: start,
    describe: `lock store down for ${length} ms`,
    apply: (_p, faults) => {
      const until = Date.now() + length;
      const previous = faults.fail;
      faults.fail = (target, operation, invocation) =>
        target === 'dynamodb' && Date.now() < until
          ? Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4567'), { code: 'ECONNREFUSED' })
          : previous(target, operation, invocation);
    },
  };
}

function killPlan(random: Random, name: string, chance: number): KillPlan | undefined {
  if (!KILLABLE.includes(name) || !random.chance(chance)) return undefined;
  if (random.chance(0.3)) return { atBodyByte: random.int(1, 400) };
  const index = random.int(1, 14);
  return { atCall: (call) => call.index === index };
}

export interface ScheduleResult {
  seed: number;
  violations: string[];
  /** What happened, for a failure's message and for the soak's totals. */
  summary: {
    drops: number;
    outcomes: Record<string, number>;
    uploads: number;
    kills: number;
    faults: string[];
    /**
     * Files whose turn on their dataset met an upload from outside the pipeline: data.gov.sg's
     * status is per dataset, so that upload's result may have been taken for theirs (the limit the
     * README states); their reports' claims are not checked against data.gov.sg's record.
     */
    masked: string[];
  };
}

export interface RunOptions {
  /** Starts the pipeline (the tests' startFastPipeline registers its secrets with the scan). */
  start: (options: LocalPipelineOptions) => Promise<LocalPipeline>;
  /** Longest wait for the pipeline to settle, per settling round. */
  settleTimeoutMs?: number;
}

/** Runs one schedule on a fresh pipeline and checks the invariants; never throws for a violation. */
export async function runSchedule(seed: number, options: RunOptions): Promise<ScheduleResult> {
  const schedule = generateSchedule(seed);
  const random = seeded(seed ^ 0x5bd1e995);
  const faults = new ProcessFaults();
  faults.plan = (name) => killPlan(random, name, schedule.options.killChance);
  let offsetMs = 0;
  const pipeline = await options.start({
    fastWaitMs: 5,
    deliverEvents: false,
    interceptor: faults,
    now: () => new Date(Date.now() + offsetMs),
    asyncRetries: { attempts: 2, delayMs: 20 },
    apiKeyFromSsm: schedule.options.apiKeyFromSsm,
    dataGovSg: {
      stepDelayMs: schedule.options.stepDelayMs,
      staleFirstPolls: schedule.options.staleFirstPolls,
      // Stale for seconds, on the pipeline's clock: a take-over after a lease reads the truth.
      staleForMs: 30_000,
      now: () => Date.now() + offsetMs,
      concurrentUpload: schedule.options.concurrentUpload,
    },
    env: {
      DGS_MAX_ATTEMPTS: '2',
      DGS_REQUEST_TIMEOUT_MS: '300',
      DGS_API_KEY_MAX_AGE_SECONDS: '0',
      UPLOAD_IDLE_TIMEOUT_SECONDS: '1',
      UNCONFIRMED_GRACE_SECONDS: '1',
      POLL_DEADLINE_SECONDS: '60',
      MAX_WAIT_SECONDS: '864000',
      SWEEP_MIN_AGE_SECONDS: '0',
      PP_MAX_ATTEMPTS: '2',
    },
  });
  const dropped: Array<ScheduledDrop & { putStartedAt: number; putDoneAt: number }> = [];
  const violations: string[] = [];
  try {
    for (const script of schedule.options.scripts)
      pipeline.dataGovSg?.script(script.datasetId, script.outcomes);
    const started = Date.now();
    const keyDone = new Map<string, Promise<void>>();
    const until = (at: number) => sleep(Math.max(0, started + at - Date.now()));
    const timeline: Array<Promise<void>> = [
      ...schedule.faults.map(async (fault) => {
        await until(fault.at);
        await fault.apply(pipeline, faults);
      }),
      ...schedule.drops.map(async (drop) => {
        await until(drop.at);
        // A person drops again at a key after the earlier drop finished (S3 orders writes to a key).
        const previous = keyDone.get(drop.key);
        const done = (async () => {
          await previous;
          const putStartedAt = Date.now();
          await pipeline.drop(drop.key, drop.body);
          dropped.push({ ...drop, putStartedAt, putDoneAt: Date.now() });
        })();
        keyDone.set(drop.key, done);
        await done;
        await deliver(pipeline, drop.key, drop.deliveries);
      }),
    ];
    if (schedule.pp) {
      const pp = schedule.pp;
      timeline.push(
        (async () => {
          await until(pp.at);
          await pipeline.drop(pp.key, ppRecords(pp.records, seed));
          await deliver(pipeline, pp.key, pp.deliveries);
        })(),
      );
    }
    await Promise.all(timeline);
    // The faults stop; time passes (leases of dead runs run out) and the sweep finds what is left.
    faults.plan = () => undefined;
    faults.fail = () => undefined;
    pipeline.dataGovSg?.clearFaults();
    pipeline.ssm?.clearFaults();
    await settle(
      pipeline,
      options.settleTimeoutMs ?? 60_000,
      (seconds) => {
        offsetMs += seconds * 1000;
      },
      violations,
      () => Date.now() + offsetMs,
    );
    const masked: string[] = [];
    violations.push(
      ...(await checkInvariants(pipeline, dropped, schedule, masked, () => Date.now() + offsetMs)),
    );
    const reports = await allReports(pipeline);
    const outcomes: Record<string, number> = {};
    for (const report of reports) outcomes[report.outcome] = (outcomes[report.outcome] ?? 0) + 1;
    return {
      seed,
      violations,
      summary: {
        drops: dropped.length,
        outcomes,
        uploads: pipeline.dataGovSg?.uploads().length ?? 0,
        kills: faults.kills.length,
        masked,
        faults: [
          ...schedule.faults.map((fault) => fault.describe),
          ...faults.kills.map((kill) => `killed ${kill.invocation} at ${kill.at}`),
          `stale ${schedule.options.staleFirstPolls}, ${schedule.options.concurrentUpload}, key from ${schedule.options.apiKeyFromSsm ? 'SSM' : 'env'}`,
        ],
      },
    };
  } finally {
    await pipeline.close();
  }
}

async function deliver(pipeline: LocalPipeline, key: string, deliveries: number): Promise<void> {
  if (deliveries < 0) return;
  await Promise.all(Array.from({ length: deliveries + 1 }, () => pipeline.redeliver(key)));
}

function ppRecords(count: number, seed: number): string {
  return `${Array.from({ length: count }, (_, i) =>
    JSON.stringify({ _timestamp: '2024-01-01T00:00:00Z', channel: `s${seed}-${i}`, count: i }),
  ).join('\n')}\n`;
}

/** Waits, lets leases run out and sweeps until nothing is left in incoming/ or held, or gives up. */
async function settle(
  pipeline: LocalPipeline,
  timeoutMs: number,
  advance: (seconds: number) => void,
  violations: string[],
  now: () => number,
): Promise<void> {
  for (let round = 0; round < 12; round++) {
    const idle = await Promise.race([
      pipeline.whenIdle().then(() => true),
      sleep(timeoutMs).then(() => false),
    ]);
    if (!idle) {
      violations.push(
        `the pipeline did not settle within ${timeoutMs} ms (round ${round}): ${await stillRunning(pipeline)}`,
      );
      return;
    }
    const waiting = await pipeline.keys('incoming/');
    const held = await heldLocks(pipeline, waiting, now());
    if (waiting.length === 0 && held.length === 0) return;
    advance(Math.max(pipeline.settings.LOCK_POLL_LEASE_SECONDS, pipeline.settings.PP_FILE_LEASE_SECONDS) + 1);
    await pipeline.sweep();
  }
  violations.push(`still waiting after 12 sweeps: ${(await pipeline.keys('incoming/')).join(', ')}`);
}

/** What keeps the pipeline busy: executions (their last states and input), locks, statuses. */
async function stillRunning(pipeline: LocalPipeline): Promise<string> {
  const executions = pipeline.stepFunctions
    .executions()
    .filter((execution) => execution.status === 'RUNNING')
    .map((execution) => {
      const input = JSON.parse(execution.input) as {
        publication?: { sourceKey?: string; uploads?: unknown[] };
      };
      return `${execution.name} on ${input.publication?.sourceKey} (${input.publication?.uploads?.length} uploads): ${execution.statesEntered.length} states, last ${execution.statesEntered.slice(-6).join(' > ')}`;
    });
  const functions = pipeline.lambda
    .invocations()
    .filter((invocation) => invocation.status === 'RUNNING')
    .map((invocation) => `${invocation.functionName} ${JSON.stringify(invocation.event).slice(0, 120)}`);
  const locks = await Promise.all(DATASETS.map((dataset) => pipeline.lock.get(dataset.id)));
  const statuses = DATASETS.map((dataset) => JSON.stringify(pipeline.dataGovSg?.statusOf(dataset.id)));
  return JSON.stringify({
    executions,
    functions,
    locks: locks.filter(Boolean).map((lock) => ({ ...lock, resumeState: lock?.resumeState?.slice(0, 400) })),
    statuses,
    uploads: pipeline.dataGovSg?.uploads().map((upload) => `${upload.md5Hex.slice(0, 8)} ${upload.fate}`),
  });
}

/**
 * Locks whose lease still runs on the pipeline's clock. A record past its lease blocks nothing
 * (the next acquire takes it, DynamoDB's TTL deletes it): one whose release met a lock-store
 * outage is left so, and that is not a held lock.
 */
async function heldLocks(pipeline: LocalPipeline, waiting: string[], nowMs: number): Promise<string[]> {
  const ids = [
    ...DATASETS.map((dataset) => dataset.id),
    ...waiting.map((key) => fileLeaseId(pipeline.bucket, key)),
  ];
  const records = await Promise.all(ids.map((id) => pipeline.lock.get(id)));
  return records.flatMap((record) => (record && record.leaseExpiresAt > nowMs ? [record.datasetId] : []));
}

async function allReports(pipeline: LocalPipeline): Promise<PublishReport[]> {
  const keys = (await pipeline.keys('')).filter((key) => key.endsWith('.report.json'));
  const reports = await Promise.all(keys.map((key) => pipeline.report(key.slice(0, -'.report.json'.length))));
  return reports.filter((report): report is PublishReport => report !== undefined);
}

/**
 * Whether data.gov.sg received an upload from outside the pipeline during this file's turn on its
 * dataset: between the upload of ours before this file's first send and the one after its last
 * (or at all, for a file none of whose sends arrived). Counted by the order data.gov.sg received
 * uploads in, which no clock skews.
 */
function outsideUploadInTurn(
  uploads: ReadonlyArray<{ datasetId: string; md5Hex: string }>,
  ours: ReadonlySet<string>,
  datasetId: string,
  hash: string,
): boolean {
  const onDataset = uploads.filter((upload) => upload.datasetId === datasetId);
  const first = onDataset.findIndex((upload) => upload.md5Hex === hash);
  const last = onDataset.findLastIndex((upload) => upload.md5Hex === hash);
  // Never received (its sends lost): any outside upload may have been the one it took for its own.
  if (first < 0) return onDataset.some((upload) => !ours.has(upload.md5Hex));
  const isOurs = (index: number) => ours.has(onDataset[index]?.md5Hex ?? '');
  let from = first;
  while (from > 0 && !isOurs(from - 1)) from -= 1;
  let to = last;
  while (to < onDataset.length - 1 && !isOurs(to + 1)) to += 1;
  return onDataset.slice(from, to + 1).some((upload) => !ours.has(upload.md5Hex));
}

function md5(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

/** The issue's invariants, against what the local data.gov.sg and the bucket hold. */
async function checkInvariants(
  pipeline: LocalPipeline,
  dropped: Array<ScheduledDrop & { putStartedAt: number; putDoneAt: number }>,
  schedule: Schedule,
  masked: string[],
  now: () => number,
): Promise<string[]> {
  const violations: string[] = [];
  const dgs = pipeline.dataGovSg;
  if (!dgs) return ['no local data.gov.sg'];
  const uploads = dgs.uploads();
  const reports = (await allReports(pipeline)).filter(
    (report) => !report.sourceKey.startsWith('incoming/performance/'),
  );
  const keysNow = new Set(await pipeline.keys(''));
  const events = pipeline.eventBridge.events();
  const ours = new Set(dropped.map((drop) => md5(drop.body)));
  const lastAtKey = new Map(dropped.map((drop) => [drop.key, drop]));

  const waiting = await pipeline.keys('incoming/');
  if (waiting.length > 0) violations.push(`left in incoming/: ${waiting.join(', ')}`);
  const held = await heldLocks(pipeline, [], now());
  if (held.length > 0) violations.push(`locks still held: ${held.join(', ')}`);

  for (const drop of dropped) {
    const hash = md5(drop.body);
    const name = `${drop.key} (${hash.slice(0, 8)})`;
    const filed = reports.filter(
      (report) => report.sourceKey === drop.key && report.fileKey.includes(`-${hash.slice(0, 8)}`),
    );
    const sent = uploads.filter((upload) => upload.md5Hex === hash);
    const ingested = sent.filter((upload) => upload.fate === 'ingested');
    if (filed.length > 1)
      violations.push(`${name}: ${filed.length} reports (${filed.map((r) => r.fileKey).join(', ')})`);
    if (filed.length === 0 && (sent.length > 0 || lastAtKey.get(drop.key) === drop)) {
      violations.push(
        `${name}: no report, though ${sent.length > 0 ? `sent ${sent.length} time(s)` : 'the last drop at its key'}`,
      );
    }
    // An outside upload's Ingestion Failed taken for this file's makes it send again, though its
    // own send was ingested: the stated limit, listed with the masked files, not a violation.
    const inOutsideTurn = outsideUploadInTurn(uploads, ours, drop.dataset.id, hash);
    if (ingested.length > 1 && inOutsideTurn) masked.push(`${name}: ingested ${ingested.length} times`);
    else if (ingested.length > 1) violations.push(`${name}: ingested ${ingested.length} times`);
    if (sent.some((upload) => upload.datasetId !== drop.dataset.id))
      violations.push(`${name}: sent to another dataset`);
    if (sent.some((upload) => upload.fate === 'pending'))
      violations.push(`${name}: an ingestion never ended`);
    const report = filed[0];
    if (!report) continue;
    // Every other invariant holds regardless; only what the report claims of the outcome may be wrong.
    const claimsChecked = !inOutsideTurn;
    if (!claimsChecked) masked.push(`${name}: ${report.outcome}`);
    if (claimsChecked && report.outcome === 'published' && ingested.length !== 1) {
      violations.push(
        `${name}: reported published, ingested ${ingested.length} times (fates ${sent.map((u) => u.fate).join(', ') || 'none'})`,
      );
    }
    if (report.outcome === 'published' && report.finalStatus === null)
      violations.push(`${name}: published without a final status`);
    if (claimsChecked && report.outcome === 'failed' && ingested.length > 0) {
      violations.push(`${name}: reported failed (${report.error?.code}) but its rows were ingested`);
    }
    if (report.uploads < sent.length) {
      violations.push(
        `${name}: the report says ${report.uploads} upload(s), data.gov.sg received ${sent.length}`,
      );
    }
    if (report.md5 !== null && report.md5 !== hash)
      violations.push(`${name}: the report's md5 is ${report.md5}`);
    if (report.datasetId !== drop.dataset.id)
      violations.push(`${name}: the report names dataset ${report.datasetId}`);
    const mayBeIn = sent.some((upload) => upload.fate === 'ingested' || upload.fate === 'pending');
    if (
      (report.outcome === 'unconfirmed' || (mayBeIn && claimsChecked)) &&
      DROP_AGAIN.test(report.error?.message ?? '')
    ) {
      violations.push(
        `${name}: ${report.outcome} (${report.error?.code}) advises dropping it again: ${report.error?.message}`,
      );
    }
    // Without the dataset's columns the check cannot know which are NUMERIC. A bad CSV never
    // reaches data.gov.sg whole, masked or not; only its report's verdict may be masked.
    if (drop.kind === 'bad-csv' && report.check?.metadata !== 'not-compared') {
      if (sent.length > 0) violations.push(`${name}: a bad CSV reached data.gov.sg whole`);
      else if (claimsChecked && report.outcome !== 'failed')
        violations.push(`${name}: a bad CSV was ${report.outcome}`);
    }
    if (!keysNow.has(report.fileKey) && !report.notes.some((note) => /not kept at/.test(note))) {
      violations.push(`${name}: ${report.fileKey} is missing and the report does not say why`);
    }
    if (keysNow.has(report.fileKey)) {
      const output = await pipeline.s3.send(
        new GetObjectCommand({ Bucket: pipeline.bucket, Key: report.fileKey }),
      );
      if (md5((await output.Body?.transformToString()) ?? '') !== hash) {
        violations.push(`${name}: ${report.fileKey} holds another version`);
      }
    }
    const told = events.filter((event) => (event.detail as { fileKey?: string }).fileKey === report.fileKey);
    if (told.length === 0) violations.push(`${name}: no event for its outcome`);
    if (told.some((event) => (event.detail as { outcome?: string }).outcome !== report.outcome)) {
      violations.push(`${name}: an event says another outcome`);
    }
  }

  // One upload at a time per dataset, of ours.
  for (const upload of uploads) {
    const during = upload.arrivedDuring === null ? undefined : uploads[upload.arrivedDuring];
    if (during && ours.has(upload.md5Hex) && ours.has(during.md5Hex)) {
      violations.push(
        `two uploads to ${upload.datasetId} at once: ${upload.md5Hex.slice(0, 8)} arrived during ${during.md5Hex.slice(0, 8)}`,
      );
    }
  }

  // Key order: of two files of a dataset both ingested, one with a smaller key dropped (its PUT done)
  // before the other's PUT began was waiting whenever the other was chosen, so it went first.
  const ingestedAt = new Map<string, number>();
  uploads.forEach((upload, index) => {
    if (upload.fate === 'ingested') ingestedAt.set(upload.md5Hex, index);
  });
  for (const earlier of dropped) {
    for (const later of dropped) {
      if (earlier.dataset !== later.dataset || earlier.key >= later.key) continue;
      if (earlier.putDoneAt >= later.putStartedAt) continue;
      const a = ingestedAt.get(md5(earlier.body));
      const b = ingestedAt.get(md5(later.body));
      if (a !== undefined && b !== undefined && a > b) {
        violations.push(
          `out of key order in ${earlier.dataset.alias}: ${later.key} was ingested before ${earlier.key}, which waited before it`,
        );
      }
    }
  }

  if (schedule.pp) {
    const records = (await pipeline.performancePlatform?.records(PP.group, PP.type)) ?? [];
    const channels = records.map((record) => String((record as { channel?: unknown }).channel));
    const mine = channels.filter((channel) => channel.startsWith(`s${schedule.seed}-`));
    if (mine.length !== schedule.pp.records || new Set(mine).size !== mine.length) {
      violations.push(`performance file: ${mine.length} records stored of ${schedule.pp.records}`);
    }
    const filed = (await pipeline.outcomes(schedule.pp.key)).length;
    if (filed !== 1) violations.push(`performance file: ${filed} reports`);
  }

  // A function may die (killed) or fail for a passing reason; anything else is a bug.
  const expected =
    /^(Sandbox\.Timedout|LockStoreUnavailableError|DgsTransientError|ParameterUnavailableError|PpForwardDeferredError|LockLostError)$/;
  for (const invocation of pipeline.lambda.invocations()) {
    if (invocation.status === 'FAILED' && !expected.test(invocation.error?.errorType ?? '')) {
      violations.push(
        `${invocation.functionName} failed: ${invocation.error?.errorType}: ${invocation.error?.errorMessage}`,
      );
    }
  }
  return violations;
}
