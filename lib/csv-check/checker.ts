import { PassThrough, type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import Papa from 'papaparse';
import { compareWithDataset, headerErrors, headerStyleWarnings } from './header.js';
import type { CsvCheckOptions, CsvCheckReport, CsvProblem } from './types.js';
import { Utf8Validator } from './utf8.js';
import { ruleFor, type ValueRule } from './values.js';

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
/** NUL (an error) and the other control characters but tab, LF and CR (a warning). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const NUL = /\u0000/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0001-\u0008\u000B\u000C\u000E-\u001F\u007F]/;
/** After the file is known to be bad, read at most this much more to find further problems. */
const READ_AFTER_REJECTION = 64 * 1024 * 1024;

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
      run.feed(chunk);
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
      run.end().then((final) => {
        if (final.passed && held) this.push(held);
        held = undefined;
        resolveReport(final);
        callback(null);
      }, callback);
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
  #rules: Array<ValueRule | undefined> = [];
  #utf8 = new Utf8Validator();
  #invalidUtf8 = false;
  #invalidUtf8Located = false;
  /** Per detector (NUL, other control characters): seen in the text, and located in a row. */
  #controls = [
    { pattern: NUL, severity: 'error' as const, seen: false, located: false },
    { pattern: CONTROL, severity: 'warning' as const, seen: false, located: false },
  ];
  #decoder = new StringDecoder('utf8');
  #charsFed = 0;
  #cursor = 0;
  #input = new PassThrough({ objectMode: true });
  #pending: string[] = [];
  #parsed: Promise<void> | undefined;
  #finished: CsvCheckReport | undefined;

  constructor(options: CsvCheckOptions) {
    this.#options = { maxProblems: 20, maxValueLength: 60, maxRecordBytes: 1024 * 1024, ...options };
  }

  /**
   * Starts the parser once the line ending is known from the first line break: papaparse would
   * guess it from its first chunk, which may hold no line break at all.
   */
  #startParser(newline: '\n' | '\r\n'): void {
    this.#parsed = new Promise((resolve, reject) => {
      Papa.parse<string[]>(this.#input as unknown as File, {
        delimiter: ',',
        newline,
        quoteChar: '"',
        escapeChar: '"',
        step: (results, parser) => {
          if (this.stopped) {
            parser.abort();
            return;
          }
          this.#cursor = results.meta.cursor;
          this.#onRecord(results.data, results.errors, newline);
        },
        complete: () => resolve(),
        error: (error: Error) => reject(error),
      });
    });
    for (const text of this.#pending) this.#input.write(text);
    this.#pending = [];
  }

  #write(text: string): void {
    if (this.#parsed) {
      this.#input.write(text);
      return;
    }
    this.#pending.push(text);
    const start = this.#pending.join('');
    const lf = start.indexOf('\n');
    if (lf !== -1) this.#startParser(start[lf - 1] === '\r' ? '\r\n' : '\n');
  }

  feed(chunk: Buffer): void {
    if (this.stopped) return;
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
    const text = this.#decoder.write(bytes);
    // One scan per chunk; the record holding the character is found as the parser reaches it.
    for (const control of this.#controls)
      if (!control.seen && control.pattern.test(text)) control.seen = true;
    this.#charsFed += text.length;
    this.#write(text);
    // The parser keeps an unfinished record in memory: bound it.
    if (!this.stopped && this.#charsFed - this.#cursor > this.#options.maxRecordBytes) {
      this.#add({
        severity: 'error',
        code: 'RECORD_TOO_LARGE',
        row: this.#row + 1,
        message: `Row ${this.#row + 1} is longer than ${this.#options.maxRecordBytes} bytes: a quote that is never closed, or a file without line breaks. Later rows were not checked.`,
      });
      this.#stop();
    }
  }

  async end(): Promise<CsvCheckReport> {
    if (!this.stopped) {
      const rest = this.#decoder.end();
      if (rest) this.#write(rest);
      // A file without any line break is one line: LF is as good as any.
      if (!this.#parsed) this.#startParser('\n');
    }
    this.#endInput();
    await this.#parsed;
    if (!this.stopped) this.#endOfFileChecks();
    return this.finish();
  }

  /**
   * Freezes the report. Whatever the parser still holds after this (a row cut short because the
   * source stopped) is ignored: it says nothing about the file.
   */
  finish(): CsvCheckReport {
    if (this.#finished) return this.#finished;
    this.stopped = true;
    this.#endInput();
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

  #endInput(): void {
    if (!this.#input.writableEnded) this.#input.end();
  }

  #metadataNote(): string | undefined {
    if (this.#options.expectedColumns) return undefined;
    return this.#options.metadataUnavailable
      ? `The dataset's columns could not be read (${this.#options.metadataUnavailable}), so the header and value types were not compared with them.`
      : undefined;
  }

  #onRecord(record: string[], errors: Papa.ParseError[], linebreak: string): void {
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
    if (this.#mixedLineEndings(record, linebreak, row)) return;
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
          : `Row ${row} has ${record.length} fields; the header has ${header.length}.`,
      });
      return;
    }
    for (let index = 0; index < this.#rules.length; index++) {
      const rule = this.#rules[index];
      const value = record[index] ?? '';
      if (rule && !rule(value)) {
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
    if (!expected) return;
    for (const problem of compareWithDataset(header, expected, this.#options.mode)) this.#add(problem);
    const types = new Map(expected.map((column) => [column.name, column.dataType]));
    this.#rules = header.map((name) => {
      const dataType = types.get(name);
      return dataType ? ruleFor(dataType) : undefined;
    });
  }

  /**
   * The parser guesses the line ending from the start of the file. A file that mixes CRLF and LF
   * shows it as a field ending in CR (LF guessed) or rows run together (CRLF guessed).
   */
  #mixedLineEndings(record: string[], linebreak: string, row: number): boolean {
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
      message: `Row ${row}, column "${column}" has bytes that are not valid UTF-8 (shown as \uFFFD). Save the file as UTF-8.`,
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
        message: 'The file is not valid UTF-8. Save it as UTF-8.',
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
