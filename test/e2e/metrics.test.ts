import { afterEach, describe, expect, it } from 'vitest';
import { type MetricPoint, recordingMetrics } from '../../lib/metrics.js';
import type { LocalPipeline } from '../../local/pipeline.js';
import { outcomeOf, POPULATION, POPULATION_CSV, startFastPipeline } from './support.js';

/*
 * What the functions would send to CloudWatch, end to end: the local pipeline runs the real
 * handlers with a recording Metrics (lib/metrics.ts) in place of the EMF one.
 */

let pipeline: LocalPipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

const valuesOf = (points: MetricPoint[], name: MetricPoint['name']) =>
  points.filter((point) => point.name === name).map((point) => point.value);

describe('metrics of the pipeline', () => {
  it('measures a published file and a failed one: outcome by code, bytes, upload and ingestion times, CSV problems', async () => {
    // Prepare
    const metrics = recordingMetrics();
    pipeline = await startFastPipeline({ metrics });
    const good = `incoming/${POPULATION.alias}/replace/good.csv`;
    const bad = `incoming/${POPULATION.alias}/append/bad.csv`;
    pipeline.dataGovSg?.script(POPULATION.id, ['success', 'validation-failed']);

    // Act
    await pipeline.drop(good, POPULATION_CSV);
    await pipeline.whenIdle();
    await pipeline.drop(bad, POPULATION_CSV);
    await pipeline.whenIdle();

    // Assess
    expect((await outcomeOf(pipeline, good)).outcome).toBe('published');
    const failed = await outcomeOf(pipeline, bad);
    expect(failed.error?.code).toBe('DGS_VALIDATION_FAILED');
    expect(metrics.total('FilesPublished')).toBe(1);
    expect(metrics.total('FilesFailed')).toBe(1);
    expect(metrics.total('FilesFailed', 'DGS_VALIDATION_FAILED')).toBe(1);
    expect(metrics.total('FilesUnconfirmed')).toBe(0);
    expect(valuesOf(metrics.points, 'BytesSent')).toEqual([POPULATION_CSV.length, POPULATION_CSV.length]);
    const uploads = valuesOf(metrics.points, 'UploadSeconds');
    expect(uploads).toHaveLength(2);
    for (const seconds of uploads) expect(seconds).toBeGreaterThanOrEqual(0);
    // Both reached a terminal status of their own upload: both ingestions are timed.
    const ingestions = valuesOf(metrics.points, 'IngestionSeconds');
    expect(ingestions).toHaveLength(2);
    for (const seconds of ingestions) expect(seconds).toBeGreaterThanOrEqual(0);
    expect(valuesOf(metrics.points, 'CsvProblems')).toEqual([0, 0]);
    // Dimensions carry codes only: never a dataset, a key or a message.
    for (const point of metrics.points) {
      if (point.errorCode !== undefined) expect(point.errorCode).toMatch(/^[A-Z][A-Z0-9_]*$/);
    }
    expect(JSON.stringify(metrics.points)).not.toContain(POPULATION.id);
  });

  it('counts the CSV problems of a file the check stopped, filed by its code, and no bytes for it', async () => {
    const metrics = recordingMetrics();
    pipeline = await startFastPipeline({ metrics });
    const key = `incoming/${POPULATION.alias}/append/short row.csv`;
    await pipeline.drop(key, 'year,sex,population\n2023,female\n');
    await pipeline.whenIdle();
    const report = await outcomeOf(pipeline, key);
    expect(report.outcome).toBe('failed');
    const code = report.error?.code ?? '';
    expect(metrics.total('FilesFailed', code)).toBe(1);
    expect(metrics.total('CsvProblems')).toBe((report.check?.errors ?? 0) + (report.check?.warnings ?? 0));
    expect(metrics.total('CsvProblems')).toBeGreaterThan(0);
    expect(metrics.total('BytesSent')).toBe(0);
  });

  it('measures the oldest file in incoming/ at every sweep, and a take-over of a dead run', async () => {
    // Prepare: a file whose event was lost, held by a run that died (its lease ran out).
    const metrics = recordingMetrics();
    let clock = Date.now();
    pipeline = await startFastPipeline({
      metrics,
      deliverEvents: false,
      env: { SWEEP_MIN_AGE_SECONDS: '0' },
      now: () => new Date(clock),
    });
    const key = `incoming/${POPULATION.alias}/replace/waiting.csv`;
    await pipeline.drop(key, POPULATION_CSV);
    const dead = await pipeline.lock.acquire(POPULATION.id, 60_000);
    if (!dead.acquired) throw new Error('the dataset was not free');
    await pipeline.lock.update(POPULATION.id, dead.token, { holderKey: key, leaseMs: -1 });
    clock += 120_000;

    // Act
    await pipeline.sweep();
    await pipeline.whenIdle();
    await pipeline.sweep();

    // Assess
    expect((await outcomeOf(pipeline, key)).outcome).toBe('published');
    expect(metrics.total('TakeOvers')).toBe(1);
    const [waited, after] = valuesOf(metrics.points, 'OldestIncomingAgeSeconds');
    expect(waited).toBeGreaterThanOrEqual(119);
    expect(after).toBe(0);
  });

  it('counts records the Performance Platform stored and chunks it did not', async () => {
    const metrics = recordingMetrics();
    pipeline = await startFastPipeline({ metrics, env: { PP_MAX_ATTEMPTS: '1' } });
    const records = Array.from({ length: 150 }, (_, i) => ({
      _timestamp: '2024-01-01T00:00:00Z',
      channel: `channel_${i}`,
      count: i,
    }));
    pipeline.performancePlatform?.fault({ method: 'POST', status: 200, times: 1 });
    pipeline.performancePlatform?.fault({ method: 'POST', status: 500, times: 1 });
    const response = await fetch(
      `${pipeline.httpApi.endpoint}/performance/carers-allowance/transaction-count`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(records),
      },
    );
    expect(response.status).toBe(503);
    expect(metrics.total('RecordsForwarded')).toBe(100);
    expect(metrics.total('PpChunksFailed')).toBe(1);
  });
});
