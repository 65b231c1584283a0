import type { TimerSet } from './timers.js';
import type { ConcurrentUploadBehaviour, IngestionOutcome, StatusSpelling, UploadFate } from './types.js';

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
  /** How long after an upload its stale answers last at most (by `now`); undefined: no limit. */
  staleForMs(): number | undefined;
  concurrentUpload(): ConcurrentUploadBehaviour;
  now(): number;
  /** Told what became of an upload (by its index) once that is known. */
  settled(upload: number, fate: UploadFate): void;
}

const FATE_OF: Partial<Record<LegendStatus, UploadFate>> = {
  'Ingestion Success': 'ingested',
  'Validation Failed': 'validation-failed',
  'Ingestion Failed': 'ingestion-failed',
};

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
  /** The upload being ingested, by index, until its last step. */
  ingesting: number | undefined;
  script: IngestionOutcome[];
  remainingSteps: LegendStatus[];
  validationFailures: unknown;
  stale: { snapshot: StatusRecord; remaining: number; since: number } | undefined;
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
    const window = this.#settings.staleForMs();
    const fresh =
      window !== undefined && dataset.stale && this.#settings.now() - dataset.stale.since > window;
    if (dataset.stale && dataset.stale.remaining > 0 && !fresh) {
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

  /**
   * A completed PUT: starts its ingestion, or, while another is in progress (the platform refuses
   * concurrent writes), discards it and, unless `discard-second`, dooms the one in progress.
   * Returns the index of the upload that was in progress, if any.
   */
  uploadReceived(datasetId: string, upload: number, validationFailures: unknown): number | null {
    const dataset = this.#dataset(datasetId);
    this.#markStale(dataset);
    if (this.isBusy(datasetId)) {
      this.#settings.settled(upload, 'discarded');
      if (this.#settings.concurrentUpload() !== 'discard-second') {
        dataset.remainingSteps = stepsAfter(dataset.current.status, 'ingestion-failed');
      }
      return dataset.ingesting ?? null;
    }
    const outcome = dataset.script.shift() ?? 'success';
    dataset.remainingSteps = [...STEPS[outcome]];
    dataset.validationFailures = validationFailures;
    dataset.ingesting = upload;
    this.#advance(dataset);
    return null;
  }

  #markStale(dataset: DatasetIngestion): void {
    const remaining = this.#settings.staleFirstPolls();
    dataset.stale =
      remaining > 0
        ? { snapshot: { ...dataset.current }, remaining, since: this.#settings.now() }
        : undefined;
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
      return;
    }
    const fate = FATE_OF[next];
    if (fate !== undefined && dataset.ingesting !== undefined)
      this.#settings.settled(dataset.ingesting, fate);
    dataset.ingesting = undefined;
  }

  #dataset(datasetId: string): DatasetIngestion {
    let dataset = this.#datasets.get(datasetId);
    if (!dataset) {
      dataset = {
        current: { version: 0, updatedAt: this.#createdAt, status: 'NA', failures: null },
        ingesting: undefined,
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
