import type { Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';

/**
 * What govpub measures, in one place: the names here are what the functions emit (CloudWatch
 * embedded metric format, through Powertools), what the alarms and the dashboard in
 * serverless.yml name, and what the tests read, so the three cannot drift apart.
 *
 * The namespace is `govpub/<stage>` (POWERTOOLS_METRICS_NAMESPACE, set by serverless.yml): two
 * stages never share a metric, and every metric has the one dimension Powertools always adds
 * (`service`), so an alarm names it by `service` alone. The two by-code metrics add `errorCode`.
 */
export const METRICS_NAMESPACE_PREFIX = 'govpub';
export const SERVICE_DIMENSION = 'service';
export const ERROR_CODE_DIMENSION = 'errorCode';

/** Every metric and its CloudWatch unit. */
export const METRIC_UNITS = {
  /** A file filed in processed/ (data.gov.sg published it). */
  FilesPublished: 'Count',
  /** A file filed in failed/, by error code. */
  FilesFailed: 'Count',
  /** A file filed in unconfirmed/ (sent, outcome unknown), by error code. */
  FilesUnconfirmed: 'Count',
  /** Bytes of a file whose whole body went to data.gov.sg's upload link. */
  BytesSent: 'Bytes',
  /** From asking for the first link to the end of the body (every link of one send). */
  UploadSeconds: 'Seconds',
  /** From the end of the upload to the first sight of its terminal status. */
  IngestionSeconds: 'Seconds',
  /** Errors and warnings the CSV check found in a filed file. */
  CsvProblems: 'Count',
  /** Records the Performance Platform stored. */
  RecordsForwarded: 'Count',
  /** Chunks of records the Performance Platform did not store (refused, failed, or not reached in time). */
  PpChunksFailed: 'Count',
  /** A run took over a dataset lock or a file lease whose holder died. */
  TakeOvers: 'Count',
  /** Age of the oldest object under incoming/, at each sweep (0 when none waits). */
  OldestIncomingAgeSeconds: 'Seconds',
} as const satisfies Record<string, 'Count' | 'Bytes' | 'Seconds'>;

export type MetricName = keyof typeof METRIC_UNITS;
/** The metrics that carry an `errorCode` dimension. */
export type CodedMetricName = 'FilesFailed' | 'FilesUnconfirmed';
export type PlainMetricName = Exclude<MetricName, CodedMetricName>;
export const CODED_METRICS: readonly CodedMetricName[] = ['FilesFailed', 'FilesUnconfirmed'];
export const METRIC_NAMES = Object.keys(METRIC_UNITS) as MetricName[];

/** What lib/ needs to measure; handlers give the EMF one, the local run and tests a recording one. */
export interface Metrics {
  add(name: PlainMetricName, value: number): void;
  /** One file, by the stable code of its report (a dimension: codes only, never ids or keys). */
  addByCode(name: CodedMetricName, errorCode: string): void;
}

/**
 * A dimension value must stay within a small set: an error code is an UPPER_SNAKE word from the
 * failure table; anything else (a bug passing a message) is counted as OTHER.
 */
export function codeDimension(errorCode: string): string {
  return /^[A-Z][A-Z0-9_]{0,63}$/.test(errorCode) ? errorCode : 'OTHER';
}

/**
 * Metrics written as embedded metric format by Powertools: plain ones are kept and flushed by the
 * handler (one log line per invocation); a by-code one is written at once as a single metric,
 * since one line holds one dimension set.
 */
export function emfMetrics(powertools: Pick<PowertoolsMetrics, 'addMetric' | 'singleMetric'>): Metrics {
  return {
    add(name, value) {
      powertools.addMetric(name, METRIC_UNITS[name], value);
    },
    addByCode(name, errorCode) {
      const single = powertools.singleMetric();
      single.addDimension(ERROR_CODE_DIMENSION, codeDimension(errorCode));
      single.addMetric(name, METRIC_UNITS[name], 1);
    },
  };
}

/** Measures nothing: the CLI, and code paths no dashboard watches. */
export const noMetrics: Metrics = { add: () => {}, addByCode: () => {} };

export interface MetricPoint {
  name: MetricName;
  value: number;
  errorCode?: string;
}

/** Keeps every point, for the local run and tests; `total` sums a metric (of one code, if given). */
export function recordingMetrics(): Metrics & {
  points: MetricPoint[];
  total(name: MetricName, errorCode?: string): number;
} {
  const points: MetricPoint[] = [];
  return {
    points,
    add(name, value) {
      points.push({ name, value });
    },
    addByCode(name, errorCode) {
      points.push({ name, value: 1, errorCode: codeDimension(errorCode) });
    },
    total(name, errorCode) {
      return points
        .filter((point) => point.name === name && (errorCode === undefined || point.errorCode === errorCode))
        .reduce((sum, point) => sum + point.value, 0);
    },
  };
}
