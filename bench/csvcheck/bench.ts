/**
 * The CSV check alone, in process, on files of several shapes: ours (plain rows accepted without
 * being split, other rows through papaparse) against every row through papaparse (`fastPath:
 * false`), the same checker's reference path, in the same run. Shows what the fast path buys on
 * each shape and that the shapes it cannot take cost no more than parsing every row.
 */
import { Readable } from 'node:stream';
import { checkCsv } from '../../lib/csv-check/checker.js';
import type { ExpectedColumn } from '../../lib/csv-check/types.js';
import { MIB, median, pairedRatio } from '../lib/stats.js';

const COLUMNS: ExpectedColumn[] = [
  { name: 'year', dataType: 'NUMERIC' },
  { name: 'sex', dataType: 'TEXT' },
  { name: 'population', dataType: 'NUMERIC' },
];
const CHUNK_BYTES = 64 * 1024;

/** Rows as exporters write them, from the easiest for the fast path to the hardest. */
const SHAPES: Array<{ shape: string; row: (i: number) => string }> = [
  {
    shape: 'plain',
    row: (i) => `${2000 + (i % 25)},${i % 2 ? 'female' : 'male'},${(i * 7919) % 9_999_999}\n`,
  },
  {
    shape: 'text quoted (R write.csv)',
    row: (i) => `${2000 + (i % 25)},"${i % 2 ? 'female' : 'Tan, Ah Kow'}",${(i * 7919) % 9_999_999}\n`,
  },
  { shape: 'escaped quotes in every row', row: (i) => `2000,"said ""hi""",${i}\n` },
  {
    shape: 'a multi-line value in 1 row of 50',
    row: (i) => (i % 50 ? `${2000 + (i % 25)},male,${i}\n` : `2000,"two\nlines",${i}\n`),
  },
  { shape: 'a multi-line value in every row', row: (i) => `2000,"two\nlines",${i}\n` },
];

export interface CsvCheckSample {
  rep: number;
  oursMs: number;
  baselineMs: number;
}

export interface CsvCheckShapeResult {
  shape: string;
  bytes: number;
  rows: number;
  samples: CsvCheckSample[];
  oursMiBps: number;
  baselineMiBps: number;
  /** ours ÷ every row through papaparse, in throughput, paired within repetitions. */
  ratio: number;
}

export interface CsvCheckBenchResult {
  sizeMiB: number;
  chunkBytes: number;
  shapes: CsvCheckShapeResult[];
}

export async function runCsvCheckBench(options: {
  sizeMiB: number;
  reps: number;
  log: (message: string) => void;
}): Promise<CsvCheckBenchResult> {
  const shapes: CsvCheckShapeResult[] = [];
  for (const { shape, row } of SHAPES) {
    const { chunks, bytes, rows } = fileOf(row, options.sizeMiB * MIB);
    const time = async (fastPath: boolean): Promise<number> => {
      const started = performance.now();
      const report = await checkCsv(Readable.from(chunks), {
        mode: 'append',
        expectedColumns: COLUMNS,
        fastPath,
      });
      const ms = performance.now() - started;
      // A fast but wrong path cannot pass: the file must pass with every row counted.
      if (!report.passed || report.rows !== rows) {
        throw new Error(
          `the check of "${shape}" passed=${report.passed} with ${report.rows} of ${rows} rows`,
        );
      }
      return ms;
    };
    await time(true);
    await time(false);
    const samples: CsvCheckSample[] = [];
    for (let rep = 0; rep < options.reps; rep++) {
      // Alternate which path goes first, so neither always runs on a warmer heap.
      const first = await time(rep % 2 === 0);
      const second = await time(rep % 2 !== 0);
      samples.push(
        rep % 2 === 0
          ? { rep, oursMs: first, baselineMs: second }
          : { rep, oursMs: second, baselineMs: first },
      );
    }
    const mibps = (ms: number) => bytes / MIB / (ms / 1000);
    const result: CsvCheckShapeResult = {
      shape,
      bytes,
      rows,
      samples,
      oursMiBps: median(samples.map((sample) => mibps(sample.oursMs))),
      baselineMiBps: median(samples.map((sample) => mibps(sample.baselineMs))),
      ratio: pairedRatio(
        samples.map((sample) => ({ rep: sample.rep, value: mibps(sample.oursMs) })),
        samples.map((sample) => ({ rep: sample.rep, value: mibps(sample.baselineMs) })),
      ),
    };
    options.log(
      `csvcheck: ${shape}: ${result.oursMiBps.toFixed(0)} MiB/s, every row parsed ${result.baselineMiBps.toFixed(0)} MiB/s`,
    );
    shapes.push(result);
  }
  return { sizeMiB: options.sizeMiB, chunkBytes: CHUNK_BYTES, shapes };
}

/** A CSV of about `bytes` bytes of such rows, in chunks as S3 would deliver it. */
function fileOf(
  row: (i: number) => string,
  bytes: number,
): { chunks: Buffer[]; bytes: number; rows: number } {
  const block = Buffer.from(Array.from({ length: 1000 }, (_, i) => row(i)).join(''));
  const header = Buffer.from(`${COLUMNS.map((column) => column.name).join(',')}\n`);
  const blocks = Math.max(1, Math.round((bytes - header.length) / block.length));
  const file = Buffer.concat([header, ...Array.from({ length: blocks }, () => block)]);
  const chunks: Buffer[] = [];
  for (let at = 0; at < file.length; at += CHUNK_BYTES) chunks.push(file.subarray(at, at + CHUNK_BYTES));
  return { chunks, bytes: file.length, rows: blocks * 1000 };
}
