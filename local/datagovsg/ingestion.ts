import type { TimerSet } from './timers.js';
import type { IngestionOutcome, StatusSpelling } from './types.js';

export type LegendStatus =
  | 'NA'
  | 'Pending'
  | 'Pending Validation'
  | 'Validation Failed'
  | 'Validation Passed'
  | 'Pending Ingestion'
  | 'Ingestion Failed'
  | 'Ingestion Success';

export interface StatusRecord {
  version: number;
  updatedAt: number;
  status: LegendStatus;
  failures: unknown;
}

export interface IngestionSettings {
  stepDelayMs(): number;
  staleFirstPolls(): number;
  now(): number;
}

const IDLE_STATUSES: ReadonlySet<LegendStatus> = new Set([
  'NA',
  'Validation Failed',
  'Ingestion Failed',
  'Ingestion Success',
]);

const STEPS: Record<IngestionOutcome, readonly LegendStatus[]> = {
  success: ['Pending', 'Pending Validation', 'Validation Passed', 'Pending Ingestion', 'Ingestion Success'],
  'validation-failed': ['Pending', 'Pending Validation', 'Validation Failed'],
  'ingestion-failed': [
    'Pending',
    'Pending Validation',
    'Validation Passed',
    'Pending Ingestion',
    'Ingestion Failed',
  ],
};

interface DatasetIngestion {
  current: StatusRecord;
  script: IngestionOutcome[];
  remainingSteps: LegendStatus[];
  validationFailures: unknown;
  stale: { snapshot: StatusRecord; remaining: number } | undefined;
}

export function spellStatus(status: LegendStatus, spelling: StatusSpelling): string {
  return spelling === 'upper-snake' ? status.toUpperCase().replaceAll(' ', '_') : status;
}

/** Per-dataset status machine, stepping on timers after each completed upload. */
export class IngestionSimulator {
  readonly #datasets = new Map<string, DatasetIngestion>();
  readonly #settings: IngestionSettings;
  readonly #timers: TimerSet;
  readonly #createdAt: number;

  constructor(settings: IngestionSettings, timers: TimerSet) {
    this.#settings = settings;
    this.#timers = timers;
    this.#createdAt = settings.now();
  }

  /** What a status poll sees: may be the pre-upload status (staleFirstPolls). */
  read(datasetId: string): StatusRecord {
    const dataset = this.#dataset(datasetId);
    if (dataset.stale && dataset.stale.remaining > 0) {
      dataset.stale.remaining -= 1;
      return { ...dataset.stale.snapshot };
    }
    dataset.stale = undefined;
    return { ...dataset.current };
  }

  peek(datasetId: string): StatusRecord {
    return { ...this.#dataset(datasetId).current };
  }

  isBusy(datasetId: string): boolean {
    return !IDLE_STATUSES.has(this.#dataset(datasetId).current.status);
  }

  script(datasetId: string, outcomes: IngestionOutcome[]): void {
    this.#dataset(datasetId).script.push(...outcomes);
  }

  /** A completed PUT: start an ingestion, or doom the one in progress (the platform refuses concurrent writes). */
  uploadReceived(datasetId: string, validationFailures: unknown): void {
    const dataset = this.#dataset(datasetId);
    this.#markStale(dataset);
    if (this.isBusy(datasetId)) {
      dataset.remainingSteps = stepsAfter(dataset.current.status, 'ingestion-failed');
      return;
    }
    const outcome = dataset.script.shift() ?? 'success';
    dataset.remainingSteps = [...STEPS[outcome]];
    dataset.validationFailures = validationFailures;
    this.#advance(dataset);
  }

  #markStale(dataset: DatasetIngestion): void {
    const remaining = this.#settings.staleFirstPolls();
    dataset.stale = remaining > 0 ? { snapshot: { ...dataset.current }, remaining } : undefined;
  }

  #advance(dataset: DatasetIngestion): void {
    const next = dataset.remainingSteps.shift();
    if (next === undefined) return;
    dataset.current = {
      version: dataset.current.version + 1,
      updatedAt: this.#settings.now(),
      status: next,
      failures: next === 'Validation Failed' ? dataset.validationFailures : null,
    };
    if (dataset.remainingSteps.length > 0) {
      this.#timers.schedule(() => this.#advance(dataset), this.#settings.stepDelayMs());
    }
  }

  #dataset(datasetId: string): DatasetIngestion {
    let dataset = this.#datasets.get(datasetId);
    if (!dataset) {
      dataset = {
        current: { version: 0, updatedAt: this.#createdAt, status: 'NA', failures: null },
        script: [],
        remainingSteps: [],
        validationFailures: null,
        stale: undefined,
      };
      this.#datasets.set(datasetId, dataset);
    }
    return dataset;
  }
}

function stepsAfter(current: LegendStatus, outcome: IngestionOutcome): LegendStatus[] {
  const steps = STEPS[outcome];
  return steps.slice(steps.indexOf(current) + 1);
}
