import { afterEach, describe, expect, it } from 'vitest';
import type { LocalPipeline } from '../../local/pipeline.js';
import { outcomeOf, POPULATION, POPULATION_CSV, startFastPipeline } from './support.js';

let pipeline: LocalPipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

/** Nothing reached data.gov.sg: no stored upload, no ingestion started, the status untouched. */
function nothingIngested(p: LocalPipeline): void {
  expect(p.dataGovSg?.uploads(POPULATION.id)).toEqual([]);
  expect(p.dataGovSg?.statusOf(POPULATION.id)).toMatchObject({ status: 'NA', version: 0 });
}

describe('the CSV check in the pipeline', () => {
  it('aborts the PUT of a bad file and names the row and column in the report', async () => {
    pipeline = await startFastPipeline();
    const rows = Array.from({ length: 20_000 }, (_, i) => `2023,female,${i}`).join('\n');
    const key = `incoming/${POPULATION.alias}/append/typo.csv`;
    await pipeline.drop(key, `year,sex,population\n${rows}\n2023,male,12O\n`);
    await pipeline.whenIdle();
    const report = await outcomeOf(pipeline, key);
    expect(report).toMatchObject({ outcome: 'failed', error: { code: 'CSV_INVALID' } });
    expect(report.error?.message).toMatch(/The first: Row 20002, column "population" must be a number/);
    expect(report.check?.problems[0]).toMatchObject({
      code: 'NOT_NUMERIC',
      row: 20002,
      column: 'population',
      value: '12O',
    });
    nothingIngested(pipeline);
    // The PUT started (the body streams as it is checked) but never completed.
    const puts = pipeline.dataGovSg?.requests().filter((request) => request.method === 'PUT') ?? [];
    expect(puts.every((request) => request.status !== 200)).toBe(true);
  });

  it('rejects an append whose header does not match the dataset, with a readable diff', async () => {
    pipeline = await startFastPipeline();
    const key = `incoming/${POPULATION.alias}/append/renamed.csv`;
    await pipeline.drop(key, 'Year,gender,population\n2023,f,1\n');
    await pipeline.whenIdle();
    const report = await outcomeOf(pipeline, key);
    expect(report.check?.problems.map((problem) => [problem.code, problem.column])).toEqual([
      ['HEADER_STYLE', 'Year'],
      ['RENAMED_COLUMN', 'Year'],
      ['MISSING_COLUMN', 'sex'],
      ['UNEXPECTED_COLUMN', 'gender'],
    ]);
    nothingIngested(pipeline);
  });

  it('files the row count and columns of a file that passes, with its warnings', async () => {
    pipeline = await startFastPipeline();
    const key = `incoming/${POPULATION.alias}/replace/ok.csv`;
    await pipeline.drop(key, `\uFEFF${POPULATION_CSV}`);
    await pipeline.whenIdle();
    const report = await outcomeOf(pipeline, key);
    expect(report.outcome).toBe('published');
    expect(report.check).toMatchObject({
      passed: true,
      rows: 2,
      columns: ['year', 'sex', 'population'],
      metadata: 'compared',
      problems: [expect.objectContaining({ code: 'BOM', severity: 'warning' })],
    });
    expect(pipeline.dataGovSg?.uploads(POPULATION.id)[0]?.bytes).toBe(
      Buffer.byteLength(`\uFEFF${POPULATION_CSV}`),
    );
  });

  it('says so when the dataset’s columns cannot be read, and still checks and publishes', async () => {
    pipeline = await startFastPipeline({ env: { DGS_MAX_ATTEMPTS: '1' } });
    pipeline.dataGovSg?.fault({ endpoint: 'metadata', status: 503, times: 1 });
    const key = `incoming/${POPULATION.alias}/append/no-metadata.csv`;
    await pipeline.drop(key, POPULATION_CSV);
    await pipeline.whenIdle();
    const report = await outcomeOf(pipeline, key);
    expect(report.outcome).toBe('published');
    expect(report.check).toMatchObject({
      metadata: 'not-compared',
      metadataNote: expect.stringMatching(/503/),
    });
  });

  it('can be switched off, leaving the judgement to data.gov.sg', async () => {
    pipeline = await startFastPipeline({ env: { CSV_CHECK: 'off' } });
    const key = `incoming/${POPULATION.alias}/replace/unchecked.csv`;
    await pipeline.drop(key, 'year,sex,population\n2023,f\n');
    await pipeline.whenIdle();
    const report = await outcomeOf(pipeline, key);
    expect(report).toMatchObject({ outcome: 'published', check: null });
  });
});

describe('a replace that would swap the dataset for unrelated data (issue 12, 4)', () => {
  const UNRELATED = 'ministry,category,amount\nMOH,grants,100\nMOE,grants,200\n';

  it('fails with COLUMNS_DO_NOT_MATCH before the upload completes: nothing reaches data.gov.sg', async () => {
    pipeline = await startFastPipeline();
    const key = `incoming/${POPULATION.alias}/replace/budget.csv`;
    await pipeline.drop(key, UNRELATED);
    await pipeline.whenIdle();
    const report = await outcomeOf(pipeline, key);
    expect(report).toMatchObject({ outcome: 'failed', error: { code: 'COLUMNS_DO_NOT_MATCH' } });
    expect(report.error?.message).toMatch(/shares 0 of the dataset's 3 columns \(year, sex, population\)/);
    expect(report.error?.message).toMatch(/replace-new-columns\//);
    expect(report.check?.problems[0]).toMatchObject({ severity: 'error', code: 'COLUMNS_DO_NOT_MATCH' });
    nothingIngested(pipeline);
  });

  it('is published when the change is meant: dropped under replace-new-columns/', async () => {
    pipeline = await startFastPipeline();
    const key = `incoming/${POPULATION.alias}/replace-new-columns/budget.csv`;
    await pipeline.drop(key, UNRELATED);
    await pipeline.whenIdle();
    const report = await outcomeOf(pipeline, key);
    expect(report).toMatchObject({ outcome: 'published', mode: 'replace' });
    expect(report.check?.problems.map((problem) => problem.code)).not.toContain('COLUMNS_DO_NOT_MATCH');
    expect(pipeline.dataGovSg?.uploads(POPULATION.id)).toMatchObject([{ mode: 'replace' }]);
  });

  it('lets a replace that keeps half of the columns through, with warnings', async () => {
    pipeline = await startFastPipeline({
      dataGovSg: {
        datasets: [
          {
            datasetId: POPULATION.id,
            name: 'Four columns',
            columns: ['a', 'b', 'c', 'd'].map((name) => ({ name, dataType: 'TEXT' })),
          },
        ],
      },
    });
    const half = `incoming/${POPULATION.alias}/replace/half.csv`;
    await pipeline.drop(half, 'a,b,x,y\n1,2,3,4\n');
    await pipeline.whenIdle();
    const report = await outcomeOf(pipeline, half);
    expect(report.outcome).toBe('published');
    expect(report.check?.warnings).toBeGreaterThan(0);
    const lessThanHalf = `incoming/${POPULATION.alias}/replace/less-than-half.csv`;
    await pipeline.drop(lessThanHalf, 'a,x,y,z\n1,2,3,4\n');
    await pipeline.whenIdle();
    expect((await outcomeOf(pipeline, lessThanHalf)).error?.code).toBe('COLUMNS_DO_NOT_MATCH');
  });
});
