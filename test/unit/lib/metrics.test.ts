import { Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DatasetDirectory } from '../../../lib/datasets.js';
import type { DropBucket, DroppedObject } from '../../../lib/drop-bucket.js';
import { underFileLease } from '../../../lib/file-lease.js';
import type { Kick } from '../../../lib/kicks.js';
import { flushMetrics } from '../../../lib/lambda-handler.js';
import {
  CODED_METRICS,
  codeDimension,
  emfMetrics,
  METRIC_NAMES,
  METRIC_UNITS,
  recordingMetrics,
} from '../../../lib/metrics.js';
import { sweepIncoming } from '../../../lib/publish/sweep.js';
import { startTracing, tracingEnabled } from '../../../lib/tracing.js';
import { MemoryLock } from '../../fakes/memory-lock.js';
import { recordingLog } from '../../fakes/recording-log.js';

/** The EMF documents Powertools writes to stdout while `act` runs. */
function emfWrittenBy(act: () => void): Array<Record<string, unknown>> {
  const lines: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    act();
  } finally {
    write.mockRestore();
  }
  return lines
    .flatMap((text) => text.split('\n'))
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The metric directives of an EMF document. */
function valueOfAws(document: Record<string, unknown> | undefined): unknown {
  return (document?._aws as { CloudWatchMetrics?: unknown } | undefined)?.CloudWatchMetrics;
}

function powertools(): PowertoolsMetrics {
  return new PowertoolsMetrics({ namespace: 'govpub/test', serviceName: 'govpub' });
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('the metrics of lib/metrics.ts', () => {
  it('names each metric once, with a CloudWatch unit, and marks the two counted by code', () => {
    expect(new Set(METRIC_NAMES).size).toBe(METRIC_NAMES.length);
    for (const name of METRIC_NAMES) expect(['Count', 'Bytes', 'Seconds']).toContain(METRIC_UNITS[name]);
    expect([...CODED_METRICS].sort()).toEqual(['FilesFailed', 'FilesUnconfirmed']);
  });

  it('keeps an error code as a dimension only when it is a code; anything else is OTHER', () => {
    expect(codeDimension('DGS_VALIDATION_FAILED')).toBe('DGS_VALIDATION_FAILED');
    expect(codeDimension('d_3c55210de27fcccda2ed0c63fdd2b352')).toBe('OTHER');
    expect(codeDimension('incoming/a/replace/x.csv')).toBe('OTHER');
    expect(codeDimension('The file is empty')).toBe('OTHER');
    expect(codeDimension('')).toBe('OTHER');
  });

  it('records points and sums them, by code when asked', () => {
    const metrics = recordingMetrics();
    metrics.add('BytesSent', 10);
    metrics.add('BytesSent', 5);
    metrics.addByCode('FilesFailed', 'EMPTY_FILE');
    metrics.addByCode('FilesFailed', 'a message, not a code');
    expect(metrics.total('BytesSent')).toBe(15);
    expect(metrics.total('FilesFailed')).toBe(2);
    expect(metrics.total('FilesFailed', 'EMPTY_FILE')).toBe(1);
    expect(metrics.total('FilesFailed', 'OTHER')).toBe(1);
  });
});

describe('emfMetrics over Powertools', () => {
  it('keeps plain metrics until the flush, with the service dimension only', () => {
    // Prepare
    const store = powertools();
    const metrics = emfMetrics(store);
    // Act
    const before = emfWrittenBy(() => {
      metrics.add('BytesSent', 1024);
      metrics.add('UploadSeconds', 2.5);
    });
    const flushed = emfWrittenBy(() => store.publishStoredMetrics());
    // Assess
    expect(before).toEqual([]);
    expect(flushed).toHaveLength(1);
    const [document] = flushed;
    expect(document).toMatchObject({ service: 'govpub', BytesSent: 1024, UploadSeconds: 2.5 });
    expect(valueOfAws(document)).toEqual([
      {
        Namespace: 'govpub/test',
        Dimensions: [['service']],
        Metrics: [
          { Name: 'BytesSent', Unit: 'Bytes' },
          { Name: 'UploadSeconds', Unit: 'Seconds' },
        ],
      },
    ]);
  });

  it('writes a by-code metric at once, with service and errorCode as its dimensions', () => {
    const metrics = emfMetrics(powertools());
    const written = emfWrittenBy(() => metrics.addByCode('FilesFailed', 'TOO_LARGE'));
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({ service: 'govpub', errorCode: 'TOO_LARGE', FilesFailed: 1 });
    expect(valueOfAws(written[0])).toEqual([
      {
        Namespace: 'govpub/test',
        Dimensions: [['service', 'errorCode']],
        Metrics: [{ Name: 'FilesFailed', Unit: 'Count' }],
      },
    ]);
  });
});

describe('flushMetrics, the handlers’ middleware', () => {
  it('publishes what an invocation kept, after it and after an error', async () => {
    const store = powertools();
    const flush = flushMetrics(store);
    emfMetrics(store).add('TakeOvers', 1);
    const afterSuccess = emfWrittenBy(() => void flush.after?.({} as never));
    await Promise.resolve();
    expect(afterSuccess).toHaveLength(1);
    emfMetrics(store).add('TakeOvers', 1);
    const afterError = emfWrittenBy(() => void flush.onError?.({} as never));
    expect(afterError).toHaveLength(1);
  });

  it('writes nothing, not even Powertools’ warning, for an invocation that measured nothing', () => {
    const store = powertools();
    const warn = vi.spyOn(console, 'warn');
    const written = emfWrittenBy(() => void flushMetrics(store).after?.({} as never));
    expect(written).toEqual([]);
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
  });
});

describe('tracing', () => {
  it('is on only when POWERTOOLS_TRACE_ENABLED is "true" (as serverless.yml sets it)', () => {
    expect(tracingEnabled({ POWERTOOLS_TRACE_ENABLED: 'true' })).toBe(true);
    expect(tracingEnabled({ POWERTOOLS_TRACE_ENABLED: 'false' })).toBe(false);
    expect(tracingEnabled({})).toBe(false);
  });

  it('loads no tracer when off, and Powertools Tracer when on', async () => {
    expect(await startTracing({})).toBeUndefined();
    const tracer = await startTracing({
      POWERTOOLS_TRACE_ENABLED: 'true',
      POWERTOOLS_SERVICE_NAME: 'govpub',
    });
    expect(tracer?.constructor.name).toBe('Tracer');
  });
});

describe('where lib/ measures', () => {
  const object = (key: string, ageSeconds: number, now: number): DroppedObject =>
    ({
      bucket: 'drop',
      key,
      etag: '"e"',
      size: 1,
      lastModified: new Date(now - ageSeconds * 1000),
    }) as DroppedObject;

  it('the sweep: the age of the oldest object in incoming/, and 0 when none waits', async () => {
    // Prepare
    const now = Date.parse('2026-12-06T10:00:00Z');
    const waiting: DroppedObject[] = [];
    const bucket = { list: async () => waiting } as unknown as DropBucket;
    const kicks: Kick[] = [];
    const kicker = { kick: async (kick: Kick) => void kicks.push(kick) };
    const metrics = recordingMetrics();
    const deps = {
      bucket,
      kicker,
      forwarder: kicker,
      datasets: { resolve: () => undefined } as unknown as DatasetDirectory,
      settings: { SWEEP_MIN_AGE_SECONDS: 600 },
      log: recordingLog(),
      metrics,
      now: () => new Date(now),
    };
    // Act
    await sweepIncoming(deps, 'drop');
    waiting.push(
      object('incoming/a/replace/young.csv', 30, now),
      object('incoming/a/replace/old.csv', 4000, now),
    );
    await sweepIncoming(deps, 'drop');
    // Assess: the young file counts for the age, though only the old one is kicked.
    expect(metrics.points).toEqual([
      { name: 'OldestIncomingAgeSeconds', value: 0 },
      { name: 'OldestIncomingAgeSeconds', value: 4000 },
    ]);
    expect(kicks).toHaveLength(1);
  });

  it('a file lease: a take-over of a dead run’s lease is counted and logged, a free lease is not', async () => {
    // Prepare
    let clock = 1_000;
    const lock = new MemoryLock(() => clock);
    const log = recordingLog();
    const metrics = recordingMetrics();
    await lock.acquire('file:drop/incoming/performance/g/t/a.json', 60_000);
    clock += 120_000;
    // Act
    await underFileLease(
      { lock, log, metrics },
      'file:drop/incoming/performance/g/t/a.json',
      60_000,
      async () => 1,
    );
    await underFileLease(
      { lock, log, metrics },
      'file:drop/incoming/performance/g/t/b.json',
      60_000,
      async () => 1,
    );
    // Assess
    expect(metrics.points).toEqual([{ name: 'TakeOvers', value: 1 }]);
    expect(log.lines.filter((line) => line.message === 'FILE_LEASE_TAKEN_OVER')).toEqual([
      {
        level: 'warn',
        message: 'FILE_LEASE_TAKEN_OVER',
        fields: { lease: 'file:drop/incoming/performance/g/t/a.json', previousHolder: expect.any(String) },
      },
    ]);
  });
});
