import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { checkCsv } from '../../../../lib/csv-check/checker.js';
import type { CsvCheckOptions } from '../../../../lib/csv-check/types.js';
import { randomCsv } from '../../../support/random-csv.js';

// The checker accepts rows of plain values without splitting them (the fast path) and sends any
// other row to papaparse. That is only sound if the fast path never accepts a row papaparse would
// find a problem in: these tests compare the two on generated files, cut at random bytes.

function check(chunks: Buffer[], options: CsvCheckOptions) {
  return checkCsv(Readable.from(chunks.length > 0 ? chunks : [Buffer.alloc(0)]), options);
}

/** The header as one chunk and the rest as another, as a stream may well deliver them. */
function headerThenRows(csv: string): Buffer[] {
  const lf = csv.indexOf('\n') + 1;
  return [Buffer.from(csv.slice(0, lf)), Buffer.from(csv.slice(lf))];
}

/** The report with plain rows skipped, after checking that it is the one with every row parsed. */
async function checkedBothWays(chunks: Buffer[], options: CsvCheckOptions) {
  const [everyRowParsed, plainRowsSkipped] = await Promise.all([
    check(chunks, { ...options, fastPath: false }),
    check(chunks, options),
  ]);
  expect(plainRowsSkipped).toEqual(everyRowParsed);
  return plainRowsSkipped;
}

describe('plain rows skipped without splitting', () => {
  it('give the same report as papaparse on every row, over 3,000 generated files', async () => {
    let passed = 0;
    for (let seed = 1; seed <= 3_000; seed++) {
      const { chunks, options } = randomCsv(seed);
      const [everyRowParsed, plainRowsSkipped] = await Promise.all([
        check(chunks, { ...options, fastPath: false }),
        check(chunks, options),
      ]);
      expect(plainRowsSkipped, `seed ${seed}`).toEqual(everyRowParsed);
      if (plainRowsSkipped.passed) passed += 1;
    }
    // Both kinds were generated: files that pass, and files with problems.
    expect(passed).toBeGreaterThan(1_000);
    expect(passed).toBeLessThan(2_000);
  }, 60_000);

  it('counts rows and finds a bad value after 200,000 plain rows, with its row number', async () => {
    const rows = '2024,female,1234567\n'.repeat(200_000);
    const chunks = headerThenRows(`year,sex,population\n${rows}2024,male,12O\n2024,male,5\n`);
    const report = await checkedBothWays(chunks, {
      mode: 'append',
      expectedColumns: [
        { name: 'year', dataType: 'NUMERIC' },
        { name: 'sex', dataType: 'TEXT' },
        { name: 'population', dataType: 'NUMERIC' },
      ],
    });
    expect(report).toMatchObject({ passed: false, rows: 200_002, errors: 1 });
    expect(report.problems).toEqual([
      expect.objectContaining({ code: 'NOT_NUMERIC', row: 200_002, column: 'population', value: '12O' }),
    ]);
  });

  it.each([
    ['a doubled quote every other character', `"${'a""'.repeat(300_000)}"`, []],
    ['doubled quotes, then none closing it', `"${'""'.repeat(450_000)}`, ['QUOTING']],
    ['a closing quote followed by text', `"${'a'.repeat(900_000)}"x`, ['QUOTING']],
  ])('takes a 900 kB quoted TEXT value of %s without running out of stack', async (_, value, problems) => {
    const report = await checkedBothWays(headerThenRows(`t,n\n${value},1\nb,2\n`), {
      mode: 'append',
      expectedColumns: [
        { name: 't', dataType: 'TEXT' },
        { name: 'n', dataType: 'NUMERIC' },
      ],
    });
    expect(report.problems.map((problem) => problem.code)).toEqual(problems);
  });

  it.each([
    ['digits then a letter', `${'1'.repeat(900_000)}x`],
    ['spaces then digits then a letter', `${' '.repeat(450_000)}${'1'.repeat(450_000)}x`],
    ['digits and spaces alternating', `${'1 '.repeat(450_000)}x`],
  ])('rejects a 900 kB NUMERIC value of %s in linear time', async (_, value) => {
    const started = performance.now();
    const report = await checkedBothWays(headerThenRows(`n,t\n${value},a\n1,b\n`), {
      mode: 'append',
      expectedColumns: [
        { name: 'n', dataType: 'NUMERIC' },
        { name: 't', dataType: 'TEXT' },
      ],
    });
    expect(report.problems.map((problem) => [problem.code, problem.row])).toEqual([['NOT_NUMERIC', 2]]);
    // Backtracking over the value would take minutes; a linear scan takes milliseconds.
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it.each([
    ['5,000 TEXT columns', 5_000, 'TEXT'],
    ['3,300 NUMERIC columns', 3_300, 'NUMERIC'],
    ['300 columns of alternating kinds', 300, 'alternating'],
  ])('checks a file of %s', async (_, count, kind) => {
    const columns = Array.from({ length: count }, (_, c) => ({
      name: `c${c}`,
      dataType: kind === 'alternating' ? (c % 2 ? 'TEXT' : 'NUMERIC') : kind,
    }));
    const row = (i: number) => columns.map((_, c) => String((i + c) % 1000)).join(',');
    const csv = `${columns.map((column) => column.name).join(',')}\n${[1, 2, 3].map(row).join('\n')}\n`;
    const report = await checkedBothWays(headerThenRows(csv), { mode: 'append', expectedColumns: columns });
    expect(report).toMatchObject({ passed: true, rows: 3 });
  });

  it('takes an 8 MB value of doubled quotes in one chunk (past what V8 can backtrack over)', async () => {
    const csv = `t,n\n"${'""'.repeat(4_000_000)}",1\nb,2\n`;
    const report = await checkedBothWays(headerThenRows(csv), {
      mode: 'replace',
      maxRecordBytes: 16 * 1024 * 1024,
    });
    expect(report).toMatchObject({ passed: true, rows: 2 });
  });
});
