import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOptions } from '../../../bench/lib/options.js';
import { dynamicImportsOf, staticImportClosure, staticImportsOf } from '../../../bench/lib/static-imports.js';
import { median, pairedRatio, rotation } from '../../../bench/lib/stats.js';
import { renderPlots } from '../../../bench/lib/svg.js';
import { renderTable } from '../../../bench/lib/table.js';
import { writeCsv } from '../../../bench/upload/csv.js';
import { checkCsv } from '../../../lib/csv-check/checker.js';
import { SAMPLE_DATASETS } from '../../../local/datagovsg/sample-datasets.js';

describe('bench statistics', () => {
  it('takes the median of odd and even counts without reordering the input', () => {
    const values = [5, 1, 3];
    expect(median(values)).toBe(3);
    expect(values).toEqual([5, 1, 3]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('rotates paths so each takes each position once per round, reversed on the next round', () => {
    const paths = ['a', 'b', 'c'];
    const firstRound = [0, 1, 2].map((rep) => rotation(paths, rep));
    for (let position = 0; position < 3; position++) {
      expect(new Set(firstRound.map((order) => order[position]))).toEqual(new Set(paths));
    }
    expect(rotation(paths, 3)).toEqual([...rotation(paths, 0)].reverse());
  });
});

describe('bench CSV generator', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bench-csv-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const dataset of SAMPLE_DATASETS) {
    it(`writes exactly the size asked, and the CSV check passes it for ${dataset.name}`, async () => {
      for (const bytes of [1000, 65_537, 1024 * 1024 + 3]) {
        const file = join(dir, `${dataset.datasetId}-${bytes}.csv`);
        const rows = await writeCsv(file, bytes, dataset.columns);
        expect((await stat(file)).size).toBe(bytes);
        const report = await checkCsv(createReadStream(file), {
          mode: 'append',
          expectedColumns: dataset.columns,
        });
        expect(report.problems).toEqual([]);
        expect(report.passed).toBe(true);
        expect(report.bytes).toBe(bytes);
        expect(report.rows).toBe(rows);
        expect((await readFile(file, 'utf8')).split('\n').length - 2).toBe(rows);
      }
    });
  }

  it('refuses a size too small for a header and a row', async () => {
    await expect(writeCsv(join(dir, 'tiny.csv'), 10, SAMPLE_DATASETS[0]?.columns ?? [])).rejects.toThrow(
      /too small/,
    );
  });
});

describe('bench options', () => {
  const defaults = { storeDir: '/store', outDir: '/out' };

  it('uses the documented defaults', () => {
    expect(parseOptions([], {}, defaults)).toMatchObject({
      sections: ['upload', 'csvcheck', 'coldstart', 'polling', 'forwarder', 'cli', 'cost'],
      uploadSizesMiB: [16, 64, 256],
      uploadReps: 3,
      forwardSizes: [10_000, 30_000, 100_000],
      forwardTargetSize: 100_000,
      forwardLatencyMs: 0,
      coldStartRuns: 15,
      csvCheckSizeMiB: 64,
      csvCheckReps: 3,
      storeDir: '/store',
      outDir: '/out',
      costFiles: 1000,
      costDatasets: 100,
    });
    expect(parseOptions(['--cost-files=50', '--cost-datasets=5'], {}, defaults)).toMatchObject({
      costFiles: 50,
      costDatasets: 5,
    });
  });

  it('takes --large, flags before the environment, and rejects unknown sections', () => {
    expect(parseOptions(['--large'], {}, defaults)).toMatchObject({ uploadSizesMiB: [64, 256, 1024] });
    expect(
      parseOptions(
        ['--upload-sizes=8,4'],
        { BENCH_UPLOAD_SIZES_MIB: '1,2,3', BENCH_UPLOAD_REPS: '5' },
        defaults,
      ),
    ).toMatchObject({ uploadSizesMiB: [4, 8], uploadReps: 5 });
    expect(parseOptions(['--forward-sizes=500,2000'], {}, defaults)).toMatchObject({
      forwardTargetSize: 2000,
    });
    expect(() => parseOptions(['--only=upload,nope'], {}, defaults)).toThrow(/nope/);
    expect(() => parseOptions(['--upload-reps=0'], {}, defaults)).toThrow(/positive integer/);
    expect(() => parseOptions(['--forward-sizes=1.5'], {}, defaults)).toThrow(/whole/);
    expect(parseOptions([], { BENCH_FORWARD_LATENCY_MS: '20' }, defaults)).toMatchObject({
      forwardLatencyMs: 20,
    });
    expect(() => parseOptions(['--forward-latency-ms=-1'], {}, defaults)).toThrow(/milliseconds/);
  });
});

describe('bench output', () => {
  it('aligns table columns', () => {
    const table = renderTable(
      ['a', 'long header'],
      [
        ['wide value', 'x'],
        ['y', 'z'],
      ],
    );
    const lines = table.split('\n');
    expect(new Set(lines.map((line) => line.length)).size).toBe(1);
    expect(lines[1]).toMatch(/^\|-+\|-+\|$/);
  });

  it('draws one polyline per series and escapes text', () => {
    const svg = renderPlots('t <1>', 'caption & more', [
      {
        title: 'p',
        xLabel: 'x',
        yLabel: 'y',
        xLog: true,
        series: [
          {
            name: 'one',
            color: '#000',
            points: [
              [16, 1],
              [64, 2],
              [256, 3],
            ],
          },
          {
            name: 'two',
            color: '#111',
            points: [
              [16, 2],
              [64, Number.NaN],
              [256, 1],
            ],
            dashed: true,
          },
        ],
        limits: [{ label: 'limit', y: 4 }],
      },
    ]);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain('t &lt;1&gt;');
    expect(svg).toContain('caption &amp; more');
    expect(svg).not.toContain('NaN');
  });
});

describe('paired ratios', () => {
  it('divides within each repetition and takes the median, ignoring unpaired samples', () => {
    const baseline = [
      { rep: 0, value: 100 },
      { rep: 1, value: 50 },
      { rep: 2, value: 200 },
    ];
    const ours = [
      { rep: 0, value: 90 },
      { rep: 1, value: 50 },
      { rep: 2, value: 100 },
      { rep: 3, value: 1 },
    ];
    expect(pairedRatio(ours, baseline)).toBe(0.9);
  });
});

describe('static imports of a bundle', () => {
  it('follows static imports of chunks, transitively, and not dynamic ones', async () => {
    const files = new Map<string, string>([
      [
        'functions/a.mjs',
        'import{x as y}from"./a.chunks/one.mjs";import"./a.chunks/two.mjs";const t=()=>import("./a.chunks/lazy.mjs");',
      ],
      ['functions/a.chunks/one.mjs', 'import { z } from "./three.mjs"; export const x = 1;'],
      ['functions/a.chunks/two.mjs', 'import"./one.mjs";'],
      ['functions/a.chunks/three.mjs', 'export const z = 1;'],
      ['functions/a.chunks/lazy.mjs', 'import"./four.mjs";'],
    ]);
    const { loaded, missing } = await staticImportClosure('functions/a.mjs', async (file) => files.get(file));
    expect([...loaded].sort()).toEqual([
      'functions/a.chunks/one.mjs',
      'functions/a.chunks/three.mjs',
      'functions/a.chunks/two.mjs',
      'functions/a.mjs',
    ]);
    expect(missing).toEqual([]);
    expect(staticImportsOf('import("./lazy.mjs");import"node:fs";')).toEqual([]);
  });

  it('finds the chunks a bundle imports on demand, and only those', () => {
    const source =
      'const a=await import("./a.chunks/x-1.mjs");import{y}from"./b.mjs";import( \'../c.mjs\' );import("node:fs");';
    expect(dynamicImportsOf(source)).toEqual(['./a.chunks/x-1.mjs', '../c.mjs']);
  });

  it('names the chunks it cannot find', async () => {
    const { missing } = await staticImportClosure('a.mjs', async (file) =>
      file === 'a.mjs' ? 'import"./gone.mjs";' : undefined,
    );
    expect(missing).toEqual(['gone.mjs']);
  });
});
