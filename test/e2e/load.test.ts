import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createDatasetDirectory } from '../../lib/datasets.js';
import type { LocalPipeline } from '../../local/pipeline.js';
import { outcomeOf, POPULATION, POPULATION_CSV, startFastPipeline } from './support.js';

let pipeline: LocalPipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

/** A seeded shuffle, so a failing order can be replayed from the seed in the message. */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('load', () => {
  it('publishes 50 files of one dataset, each event delivered 1-3 times in random order, once each, one at a time, in key order', async () => {
    const seed = Date.now() % 100_000;
    pipeline = await startFastPipeline({
      deliverEvents: false,
      fastWaitMs: 5,
      dataGovSg: { stepDelayMs: 2 },
    });
    const keys = Array.from(
      { length: 50 },
      (_, i) => `incoming/${POPULATION.alias}/append/${String(i).padStart(3, '0')}.csv`,
    );
    for (const [index, key] of keys.entries())
      await pipeline.drop(key, `${POPULATION_CSV}2024,female,${index}\n`);
    const deliveries = shuffled(
      keys.flatMap((key, index) => Array.from({ length: 1 + ((index * 7 + seed) % 3) }, () => key)),
      seed,
    );
    await Promise.all(deliveries.map((key) => pipeline?.redeliver(key)));
    await pipeline.whenIdle();

    const reports = await Promise.all(keys.map((key) => outcomeOf(pipeline as LocalPipeline, key)));
    expect(
      reports.map((r) => r.outcome),
      `seed ${seed}`,
    ).toEqual(keys.map(() => 'published'));
    const uploads = pipeline.dataGovSg?.uploads(POPULATION.id) ?? [];
    expect(
      uploads.map((u) => u.md5Hex),
      `seed ${seed}: each file once, in key order`,
    ).toEqual(reports.map((r) => r.md5));
    for (let i = 1; i < reports.length; i++) {
      const previousDone = Date.parse(reports[i - 1]?.times.finishedAt ?? '');
      expect(
        Date.parse(reports[i]?.times.uploadStartedAt ?? ''),
        `seed ${seed}: ${keys[i]} started after ${keys[i - 1]} was filed`,
      ).toBeGreaterThanOrEqual(previousDone);
    }
    expect(pipeline.lambda.invocations().filter((i) => i.status === 'FAILED')).toEqual([]);
  }, 120_000);

  it('runs 20 datasets with 5 files each side by side, each dataset one file at a time', async () => {
    const ids = Array.from({ length: 20 }, () => `d_${randomBytes(16).toString('hex')}`);
    const columns = [
      { name: 'year', dataType: 'NUMERIC' },
      { name: 'sex', dataType: 'TEXT' },
      { name: 'population', dataType: 'NUMERIC' },
    ];
    pipeline = await startFastPipeline({
      fastWaitMs: 5,
      datasets: createDatasetDirectory({ aliases: {} }),
      dataGovSg: {
        stepDelayMs: 10,
        datasets: ids.map((datasetId) => ({ datasetId, name: datasetId, columns })),
      },
    });
    const keys = ids.flatMap((id) => Array.from({ length: 5 }, (_, n) => `incoming/${id}/append/${n}.csv`));
    await Promise.all(keys.map((key, index) => pipeline?.drop(key, `${POPULATION_CSV}2024,male,${index}\n`)));
    await pipeline.whenIdle();
    const reports = await Promise.all(keys.map((key) => outcomeOf(pipeline as LocalPipeline, key)));
    expect(reports.every((r) => r.outcome === 'published')).toBe(true);
    for (const id of ids) {
      const own = reports.filter((r) => r.datasetId === id);
      expect(pipeline.dataGovSg?.uploads(id).map((u) => u.md5Hex)).toEqual(own.map((r) => r.md5));
      for (let i = 1; i < own.length; i++) {
        expect(Date.parse(own[i]?.times.uploadStartedAt ?? '')).toBeGreaterThanOrEqual(
          Date.parse(own[i - 1]?.times.finishedAt ?? ''),
        );
      }
    }
    // Side by side: many datasets had a file between upload and filing at the same moment.
    const edges = reports.flatMap((r) => [
      { at: Date.parse(r.times.uploadStartedAt ?? ''), step: 1 },
      { at: Date.parse(r.times.finishedAt), step: -1 },
    ]);
    edges.sort((a, b) => a.at - b.at || a.step - b.step);
    let inFlight = 0;
    let most = 0;
    for (const edge of edges) {
      inFlight += edge.step;
      most = Math.max(most, inFlight);
    }
    expect(most, 'datasets in flight at once').toBeGreaterThanOrEqual(5);
  }, 120_000);

  it('forwards 100,000 records from a file delivered twice at once, through a lost answer and a 503 burst: each stored once', async () => {
    pipeline = await startFastPipeline({ deliverEvents: false });
    const total = 100_000;
    const [group, type] = ['carers-allowance', 'transaction-count'];
    const key = `incoming/performance/${group}/${type}/load.ndjson`;
    const lines = Array.from({ length: total }, (_, i) =>
      JSON.stringify({
        _timestamp: `2024-${String((i % 12) + 1).padStart(2, '0')}-01T00:00:00Z`,
        channel: `channel-${i}`,
        count: i % 97,
      }),
    );
    await pipeline.drop(key, `${lines.join('\n')}\n`);
    const writeApi = pipeline.performancePlatform;
    if (!writeApi) throw new Error('the local write API did not start');
    // One chunk is stored but its answer lost (sent again), then a burst the retries ride out.
    writeApi.fault({ method: 'POST', dropAfterStore: true, times: 1 });
    writeApi.fault({ method: 'POST', status: 503, times: 3 });

    await Promise.all([pipeline.redeliver(key), pipeline.redeliver(key)]);
    await pipeline.whenIdle();

    const stored = await writeApi.records(group, type);
    expect(stored).toHaveLength(total);
    expect(new Set(stored.map((record) => record.channel)).size).toBe(total);
    expect(stored.reduce((sum, record) => sum + Number(record.count), 0)).toBe(
      Array.from({ length: total }, (_, i) => i % 97).reduce((sum, count) => sum + count, 0),
    );
    const posts = writeApi.requests().filter((request) => request.method === 'POST');
    // The file's lease lets one delivery forward it; the other finds it held (or already filed).
    // Every chunk of 100 was answered once; the one whose answer was lost (status 0) was sent
    // again, with the same ids.
    const forwards = pipeline.lambda
      .invocations()
      .filter((invocation) => invocation.functionName === 'forwarder')
      .map((invocation) => (invocation.result as { outcome?: string } | undefined)?.outcome);
    expect(forwards.filter((outcome) => outcome === 'forwarded')).toHaveLength(1);
    expect(forwards.filter((outcome) => outcome !== 'forwarded')).toEqual([
      expect.stringMatching(/^(held|gone)$/),
    ]);
    expect(posts.filter((request) => request.status === 200)).toHaveLength(total / 100);
    expect(posts.filter((request) => request.status === 0)).toHaveLength(1);
    expect(posts.filter((request) => request.status === 503)).toHaveLength(3);
    const report = (await pipeline.outcomes(key)).at(-1) as unknown as {
      outcome: string;
      result: { records: number };
    };
    expect(report).toMatchObject({ outcome: 'forwarded', result: { records: total } });
    expect(await pipeline.keys('incoming/')).toEqual([]);
    expect(await pipeline.keys('failed/')).toEqual([]);
  }, 120_000);
});
