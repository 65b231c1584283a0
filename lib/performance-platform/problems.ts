/**
 * Validation problems for people. backdrop's messages (records.ts, which the local write API
 * answers with) are Python 2 reprs in phase order, and one cause is often said two or three
 * times: a bad `_timestamp` fails the schema, the timestamp parse and the field check. Here each
 * (record, field) becomes one problem with a stable code, a plain-English message and backdrop's
 * own text beside it, sorted by record and then by field.
 *
 * Problems are what backdrop said, explained: backdrop reports only the first bad key of a record
 * (and one failing timestamp of three), so a record may show more once those are fixed.
 */
import type { ForwardResult } from './forward.js';
import {
  type DataSetRules,
  type FindingCause,
  inspectRecords,
  PythonFloat,
  pythonStr,
  type RecordFinding,
} from './records.js';

export type RecordProblemCode = FindingCause['code'];

/** Every code a forward's problems carry: backdrop's rules, then reading and splitting the records. */
export type ProblemCode =
  | RecordProblemCode
  | 'UNREADABLE_FILE'
  | 'BAD_LINE'
  | 'RECORD_TOO_LARGE'
  | 'NOT_ENCODABLE'
  | 'BAD_SETTING'
  | 'NOT_LISTED';

/** One problem of one record, in plain English and in backdrop's words. */
export interface RecordProblem {
  index: number;
  field?: string;
  code: RecordProblemCode;
  /** For people. */
  message: string;
  /** The text backdrop answered for it (the write API's contract); the first, if it said several. */
  backdropMessage: string;
}

/**
 * A problem in a forward's result. Every problem of an invalid result has a `code`; those about
 * a record's content also `field` and `backdropMessage`; `index` is null for the file as a whole,
 * and `line` is the NDJSON line. A failed request's messages are the service's, without a code.
 */
export interface ForwardProblem {
  index: number | null;
  line?: number;
  field?: string;
  code?: ProblemCode;
  message: string;
  backdropMessage?: string;
}

/** The example every date-and-time message shows. */
export const EXAMPLE_DATE_TIME = '2024-01-31T00:00:00Z';

const TIMESTAMP_FIELDS: readonly string[] = ['_timestamp', '_start_at', '_end_at'];

/**
 * Which cause of a (record, field) a person should read first: the one whose fix comes first
 * (a missing or misnamed field before its value; a value's type before its range).
 */
const PRIORITY: readonly RecordProblemCode[] = [
  'NOT_AN_OBJECT',
  'REQUIRED',
  'ID_FIELD_MISSING',
  'INVALID_KEY',
  'UNKNOWN_INTERNAL_FIELD',
  'WRONG_TYPE',
  'INVALID_VALUE',
  'IMPOSSIBLE_DATE_TIME',
  'NOT_DATE_TIME',
  'NOT_ONE_OF',
  'BELOW_MINIMUM',
  'ABOVE_MAXIMUM',
  'INVALID_ID',
];

/** A value written as a date and time, whether or not that date exists. */
const DATE_TIME_SHAPE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/;

/**
 * The problems of a batch under backdrop's rules: one per (record, field), sorted by record, then
 * fields missing from the record (in the schema's order), then the record's own fields in its
 * order. Empty when backdrop would store the batch.
 */
export function recordProblems(records: readonly unknown[], rules: DataSetRules): RecordProblem[] {
  const groups = new Map<string, RecordFinding[]>();
  for (const finding of inspectRecords(records, rules).findings) {
    const key = JSON.stringify([finding.index, finding.field ?? null]);
    const group = groups.get(key);
    if (group) group.push(finding);
    else groups.set(key, [finding]);
  }
  return sortProblems([...groups.values()].map(merged), records);
}

function merged(findings: readonly RecordFinding[]): RecordProblem {
  const [first, ...rest] = findings;
  if (!first) throw new RangeError('a problem needs a finding');
  const primary = rest.reduce(
    (best, finding) => (rank(finding.cause) < rank(best.cause) ? finding : best),
    first,
  );
  return {
    index: primary.index,
    ...(primary.field === undefined ? {} : { field: primary.field }),
    code: primary.cause.code,
    message: plainMessage(
      primary.field,
      primary.cause,
      findings.map((finding) => finding.cause),
    ),
    backdropMessage: primary.backdropMessage,
  };
}

function rank(cause: FindingCause): number {
  // "2024-02-30T00:00:00Z" is best told that the date does not exist; "2024-13-01" is best shown
  // the shape it lacks, which its fix needs first.
  if (cause.code === 'IMPOSSIBLE_DATE_TIME' && !DATE_TIME_SHAPE.test(String(cause.value))) {
    return PRIORITY.indexOf('NOT_DATE_TIME') + 0.5;
  }
  return PRIORITY.indexOf(cause.code);
}

function sortProblems(problems: RecordProblem[], records: readonly unknown[]): RecordProblem[] {
  const keys = new Map<number, string[]>();
  const fieldRank = ({ index, field }: RecordProblem): number => {
    if (field === undefined) return -2;
    let own = keys.get(index);
    if (!own) {
      const record = records[index];
      own = typeof record === 'object' && record !== null ? Object.keys(record) : [];
      keys.set(index, own);
    }
    return own.indexOf(field); // -1, before the record's own fields, for a missing one
  };
  // Array.prototype.sort is stable: missing fields keep backdrop's (the schema's) order.
  return problems.sort((a, b) => a.index - b.index || fieldRank(a) - fieldRank(b));
}

/**
 * The plain-English message of a field's problem. `all` are every cause found for the field
 * (backdrop's order); a value breaking several constraints is told all of them at once.
 */
export function plainMessage(
  field: string | undefined,
  primary: FindingCause,
  all: readonly FindingCause[] = [primary],
): string {
  const name = field ?? 'the record';
  switch (primary.code) {
    case 'NOT_AN_OBJECT':
      return `the record should be an object such as {"_timestamp": "${EXAMPLE_DATE_TIME}"}, not ${describeValue(primary.value)}`;
    case 'REQUIRED':
      return `${name} is missing`;
    case 'ID_FIELD_MISSING':
      return `${name} is missing (this data set makes each record's _id from ${listed(primary.idFields)})`;
    case 'INVALID_KEY':
      return `${quoted(name)} is not a valid field name: use two or more letters, digits and _, not starting with a digit`;
    case 'UNKNOWN_INTERNAL_FIELD':
      return `${name} is not allowed: the only fields starting with _ are _timestamp, _start_at, _end_at and _id`;
    case 'INVALID_VALUE':
      return `${name} should be text, a number, true, false or null, not ${describeValue(primary.value)}`;
    case 'NOT_DATE_TIME':
      return `${name} ${quoted(String(primary.value))} is not a date and time such as ${EXAMPLE_DATE_TIME}`;
    case 'IMPOSSIBLE_DATE_TIME':
      return `${name} ${quoted(String(primary.value))} is a date and time that does not exist (check the day, month, time and offset)`;
    case 'INVALID_ID':
      return primary.generatedFrom
        ? `the _id this data set makes from ${listed(primary.generatedFrom)} is empty: give ${primary.generatedFrom.length === 1 ? 'it' : 'them'} a value`
        : `_id should be text without spaces, not ${describeValue(primary.value)}`;
    case 'WRONG_TYPE':
      if (TIMESTAMP_FIELDS.includes(name)) {
        return `${name} should be a date and time in quotes, such as "${EXAMPLE_DATE_TIME}", not ${describeValue(primary.value)}`;
      }
      return `${name} should be ${expectation(all)}, not ${describeValue(primary.value)}`;
    case 'NOT_ONE_OF':
    case 'BELOW_MINIMUM':
    case 'ABOVE_MAXIMUM':
      return `${name} should be ${expectation(all)}, not ${describeValue(primary.value)}`;
  }
}

/** What the schema asks of a value, from every constraint it broke: "a whole number of at least 0". */
function expectation(causes: readonly FindingCause[]): string {
  let kind: string | undefined;
  const limits: string[] = [];
  for (const cause of causes) {
    if (cause.code === 'WRONG_TYPE' && kind === undefined) kind = TYPE_WORDS[cause.expected];
    if (cause.code === 'NOT_ONE_OF') limits.push(`one of ${listed(cause.values, 'or')}`);
    if (cause.code === 'BELOW_MINIMUM') limits.push(`at least ${cause.limit}`);
    if (cause.code === 'ABOVE_MAXIMUM') limits.push(`at most ${cause.limit}`);
  }
  const limit = limits.join(' and ');
  if (kind && limit) return `${kind} of ${limit}`;
  return kind ?? limit;
}

const TYPE_WORDS: Record<'integer' | 'number' | 'string', string> = {
  integer: 'a whole number',
  number: 'a number',
  string: 'text',
};

/** A record's value as a person would name it: `the text "12"`, `the number 1.5`, `a list`. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return value === '' ? 'empty text' : `the text ${quoted(value)}`;
  if (value === null) return 'null';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number' || typeof value === 'bigint' || value instanceof PythonFloat) {
    return `the number ${pythonStr(value)}`;
  }
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `a JavaScript ${typeof value}`;
}

const LONGEST_QUOTE = 60;

/** Quoted as JSON (control characters escaped), cut short for one line. */
function quoted(text: string): string {
  const chars = [...text];
  return chars.length > LONGEST_QUOTE
    ? `${JSON.stringify(chars.slice(0, LONGEST_QUOTE).join(''))}…`
    : JSON.stringify(text);
}

function listed(items: readonly string[], last = 'and'): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} ${last} ${items.at(-1)}`;
}

/**
 * The counts of an invalid result in one phrase: "5 problems in 3 of 4 records",
 * "1 problem in the records" (when none is about one record).
 */
export function problemSummary(
  result: Pick<ForwardResult, 'errors' | 'errorCount' | 'recordsWithProblems' | 'records'>,
): string {
  const listed = result.errors.filter((error) => error.code !== 'NOT_LISTED');
  const problems = result.errorCount ?? listed.length;
  const records =
    result.recordsWithProblems ??
    new Set(listed.flatMap((error) => (error.index === null ? [] : [error.index]))).size;
  const count = `${problems} ${plural(problems, 'problem')}`;
  if (records === 0) return `${count} in the records`;
  const whole = listed.some((error) => error.index === null) ? ' and in the records as a whole' : '';
  return `${count} in ${records} of ${result.records} ${plural(result.records, 'record')}${whole}`;
}

function plural(count: number, word: string): string {
  return count === 1 ? word : `${word}s`;
}
