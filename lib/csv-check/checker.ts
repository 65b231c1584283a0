import { PassThrough, type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import Papa from 'papaparse';
import { compareWithDataset, headerErrors, headerStyleWarnings } from './header.js';
import type { CsvCheckOptions, CsvCheckReport, CsvProblem, CsvProblemCode } from './types.js';
import { Utf8Validator } from './utf8.js';
import { type ColumnRule, ruleFor } from './values.js';

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
/** How to get a CSV data.gov.sg reads out of Excel, where most of these files come from. */
const SAVE_AS_CSV_UTF8 =
  'In Excel: File > Save As > "CSV UTF-8 (Comma delimited) (*.csv)", then drop that file.';
/**
 * Files that are not CSV text at all, told by their first bytes: a person is told what the file
 * is, not that row 1 has odd characters.
 */
const NOT_CSV: Array<{ code: CsvProblemCode; matches: (start: Buffer) => boolean; message: string }> = [
  {
    code: 'SPREADSHEET',
    // A ZIP archive: .xlsx (and .ods) workbooks are ZIP files.
    matches: (start) => start.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04])),
    message: `The file is a spreadsheet workbook (an Excel .xlsx file, a ZIP archive), not a CSV. ${SAVE_AS_CSV_UTF8}`,
  },
  {
    code: 'SPREADSHEET',
    // An OLE compound file: the .xls workbooks of Excel 97-2003.
    matches: (start) => start.subarray(0, 4).equals(Buffer.from([0xd0, 0xcf, 0x11, 0xe0])),
    message: `The file is a spreadsheet workbook (an Excel 97-2003 .xls file), not a CSV. ${SAVE_AS_CSV_UTF8}`,
  },
  {
    code: 'COMPRESSED',
    matches: (start) => start[0] === 0x1f && start[1] === 0x8b,
    message:
      'The file is gzip-compressed, not a CSV: decompress it (gunzip, or open it with an archive tool) and drop the .csv inside.',
  },
  {
    code: 'UTF16',
    // A UTF-16 byte order mark, or ASCII text with a NUL after (or before) each character.
    matches: (start) =>
      (start[0] === 0xff && start[1] === 0xfe) ||
      (start[0] === 0xfe && start[1] === 0xff) ||
      (start.length >= 4 && start[0] !== 0 && start[1] === 0 && start[2] !== 0 && start[3] === 0) ||
      (start.length >= 4 && start[0] === 0 && start[1] !== 0 && start[2] === 0 && start[3] !== 0),
    message: `The file is UTF-16 text (what Excel's "Unicode Text" export writes), not UTF-8. ${SAVE_AS_CSV_UTF8}`,
  },
];
/** NUL (an error) and the other control characters but tab, LF and CR (a warning). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const NUL = /\u0000/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0001-\u0008\u000B\u000C\u000E-\u001F\u007F]/;
/** After the file is known to be bad, read at most this much more to find further problems. */
const READ_AFTER_REJECTION = 64 * 1024 * 1024;
/** Lines papaparse is given at most between plain rows before it takes the rest of the chunk. */
const MAX_LINES_PER_PARSE = 64;
/**
 * Runs of columns of one kind the plain-row pattern may have: a longer pattern compiles slowly
 * and runs in V8's interpreter, slower than papaparse (measured on 300 alternating columns).
 */
const MAX_PLAIN_RUNS = 64;

/**
 * One whole row of plain values for these columns, then the line ending; undefined when the
 * pattern would be too long to help. Columns of one kind in a row share a counted group, so a
 * file of 5,000 NUMERIC columns still has a short pattern.
 */
function plainRowPattern(rules: readonly ColumnRule[], newline: string): RegExp | undefined {
  const runs: Array<{ source: string; count: number }> = [];
  for (const { plainSource } of rules) {
    const last = runs.at(-1);
    if (last?.source === plainSource) last.count += 1;
    else runs.push({ source: plainSource, count: 1 });
  }
  if (runs.length === 0 || runs.length > MAX_PLAIN_RUNS) return undefined;
  const fields = runs
    .map(({ source, count }, index) => {
      // Every field but the row's last is followed by a comma.
      const followed = index === runs.length - 1 ? count - 1 : count;
      const repeated =
        followed === 0 ? '' : followed === 1 ? `(?:${source}),` : `(?:${source},){${followed}}`;
      return index === runs.length - 1 ? `${repeated}(?:${source})` : repeated;
    })
    .join('');
  try {
    return new RegExp(`${fields}${newline === '\r\n' ? '\\r\\n' : '\\n'}`, 'y');
  } catch {
    return undefined;
  }
}

/** The index just after the `count`-th line feed from `from`, or the end of `text`. */
function afterLineBreaks(text: string, from: number, count: number): number {
  if (count === Number.POSITIVE_INFINITY) return text.length;
  let at = from;
  for (let seen = 0; seen < count; seen++) {
    const lf = text.indexOf('\n', at);
    if (lf === -1) return text.length;
    at = lf + 1;
  }
  return at;
}

/** A check running over a byte stream that is on its way somewhere else. */
export interface InFlightCheck {
  /**
   * Pass the file through this. Bytes come out unchanged, one chunk behind: the last chunk is
   * released only once the whole file has passed, so a bad file never arrives whole. After an
   * error nothing more comes out, but the input is still read to list further problems.
   */
  stream: Transform;
  /** Aborted as soon as the file is known to be bad: the consumer should stop sending. */
  signal: AbortSignal;
  /** The report, once the input ended or checking stopped. */
  report: Promise<CsvCheckReport>;
}

/**
 * Checks a CSV in one pass while it streams: UTF-8, RFC 4180 structure, the header (names, and
 * against the dataset's columns when given), and values against the column types. Memory is
 * bounded by `maxRecordBytes` whatever the input.
 */
export function createCsvCheck(options: CsvCheckOptions): InFlightCheck {
  const run = new CheckRun(options);
  let held: Buffer | undefined;
  let resolveReport: (report: CsvCheckReport) => void = () => undefined;
  const report = new Promise<CsvCheckReport>((resolve) => {
    resolveReport = resolve;
  });
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      try {
        run.feed(chunk);
      } catch (error) {
        // A fault of the checker itself fails the stream (and the upload), never the process.
        callback(error as Error);
        return;
      }
      if (run.rejected) {
        held = undefined;
        if (run.stopped) {
          // Nothing more to learn: stop reading the source.
          resolveReport(run.finish());
          callback(null);
          this.destroy();
          return;
        }
        callback(null);
        return;
      }
      if (held) this.push(held);
      held = chunk;
      callback(null);
    },
    flush(callback: TransformCallback) {
      let final: CsvCheckReport;
      try {
        final = run.end();
      } catch (error) {
        callback(error as Error);
        return;
      }
      if (final.passed && held) this.push(held);
      held = undefined;
      resolveReport(final);
      callback(null);
    },
  });
  // A source that fails mid-file ends the stream without a flush: settle the report anyway.
  stream.on('close', () => resolveReport(run.finish()));
  return { stream, signal: run.abort.signal, report };
}

/** Checks a whole stream without sending it anywhere (the `govpub validate` path). */
export async function checkCsv(source: Readable, options: CsvCheckOptions): Promise<CsvCheckReport> {
  const check = createCsvCheck(options);
  const sink = new PassThrough();
  sink.resume();
  await pipeline(source, check.stream, sink).catch((error: unknown) => {
    // The check stops reading once it knows enough; that ends the pipeline early on purpose.
    if (!(error instanceof Error && error.name === 'AbortError') && !check.signal.aborted) throw error;
  });
  return check.report;
}

class CheckRun {
  readonly abort = new AbortController();
  rejected = false;
  stopped = false;
  readonly #options: Required<Pick<CsvCheckOptions, 'maxProblems' | 'maxValueLength' | 'maxRecordBytes'>> &
    CsvCheckOptions;
  readonly #problems: CsvProblem[] = [];
  #errors = 0;
  #warnings = 0;
  #incomplete = false;
  #bytes = 0;
  #bytesAtRejection = 0;
  #row = 0;
  #header: string[] | undefined;
  #rules: ColumnRule[] = [];
  /**
   * Matches one whole row that would raise no problem (see #skipPlainRows); made from the header
   * unless `fastPath: false`, dropped when V8 gives up on it.
   */
  #plainRow: RegExp | undefined;
  #utf8 = new Utf8Validator();
  #invalidUtf8 = false;
  #invalidUtf8Located = false;
  /** Per detector (NUL, other control characters): seen in the text, and located in a row. */
  #controls = [
    { pattern: NUL, severity: 'error' as const, seen: false, located: false },
    { pattern: CONTROL, severity: 'warning' as const, seen: false, located: false },
  ];
  #decoder = new StringDecoder('utf8');
  /** Text not parsed yet: the unfinished last row, or everything before the first line break. */
  #carry = '';
  #newline: '\n' | '\r\n' | undefined;
  #parser: Papa.Parser | undefined;
  /** How many lines papaparse is given at once between stretches of plain rows (see #parse). */
  #rowsPerParse = 1;
  #finished: CsvCheckReport | undefined;

  constructor(options: CsvCheckOptions) {
    this.#options = { maxProblems: 20, maxValueLength: 60, maxRecordBytes: 1024 * 1024, ...options };
  }

  /** Whether plain rows may be skipped from here on: before the header, whether they will be. */
  get #skipping(): boolean {
    if (this.#options.fastPath === false || this.rejected) return false;
    return this.#header === undefined || this.#plainRow !== undefined;
  }

  feed(chunk: Buffer): void {
    if (this.stopped) return;
    const notCsv = this.#bytes === 0 ? NOT_CSV.find((kind) => kind.matches(chunk)) : undefined;
    if (notCsv) {
      this.#bytes += chunk.length;
      this.#add({ severity: 'error', code: notCsv.code, row: 1, message: notCsv.message });
      this.#stop();
      return;
    }
    let bytes = chunk;
    if (this.#bytes === 0 && chunk.subarray(0, 3).equals(BOM)) {
      this.#add({
        severity: 'warning',
        code: 'BOM',
        row: 1,
        message: 'The file starts with a UTF-8 byte order mark; it is accepted, but plain UTF-8 is safer.',
      });
      bytes = chunk.subarray(3);
    }
    this.#bytes += chunk.length;
    if (this.rejected && this.#bytes - this.#bytesAtRejection > READ_AFTER_REJECTION) {
      this.#stop();
      return;
    }
    if (!this.#utf8.push(bytes)) this.#invalidUtf8 = true;
    this.#parse(this.#decoder.write(bytes), false);
    // The unfinished record is kept in memory: bound it.
    if (!this.stopped && this.#carry.length > this.#options.maxRecordBytes) {
      this.#add({
        severity: 'error',
        code: 'RECORD_TOO_LARGE',
        row: this.#row + 1,
        message: `Row ${this.#row + 1} is longer than ${this.#options.maxRecordBytes} bytes: a quote that is never closed, or a file without line breaks. Later rows were not checked.`,
      });
      this.#stop();
    }
  }

  end(): CsvCheckReport {
    if (!this.stopped) {
      this.#parse(this.#decoder.end(), true);
      if (!this.stopped) this.#endOfFileChecks();
    }
    return this.finish();
  }

  /**
   * Parses what is complete of the carried text and `text`, keeping the unfinished last row
   * (unless `final`), as papaparse's own chunk streamer does. Rows that are plainly fine are
   * skipped without being split; the others go to papaparse (see #parseRows), which finds every
   * problem the report lists.
   */
  #parse(text: string, final: boolean): void {
    const input = this.#carry + text;
    if (!this.#parser) {
      // The line ending is taken from the first line break, not left to papaparse's guess from
      // its first chunk (which may hold none). A file without any is one line: LF is as good.
      const lf = input.indexOf('\n');
      if (lf === -1 && !final) {
        this.#carry = input;
        return;
      }
      this.#newline = lf > 0 && input[lf - 1] === '\r' ? '\r\n' : '\n';
      this.#parser = new Papa.Parser({
        delimiter: ',',
        newline: this.#newline,
        quoteChar: '"',
        escapeChar: '"',
      });
    }
    let at = 0;
    while (!this.stopped) {
      const skipped = this.#skipPlainRows(input, at);
      // Back to papaparse for a row or two after plain rows; for longer stretches while none are.
      if (this.#plainRow) this.#rowsPerParse = skipped > at ? 1 : this.#rowsPerParse * 2;
      at = skipped;
      if (at >= input.length || (!final && !input.includes('\n', at))) break;
      const consumed = this.#parseRows(input, at, final);
      if (consumed === 0) break;
      at += consumed;
    }
    this.#carry = input.slice(at);
  }

  /** Counts the rows from `at` that match the plain-row pattern; returns where they end. */
  #skipPlainRows(input: string, from: number): number {
    const plain = this.#plainRow;
    if (!plain || this.rejected) return from;
    let at = from;
    let rows = 0;
    try {
      for (;;) {
        plain.lastIndex = at;
        if (!plain.test(input)) break;
        at = plain.lastIndex;
        rows += 1;
      }
    } catch {
      // V8 gives up on a value of millions of doubled quotes (its backtrack stack): papaparse
      // takes the rest of the file.
      this.#plainRow = undefined;
    }
    this.#row += rows;
    return at;
  }

  /**
   * Parses rows from `at` with papaparse: #rowsPerParse lines of them while plain rows may follow,
   * else all that is complete. Returns the characters consumed; 0 when no row is complete yet.
   */
  #parseRows(input: string, at: number, final: boolean): number {
    const parser = this.#parser as Papa.Parser;
    // Until the header is parsed, only it: plain rows may follow it in the same chunk.
    const fewLines = this.#skipping && this.#rowsPerParse <= MAX_LINES_PER_PARSE;
    for (
      let lines = fewLines ? this.#rowsPerParse : Number.POSITIVE_INFINITY;
      ;
      lines = lines >= MAX_LINES_PER_PARSE ? Number.POSITIVE_INFINITY : lines * 2
    ) {
      const end = afterLineBreaks(input, at, lines);
      const last = end === input.length;
      const rest = at === 0 && last ? input : input.slice(at, end);
      // One scan per parse, not per row; the record holding the character is found as it is
      // reached. Plain rows hold none, so only what papaparse parses needs the scan.
      for (const control of this.#controls)
        if (!control.seen && control.pattern.test(rest)) control.seen = true;
      const results = parser.parse(rest, 0, !(final && last)) as Papa.ParseResult<string[]>;
      // A region that ends inside a quoted value holding line breaks has no complete row: widen it.
      if (results.data.length === 0 && !last) continue;
      this.#onRows(results);
      return results.meta.cursor;
    }
  }

  #onRows(results: Papa.ParseResult<string[]>): void {
    const errorsOfRow = new Map<number, Papa.ParseError[]>();
    // An error past the rows returned belongs to the unfinished row; it is found again with it.
    for (const error of results.errors) {
      const row = error.row ?? 0;
      errorsOfRow.set(row, [...(errorsOfRow.get(row) ?? []), error]);
    }
    for (const [index, record] of results.data.entries()) {
      if (this.stopped) return;
      this.#onRecord(record, errorsOfRow.get(index) ?? []);
    }
  }

  /**
   * Freezes the report. Whatever the parser still holds after this (a row cut short because the
   * source stopped) is ignored: it says nothing about the file.
   */
  finish(): CsvCheckReport {
    if (this.#finished) return this.#finished;
    this.stopped = true;
    this.#carry = '';
    this.#finished = {
      passed: this.#errors === 0,
      bytes: this.#bytes,
      rows: Math.max(0, this.#row - 1),
      columns: this.#header ?? [],
      errors: this.#errors,
      warnings: this.#warnings,
      problems: [...this.#problems],
      incomplete: this.#incomplete,
      metadata: this.#options.expectedColumns ? 'compared' : 'not-compared',
      ...(this.#metadataNote() ? { metadataNote: this.#metadataNote() } : {}),
    };
    return this.#finished;
  }

  #metadataNote(): string | undefined {
    if (this.#options.expectedColumns) return undefined;
    return this.#options.metadataUnavailable
      ? `The dataset's columns could not be read (${this.#options.metadataUnavailable}), so the header and value types were not compared with them.`
      : undefined;
  }

  #onRecord(record: string[], errors: Papa.ParseError[]): void {
    this.#row += 1;
    const row = this.#row;
    if (errors.some((error) => error.type === 'Quotes')) {
      this.#add({
        severity: 'error',
        code: 'QUOTING',
        row,
        message: `Row ${row} has a quote that is not closed properly: a field that starts with " must end with " followed by a comma or the end of the line, and a " inside it must be doubled (""). Later rows were not checked.`,
      });
      this.#stop();
      return;
    }
    if (this.#mixedLineEndings(record, row)) return;
    if (this.#invalidUtf8 && !this.#invalidUtf8Located) this.#locateInvalidUtf8(record, row);
    for (const control of this.#controls)
      if (control.seen && !control.located) this.#locateControl(control, record, row);
    if (row === 1) {
      this.#onHeader(record);
      return;
    }
    const header = this.#header ?? [];
    if (record.length !== header.length) {
      const blank = record.length === 1 && record[0] === '';
      this.#add({
        severity: 'error',
        code: 'FIELD_COUNT',
        row,
        message: blank
          ? `Row ${row} is empty; remove blank lines.`
          : `Row ${row} has ${record.length} fields; the header has ${header.length}.${
              record.length > header.length
                ? ' A value that contains a comma must be in double quotes ("2,100,000"), or written without it.'
                : ''
            }`,
      });
      return;
    }
    for (let index = 0; index < this.#rules.length; index++) {
      const accepts = this.#rules[index]?.accepts;
      const value = record[index] ?? '';
      if (accepts && !accepts(value)) {
        const column = header[index] ?? `#${index + 1}`;
        this.#add({
          severity: 'error',
          code: 'NOT_NUMERIC',
          row,
          column,
          value: this.#cut(value),
          message: `Row ${row}, column "${column}" must be a number (NUMERIC), not "${this.#cut(value)}".`,
        });
      }
    }
  }

  #onHeader(header: string[]): void {
    this.#header = header;
    for (const problem of [...headerErrors(header), ...headerStyleWarnings(header)]) this.#add(problem);
    const expected = this.#options.expectedColumns;
    if (expected) {
      const compared = compareWithDataset(
        header,
        expected,
        this.#options.mode,
        this.#options.newColumns ?? false,
      );
      for (const problem of compared) this.#add(problem);
    }
    const types = new Map(expected?.map((column) => [column.name, column.dataType]));
    this.#rules = header.map((name) => ruleFor(types.get(name)));
    if (this.#options.fastPath !== false)
      this.#plainRow = plainRowPattern(this.#rules, this.#newline ?? '\n');
  }

  /**
   * The parser guesses the line ending from the start of the file. A file that mixes CRLF and LF
   * shows it as a field ending in CR (LF guessed) or rows run together (CRLF guessed).
   */
  #mixedLineEndings(record: string[], row: number): boolean {
    const linebreak = this.#newline;
    const last = record.at(-1) ?? '';
    const crInLf = linebreak === '\n' && last.endsWith('\r');
    const lfInCrlf =
      linebreak === '\r\n' &&
      this.#header !== undefined &&
      record.length > this.#header.length &&
      record.some((field) => field.includes('\n'));
    if (!crInLf && !lfInCrlf) return false;
    this.#add({
      severity: 'error',
      code: 'MIXED_LINE_ENDINGS',
      row,
      message: `Row ${row} ends with ${crInLf ? 'CRLF' : 'LF'} but the file's lines end with ${crInLf ? 'LF' : 'CRLF'}; use one kind of line ending throughout. Later rows were not checked.`,
    });
    this.#stop();
    return true;
  }

  #locateInvalidUtf8(record: string[], row: number): void {
    const index = record.findIndex((field) => field.includes('\uFFFD'));
    if (index === -1) return;
    this.#invalidUtf8Located = true;
    const column = row === 1 ? `#${index + 1}` : (this.#header?.[index] ?? `#${index + 1}`);
    this.#add({
      severity: 'error',
      code: 'INVALID_UTF8',
      row,
      column,
      value: this.#cut(record[index] ?? ''),
      message: `Row ${row}, column "${column}" has bytes that are not valid UTF-8 (shown as \uFFFD): the file is probably in Windows-1252, which Excel's plain "CSV (Comma delimited)" writes. ${SAVE_AS_CSV_UTF8}`,
    });
  }

  #locateControl(
    control: { pattern: RegExp; severity: 'error' | 'warning'; located: boolean },
    record: string[],
    row: number,
  ): void {
    const index = record.findIndex((field) => control.pattern.test(field));
    if (index === -1) return;
    control.located = true;
    const value = record[index] ?? '';
    const column = row === 1 ? `#${index + 1}` : (this.#header?.[index] ?? `#${index + 1}`);
    const code = value.match(control.pattern)?.[0]?.codePointAt(0) ?? 0;
    // NUL breaks most loaders; other control characters are suspicious but not known to fail.
    this.#add({
      severity: control.severity,
      code: 'CONTROL_CHARACTER',
      row,
      column,
      value: this.#cut(value.replace(control.pattern, '\uFFFD')),
      message: `Row ${row}, column "${column}" holds the control character U+${code.toString(16).padStart(4, '0').toUpperCase()}${code === 0 ? ' (NUL)' : ''}, which data.gov.sg may reject. Remove it.`,
    });
  }

  #endOfFileChecks(): void {
    if ((this.#invalidUtf8 || !this.#utf8.end()) && !this.#invalidUtf8Located) {
      this.#add({
        severity: 'error',
        code: 'INVALID_UTF8',
        message: `The file is not valid UTF-8: it is probably in Windows-1252, which Excel's plain "CSV (Comma delimited)" writes. ${SAVE_AS_CSV_UTF8}`,
      });
    }
    if (this.#bytes === 0 || this.#header === undefined) {
      this.#add({
        severity: 'error',
        code: 'EMPTY_FILE',
        message: 'The file is empty: it has no header and no rows.',
      });
    } else if (this.#row < 2) {
      this.#add({
        severity: 'error',
        code: 'NO_ROWS',
        message:
          'The file has a header but no rows; publishing it would leave the dataset empty or add nothing.',
      });
    }
  }

  #add(problem: CsvProblem): void {
    if (problem.severity === 'error') this.#errors += 1;
    else this.#warnings += 1;
    if (this.#problems.length < this.#options.maxProblems) this.#problems.push(problem);
    else this.#incomplete = true;
    if (problem.severity === 'error' && !this.rejected) {
      this.rejected = true;
      this.#bytesAtRejection = this.#bytes;
      this.abort.abort();
    }
    if (this.rejected && this.#problems.length >= this.#options.maxProblems) this.#stop();
  }

  #stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.#incomplete = true;
  }

  #cut(value: string): string {
    const max = this.#options.maxValueLength;
    return value.length > max ? `${value.slice(0, max)}…` : value;
  }
}
