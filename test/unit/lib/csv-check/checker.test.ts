import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { checkCsv, createCsvCheck } from '../../../../lib/csv-check/checker.js';
import type { CsvCheckOptions, CsvCheckReport } from '../../../../lib/csv-check/types.js';
import { CsvRejectedError } from '../../../../lib/errors.js';

const COLUMNS = [
  { name: 'year', dataType: 'NUMERIC' },
  { name: 'sex', dataType: 'TEXT' },
  { name: 'population', dataType: 'NUMERIC' },
];

/** Streams `input` in chunks of `chunkSize` bytes, as S3 would. */
function chunked(input: string | Buffer, chunkSize = 7): Readable {
  const bytes = Buffer.isBuffer(input) ? input : Buffer.from(input);
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += chunkSize) chunks.push(bytes.subarray(at, at + chunkSize));
  return Readable.from(chunks);
}

function check(
  input: string | Buffer,
  options: Partial<CsvCheckOptions> = {},
  chunkSize = 7,
): Promise<CsvCheckReport> {
  return checkCsv(chunked(input, chunkSize), { mode: 'replace', ...options });
}

function codes(report: CsvCheckReport): string[] {
  return report.problems.map((problem) => problem.code);
}

describe('checkCsv', () => {
  it('passes a good file and reports its rows and columns', async () => {
    const report = await check('year,sex,population\n2023,female,2100000\n2023,male,2050000\n', {
      mode: 'append',
      expectedColumns: COLUMNS,
    });
    expect(report).toMatchObject({
      passed: true,
      rows: 2,
      columns: ['year', 'sex', 'population'],
      errors: 0,
      warnings: 0,
      metadata: 'compared',
      problems: [],
    });
  });

  it('accepts CRLF files, quoted commas, quotes and line breaks, and a last row without a line break', async () => {
    const report = await check('name,note\r\n"Tan, A","said ""hi""\nthen left"\r\nLee,ok', {}, 3);
    expect(report).toMatchObject({ passed: true, rows: 2 });
  });

  it('accepts a UTF-8 byte order mark with a warning', async () => {
    const report = await check(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('a,b\n1,2\n')]));
    expect(report).toMatchObject({ passed: true, columns: ['a', 'b'] });
    expect(report.problems).toEqual([expect.objectContaining({ code: 'BOM', severity: 'warning', row: 1 })]);
  });

  it('accepts multi-byte characters split across chunks', async () => {
    const report = await check('name,city\n张伟,新加坡\nZoë,Ang Mo Kio\n', {}, 1);
    expect(report).toMatchObject({ passed: true, rows: 2 });
  });

  it('reports bytes that are not UTF-8 with their row and column', async () => {
    const latin1 = Buffer.from('name,city\nJosé,Bedok\n', 'latin1');
    const report = await check(latin1);
    expect(report.passed).toBe(false);
    expect(report.problems[0]).toMatchObject({ code: 'INVALID_UTF8', row: 2, column: 'name' });
    // Excel's plain "CSV (Comma delimited)" writes Windows-1252: say so, and how to save UTF-8.
    expect(report.problems[0]?.message).toMatch(/Windows-1252.*"CSV UTF-8 \(Comma delimited\) \(\*\.csv\)"/);
  });

  it.each([
    [
      'an Excel workbook (.xlsx, a ZIP archive)',
      Buffer.from('PK\x03\x04\x14\x00\x06\x00[Content_Types].xml', 'latin1'),
      'SPREADSHEET',
      /\.xlsx/,
    ],
    [
      'an Excel 97-2003 workbook (.xls)',
      Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0]),
      'SPREADSHEET',
      /\.xls file/,
    ],
    ['UTF-16 with a byte order mark', Buffer.from('\ufeffyear,sex\n2023,f\n', 'utf16le'), 'UTF16', /UTF-16/],
    ['UTF-16 without one', Buffer.from('year,sex\n2023,f\n', 'utf16le'), 'UTF16', /UTF-16/],
    ['big-endian UTF-16', Buffer.from('\ufeffyear,sex\n', 'utf16le').swap16(), 'UTF16', /UTF-16/],
    ['a gzip-compressed CSV', gzipSync('year,sex\n2023,f\n'), 'COMPRESSED', /gzip/],
  ])('names %s as what it is, once, and stops there', async (_, bytes, code, what) => {
    const report = await check(bytes);
    expect(report.passed).toBe(false);
    expect(report.problems).toEqual([expect.objectContaining({ severity: 'error', code, row: 1 })]);
    expect(report.problems[0]?.message).toMatch(what);
    if (code !== 'COMPRESSED') expect(report.problems[0]?.message).toContain('CSV UTF-8 (Comma delimited)');
  });

  it('takes none of those for a CSV that merely starts like one', async () => {
    for (const csv of ['P,K\n1,2\n', 'a,b\n1,2\n', '\u00ffa,b\n1,2\n']) {
      expect((await check(csv)).problems.map((problem) => problem.code)).not.toContain('UTF16');
      expect((await check(csv)).problems.map((problem) => problem.code)).not.toContain('SPREADSHEET');
    }
  });

  it('reports a NUL or other control character with its row and column', async () => {
    const report = await check('year,sex,population\n2023,fe\u0000male,1\n');
    expect(report.problems).toEqual([
      expect.objectContaining({ code: 'CONTROL_CHARACTER', row: 2, column: 'sex' }),
    ]);
    expect(report.problems[0]?.message).toMatch(/U\+0000 \(NUL\)/);
    expect((await check('a,b\n"tab\tok",1\n')).passed).toBe(true);
  });

  it('reports a row with the wrong number of fields, and a blank line', async () => {
    const report = await check('a,b,c\n1,2,3\n4,5\n\n6,7,8,9\n');
    expect(report.problems.map((p) => [p.code, p.row])).toEqual([
      ['FIELD_COUNT', 3],
      ['FIELD_COUNT', 4],
      ['FIELD_COUNT', 5],
    ]);
    expect(report.problems[0]?.message).toBe('Row 3 has 2 fields; the header has 3.');
    expect(report.problems[1]?.message).toMatch(/empty/);
    // More fields than the header: most often a number written with thousands separators.
    expect(report.problems[2]?.message).toBe(
      'Row 5 has 4 fields; the header has 3. A value that contains a comma must be in double quotes ("2,100,000"), or written without it.',
    );
  });

  it('names the first error once in the rejection, as the checker wrote it', async () => {
    const report = await check('year,sex,population\n2023,female,2,100,000\n');
    const error = new CsvRejectedError(report);
    expect(error.message).toBe(
      `The file has 1 error(s) and was not sent to data.gov.sg. The first: ${report.problems[0]?.message} Fix the file and drop it again; the report lists the problems.`,
    );
    expect(error.message).not.toMatch(/row \d+: Row \d+/i);
  });

  it('reports empty and duplicate header names', async () => {
    const report = await check('a,,a\n1,2,3\n');
    expect(report.problems.filter((p) => p.severity === 'error').map((p) => [p.code, p.column])).toEqual([
      ['EMPTY_HEADER', '#2'],
      ['DUPLICATE_HEADER', 'a'],
    ]);
  });

  it('reports a badly closed quote and stops there', async () => {
    const report = await check('a,b\n1,2\n"bad"x,3\n4,5\n');
    expect(report.problems).toEqual([expect.objectContaining({ code: 'QUOTING', row: 3 })]);
    expect(report.incomplete).toBe(true);
  });

  it('reports a quote left open at the end of the file', async () => {
    const report = await check('a,b\n1,2\n"never closed,3\n');
    expect(report.problems).toEqual([expect.objectContaining({ code: 'QUOTING', row: 3 })]);
  });

  it('reports a header-only file and an empty file', async () => {
    expect(codes(await check('a,b\n'))).toEqual(['NO_ROWS']);
    expect(codes(await check(''))).toEqual(['EMPTY_FILE']);
  });

  it.each([
    ['LF file with a CRLF row', 'a,b\n1,2\r\n3,4\n'],
    ['CRLF file with an LF row', 'a,b\r\n1,2\n3,4\r\n'],
  ])('reports mixed line endings in a %s', async (_, input) => {
    const report = await check(input, {}, 64);
    expect(report.problems[0]).toMatchObject({ code: 'MIXED_LINE_ENDINGS', row: 2 });
  });

  it('stops at a record larger than the bound instead of holding it: a 2 GiB single line', async () => {
    const line = Buffer.alloc(64 * 1024, 'x');
    const source = Readable.from(
      (function* () {
        yield Buffer.from('a,b\n1,');
        for (let sent = 0; sent < 2 * 1024 ** 3; sent += line.length) yield line;
      })(),
    );
    let pulled = 0;
    source.on('data', (chunk: Buffer) => {
      pulled += chunk.length;
    });
    const report = await checkCsv(source, { mode: 'replace' });
    expect(report.problems).toEqual([expect.objectContaining({ code: 'RECORD_TOO_LARGE', row: 2 })]);
    // It stopped reading soon after the 1 MiB bound, holding no more than that.
    expect(pulled).toBeLessThan(4 * 1024 * 1024);
  });

  it('turns binary junk into a report, not a crash', async () => {
    const junk = Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 7919 + 13) % 256));
    const report = await check(junk, {}, 4096);
    expect(report.passed).toBe(false);
    expect(report.errors).toBeGreaterThan(0);
  });

  it('compares the header of an append with the dataset, naming missing, unexpected and renamed columns', async () => {
    const report = await check('Year,sex,populaton,region\n2023,f,1,x\n', {
      mode: 'append',
      expectedColumns: COLUMNS,
    });
    expect(report.problems.filter((p) => p.severity === 'error').map((p) => [p.code, p.column])).toEqual([
      ['RENAMED_COLUMN', 'Year'],
      ['RENAMED_COLUMN', 'populaton'],
      ['UNEXPECTED_COLUMN', 'region'],
    ]);
    expect(report.problems.find((p) => p.code === 'RENAMED_COLUMN')?.message).toMatch(/Rename it to "year"/);
  });

  it('names a missing column, and only warns about another column order', async () => {
    const missing = await check('year,sex\n2023,f\n', { mode: 'append', expectedColumns: COLUMNS });
    expect(missing.problems.map((p) => [p.code, p.column])).toEqual([['MISSING_COLUMN', 'population']]);
    const reordered = await check('sex,year,population\nf,2023,1\n', {
      mode: 'append',
      expectedColumns: COLUMNS,
    });
    expect(reordered).toMatchObject({ passed: true, warnings: 1 });
    expect(codes(reordered)).toEqual(['COLUMN_ORDER']);
  });

  it('only warns when a replace changes the columns', async () => {
    const report = await check('year,sex,population,region\n2023,f,1,x\n', {
      mode: 'replace',
      expectedColumns: COLUMNS,
    });
    expect(report.passed).toBe(true);
    expect(report.problems).toEqual([
      expect.objectContaining({ code: 'UNEXPECTED_COLUMN', severity: 'warning' }),
    ]);
  });

  it('checks NUMERIC values, accepting blanks, and leaves other types alone', async () => {
    const good = await check('year,sex,population\n2023,f,12\n-1.5,m,1e3\n,x,\n .5 ,?, \n', {
      expectedColumns: COLUMNS,
    });
    expect(good.passed).toBe(true);
    const bad = await check('year,sex,population\n2023,f,"1,234"\nabc,m,NaN\n', { expectedColumns: COLUMNS });
    expect(bad.problems.map((p) => [p.code, p.row, p.column, p.value])).toEqual([
      ['NOT_NUMERIC', 2, 'population', '1,234'],
      ['NOT_NUMERIC', 3, 'year', 'abc'],
      ['NOT_NUMERIC', 3, 'population', 'NaN'],
    ]);
  });

  it('warns, never fails, on header names outside data.gov.sg’s guidance', async () => {
    const report = await check('Population Count,a_very_long_column_name_indeed\n1,2\n');
    expect(report.passed).toBe(true);
    expect(report.problems.map((p) => [p.code, p.severity, p.column])).toEqual([
      ['HEADER_STYLE', 'warning', 'Population Count'],
      ['HEADER_STYLE', 'warning', 'a_very_long_column_name_indeed'],
    ]);
  });

  it('lists the first problems, counts them all, and cuts long values', async () => {
    const rows = Array.from({ length: 30 }, () => `2023,f,${'x'.repeat(100)}`).join('\n');
    const report = await check(
      `year,sex,population\n${rows}\n`,
      { expectedColumns: COLUMNS, maxProblems: 5 },
      4096,
    );
    expect(report.problems).toHaveLength(5);
    expect(report.incomplete).toBe(true);
    expect(report.problems[0]?.value).toBe(`${'x'.repeat(60)}…`);
  });

  it('says when the dataset’s columns could not be read, and checks the rest', async () => {
    const report = await check('a,b\n1,2\n', { mode: 'append', metadataUnavailable: 'HTTP 503' });
    expect(report).toMatchObject({
      passed: true,
      metadata: 'not-compared',
      metadataNote: expect.stringMatching(/HTTP 503/),
    });
  });
});

describe('createCsvCheck in flight', () => {
  async function through(input: string, options: Partial<CsvCheckOptions> = {}) {
    const check = createCsvCheck({ mode: 'replace', ...options });
    const out: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        out.push(chunk);
        callback();
      },
    });
    await pipeline(chunked(input, 5), check.stream, sink).catch(() => undefined);
    return {
      output: Buffer.concat(out).toString(),
      report: await check.report,
      aborted: check.signal.aborted,
    };
  }

  it('passes a good file through unchanged', async () => {
    const input = 'a,b\n1,2\n3,4\n';
    expect(await through(input)).toMatchObject({ output: input, aborted: false, report: { passed: true } });
  });

  it('never lets a bad file through whole, even when the problem is in its last bytes', async () => {
    const input = 'a,b\n1,2\n3,4\n5\n';
    const { output, aborted, report } = await through(input);
    expect(aborted).toBe(true);
    expect(output.length).toBeLessThan(input.length);
    expect(report.problems[0]).toMatchObject({ code: 'FIELD_COUNT', row: 4 });
  });

  it('holds back the end of a header-only file', async () => {
    const { output, aborted } = await through('a,b,c,d,e,f\n');
    expect(aborted).toBe(true);
    expect(output.length).toBeLessThan('a,b,c,d,e,f\n'.length);
  });
});
