/**
 * backdrop's record rules (`DataSet.store`), shared by the local stand-in, which must answer as
 * backdrop did, and by the forwarder, which checks a batch before sending it.
 *
 * Values are judged as Python saw them after `json.loads`: a JS number stands for whatever
 * `JSON.stringify` would send (an integral number below 1e21 is a Python int, anything else a
 * float), a bigint is an int, and a PythonFloat is a float whose value happens to be integral
 * (`1.0`), which JS numbers cannot tell apart from `1`. The local server's JSON parser produces
 * both, so `{"count": 1.0}` fails `"type": "integer"` exactly as it did on backdrop.
 *
 * Pure functions; no I/O.
 */
import { isSchemaDateTime, parseBackdropTimestamp } from './timestamps.js';

/** backdrop's `'^[a-z_][a-z0-9_]+$'`, applied to `key.toLowerCase()` (ASCII keys only, see isValidKey). */
export const VALID_KEY: RegExp = /^[a-z_][a-z0-9_]+$/;

export const RESERVED_KEYWORDS = ['_timestamp', '_start_at', '_end_at', '_id'] as const;

export interface DataSetRules {
  dataGroup: string;
  dataType: string;
  autoIds?: string[];
}

/**
 * One of backdrop's messages, as its write API answered it: `index` is the record's position in
 * the batch (0-based); null for batch-level errors (auto-id).
 */
export interface RecordError {
  index: number | null;
  message: string;
}

/**
 * Why a record fails a rule, with what a plain-English explanation needs. Codes are stable (they
 * reach reports and `--json` output); the values are the record's own.
 */
export type FindingCause =
  | { code: 'NOT_AN_OBJECT'; value: unknown }
  | { code: 'REQUIRED' }
  | { code: 'ID_FIELD_MISSING'; idFields: readonly string[] }
  | { code: 'WRONG_TYPE'; expected: 'integer' | 'number' | 'string'; value: unknown }
  | { code: 'BELOW_MINIMUM'; limit: number; value: unknown }
  | { code: 'ABOVE_MAXIMUM'; limit: number; value: unknown }
  | { code: 'NOT_ONE_OF'; values: readonly string[]; value: unknown }
  | { code: 'NOT_DATE_TIME'; value: unknown }
  | { code: 'IMPOSSIBLE_DATE_TIME'; value: unknown }
  | { code: 'INVALID_KEY' }
  | { code: 'UNKNOWN_INTERNAL_FIELD' }
  | { code: 'INVALID_VALUE'; value: unknown }
  | { code: 'INVALID_ID'; value: unknown; generatedFrom?: readonly string[] };

/**
 * What one of backdrop's messages says about one record: which field (absent only when the
 * record is not an object) and why. backdrop often says one thing twice or three times (the
 * schema, the timestamp parse and the field check each see a bad `_timestamp`); each saying is a
 * finding, and lib/performance-platform/problems.ts merges them for people.
 */
export interface RecordFinding {
  index: number;
  field?: string;
  cause: FindingCause;
  /** The message exactly as validateRecords (and so the local write API) gives it. */
  backdropMessage: string;
}

/** backdrop's answer (validateRecords) and what each of its messages is about. */
export interface Inspection {
  messages: RecordError[];
  findings: RecordFinding[];
}

/**
 * A JSON number written as a float (`1.0`, `2e3`) whose value is integral: Python kept it a
 * float, which matters for `"type": "integer"` and for `str()` in auto ids. Non-integral floats
 * need no wrapper. Serialises as its number.
 */
export class PythonFloat {
  constructor(readonly value: number) {}
  toJSON(): number {
    return this.value;
  }
}

const TIMESTAMP_FIELDS = ['_timestamp', '_start_at', '_end_at'] as const;
type TimestampField = (typeof TIMESTAMP_FIELDS)[number];

/**
 * Validates a batch as backdrop's DataSet.store did: every error at once, in backdrop's order
 * (schema errors per record in record order; at most one auto-id error for the batch;
 * timestamp errors at most one per record (last failing of _timestamp/_start_at/_end_at wins);
 * then the first failing key per record from validate_record_data, which is where a timestamp
 * that did not parse adds "<field> is not a valid datetime object"), with backdrop's exact
 * message strings (reference §3.3).
 *
 * Where backdrop answered 500 this answers a clear error instead: a record that is not a JSON
 * object (`record <i> is not a JSON object`, and the record is not checked further), a
 * non-ASCII key (`<key> is not a valid key`), a timestamp that is not a string
 * (`the _timestamp must be a string, not <type>`).
 *
 * Python 2 iterated a record's keys in hash order, which cannot be reproduced from JSON text;
 * "the first failing key" is taken in the record's own key order instead (JS order: integer-like
 * keys first, which are invalid keys anyway).
 */
export function validateRecords(records: readonly unknown[], rules: DataSetRules): RecordError[] {
  return inspectRecords(records, rules).messages;
}

/**
 * validateRecords' messages, and for each the records and fields it is about (a batch's auto-id
 * message is about every record lacking an id field, one finding per record and field). Findings
 * come in backdrop's order.
 */
export function inspectRecords(records: readonly unknown[], rules: DataSetRules): Inspection {
  const now = new Date();
  const objects = records.map(asRecord);
  const messages: RecordError[] = [];
  const findings: RecordFinding[] = [];
  const say = (
    index: number | null,
    message: string,
    about: ReadonlyArray<Omit<RecordFinding, 'backdropMessage'>>,
  ) => {
    messages.push({ index, message });
    for (const finding of about) findings.push({ ...finding, backdropMessage: message });
  };
  const schemas = schemasFor(rules.dataType);

  objects.forEach((record, index) => {
    if (!record) {
      say(index, `record ${index} is not a JSON object`, [
        { index, cause: { code: 'NOT_AN_OBJECT', value: records[index] } },
      ]);
      return;
    }
    for (const { message, field, cause } of schemaErrors(record, schemas))
      say(index, message, [{ index, field, cause }]);
  });

  const autoIds = rules.autoIds ?? [];
  const missing = autoIds.length > 0 ? missingAutoIdFields(objects, autoIds) : [];
  if (missing.length > 0) {
    const cause: FindingCause = { code: 'ID_FIELD_MISSING', idFields: autoIds };
    const about = objects.flatMap((record, index) =>
      record
        ? autoIds.filter((key) => !Object.hasOwn(record, key)).map((field) => ({ index, field, cause }))
        : [],
    );
    say(null, `The following required id fields are missing: ${missing.join(', ')}`, about);
  }
  // Ids are generated before timestamps are parsed, and only when every record has the fields.
  const generated = autoIds.length > 0 && missing.length === 0;
  const prepared = generated ? objects.map((r) => r && withAutoId(r, autoIds)) : objects;

  const unparsed = prepared.map((record, index) => {
    if (!record) return NO_FAILURES;
    const { failed, last } = timestampCheck(record, now);
    if (last) say(index, last.message, [{ index, field: last.field, cause: timestampCause(last.failure) }]);
    return failed;
  });

  prepared.forEach((record, index) => {
    const invalid =
      record && firstInvalidField(record, unparsed[index] ?? new Map(), generated ? autoIds : undefined);
    if (invalid) say(index, invalid.message, [{ index, field: invalid.field, cause: invalid.cause }]);
  });
  return { messages, findings };
}

/** The record with its auto id, which replaces any `_id` the client sent. */
export function withAutoId(
  record: Record<string, unknown>,
  keys: readonly string[],
): Record<string, unknown> {
  return { ...record, _id: autoId(record, keys) };
}

/** base64 (standard, padded) of the UTF-8 of the keys' values via pythonStr joined by '.'. */
export function autoId(record: Record<string, unknown>, keys: readonly string[]): string {
  const joined = keys.map((key) => pythonStr(record[key])).join('.');
  return Buffer.from(joined, 'utf8').toString('base64');
}

/** 'carers-allowance','transaction-count' -> 'carers_allowance_transaction_count' (stagecraft). */
export function dataSetName(dataGroup: string, dataType: string): string {
  return `${dataGroup}_${dataType}`.replaceAll('-', '_');
}

// ---------------------------------------------------------------------------------------------
// Python 2 printing.

type PyKind = 'str' | 'int' | 'float' | 'bool' | 'none' | 'list' | 'dict' | 'other';

function pyKind(value: unknown): PyKind {
  if (typeof value === 'string') return 'str';
  if (typeof value === 'boolean') return 'bool';
  if (value === null) return 'none';
  if (typeof value === 'bigint') return 'int';
  if (value instanceof PythonFloat) return 'float';
  if (typeof value === 'number') {
    // JSON.stringify sends NaN and Infinity as null: refuse them rather than send a silent null.
    if (!Number.isFinite(value)) return 'other';
    return writesAsInt(value) ? 'int' : 'float';
  }
  if (Array.isArray(value)) return 'list';
  if (asRecord(value)) return 'dict';
  return 'other';
}

/**
 * Whether JSON.stringify writes a finite number with neither "." nor "e" (so Python read an
 * int): exactly the integers below 1e21 in magnitude.
 */
export function writesAsInt(value: number): boolean {
  return Number.isInteger(value) && Math.abs(value) < 1e21;
}

/** writesAsInt by looking at the text: what it is tested against. */
export function writesAsIntGeneral(value: number): boolean {
  return !/[.e]/.test(String(value));
}

function numberOf(value: unknown): number {
  if (value instanceof PythonFloat) return value.value;
  if (typeof value === 'bigint') return Number(value);
  return value as number;
}

/** Python 2 str(): 1 -> '1', 1.0 -> '1.0', 0.1 -> '0.1', true -> 'True', null -> 'None', strings as is. */
export function pythonStr(value: unknown): string {
  switch (pyKind(value)) {
    case 'str':
      return value as string;
    case 'int':
      return String(value);
    case 'float':
      return formatFloat(numberOf(value), 'str');
    default:
      return pythonRepr(value);
  }
}

/**
 * Python 2 repr() as jsonschema printed record values: strings as UTF-8 byte strings
 * (`'caf\xc3\xa9'`, no u prefix), ints beyond 64 bits with an L, floats shortest-round-trip.
 * Dict keys are printed in insertion order (Python's hash order is not reproducible here).
 */
export function pythonRepr(value: unknown): string {
  switch (pyKind(value)) {
    case 'str':
      return bytesRepr(value as string);
    case 'int': {
      const digits = String(value);
      const big = BigInt(digits);
      return big > 9_223_372_036_854_775_807n || big < -9_223_372_036_854_775_808n ? `${digits}L` : digits;
    }
    case 'float':
      return formatFloat(numberOf(value), 'repr');
    case 'bool':
      return value ? 'True' : 'False';
    case 'none':
      return 'None';
    case 'list':
      return `[${(value as unknown[]).map(pythonRepr).join(', ')}]`;
    case 'dict':
      return `{${Object.entries(value as Record<string, unknown>)
        .map(([key, item]) => `${bytesRepr(key)}: ${pythonRepr(item)}`)
        .join(', ')}}`;
    default:
      return String(value);
  }
}

/** repr() of a Python 2 byte string holding the UTF-8 of `text`. */
function bytesRepr(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  const quote = bytes.includes(0x27) && !bytes.includes(0x22) ? '"' : "'";
  let out = quote;
  for (const byte of bytes) {
    const char = String.fromCharCode(byte);
    if (char === quote || char === '\\') out += `\\${char}`;
    else if (char === '\t') out += '\\t';
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (byte < 0x20 || byte >= 0x7f) out += `\\x${byte.toString(16).padStart(2, '0')}`;
    else out += char;
  }
  return out + quote;
}

/**
 * Python 2.7 float formatting. 'repr' is the shortest round-trip digits, in exponent form when
 * the decimal exponent is below -4 or above 15; 'str' is `%.12g` (half-even on the exact binary
 * value), in exponent form below -4 or above 10. Both add '.0' to an integral fixed form.
 */
function formatFloat(x: number, mode: 'repr' | 'str'): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  const { digits, decpt } = mode === 'repr' ? shortestDigits(Math.abs(x)) : roundedDigits(Math.abs(x), 12);
  const useExponent = decpt <= -4 || decpt > (mode === 'repr' ? 16 : 11);
  if (useExponent) {
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const exponent = decpt - 1;
    return `${sign}${mantissa}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
  if (decpt >= digits.length) return `${sign}${digits}${'0'.repeat(decpt - digits.length)}.0`;
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}

/** Significant digits (no trailing zeros) and the decimal point's position, as dtoa gives them. */
interface Digits {
  digits: string;
  decpt: number;
}

function shortestDigits(x: number): Digits {
  const [mantissa = '0', exponent = '0'] = x.toExponential().split('e');
  return { digits: mantissa.replace('.', '').replace(/0+$/, '') || '0', decpt: Number(exponent) + 1 };
}

/** `precision` significant digits of the exact binary value, rounded half-even, as Python's dtoa. */
function roundedDigits(x: number, precision: number): Digits {
  const { digits: exact, decpt } = exactDigits(x);
  if (exact.length <= precision) return { digits: exact.replace(/0+$/, '') || '0', decpt };
  let kept = exact.slice(0, precision);
  const first = exact.charCodeAt(precision) - 48;
  const beyond = /[1-9]/.test(exact.slice(precision + 1));
  const odd = (kept.charCodeAt(precision - 1) - 48) % 2 === 1;
  let point = decpt;
  if (first > 5 || (first === 5 && (beyond || odd))) {
    const bumped = (BigInt(kept) + 1n).toString();
    if (bumped.length > kept.length) point += 1;
    kept = bumped.slice(0, precision);
  }
  return { digits: kept.replace(/0+$/, '') || '0', decpt: point };
}

/** The exact decimal expansion of a positive finite double. */
function exactDigits(x: number): Digits {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const high = view.getUint32(0);
  const low = view.getUint32(4);
  const biased = (high >>> 20) & 0x7ff;
  let mantissa = (BigInt(high & 0xfffff) << 32n) | BigInt(low);
  let exponent: number;
  if (biased === 0) {
    exponent = -1074;
  } else {
    mantissa |= 1n << 52n;
    exponent = biased - 1075;
  }
  let text: string;
  let fractionDigits: number;
  if (exponent >= 0) {
    text = (mantissa << BigInt(exponent)).toString();
    fractionDigits = 0;
  } else {
    text = (mantissa * 5n ** BigInt(-exponent)).toString();
    fractionDigits = -exponent;
  }
  const leadingZeros = Math.max(0, fractionDigits - text.length);
  const padded = '0'.repeat(leadingZeros) + text;
  const intLength = padded.length - fractionDigits;
  const firstNonZero = padded.search(/[1-9]/);
  return { digits: padded.slice(firstNonZero).replace(/0+$/, ''), decpt: intLength - firstNonZero };
}

// ---------------------------------------------------------------------------------------------
// The stagecraft schema: timestamp.json plus the data type's own schema, checked as
// jsonschema 2.4's Draft4Validator did. Lists are in the order Python 2.7 iterated the dicts
// json.loads built from stagecraft's files: in every file "required" came before "properties",
// so a record's missing fields are reported before its wrong values.

type Check =
  | { kind: 'type'; type: 'integer' | 'number' | 'string' }
  | { kind: 'minimum'; limit: number }
  | { kind: 'maximum'; limit: number }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'format' };

interface SubSchema {
  required: readonly string[];
  properties: ReadonlyArray<{ name: string; checks: readonly Check[] }>;
}

const integer: Check = { kind: 'type', type: 'integer' };
const string: Check = { kind: 'type', type: 'string' };
const atLeastZero: Check = { kind: 'minimum', limit: 0 };
const CONSULAR_PERIODS: Check = {
  kind: 'enum',
  values: ['second', 'minute', 'hour', 'day', 'week', 'month', 'year'],
};

const TIMESTAMP_SCHEMA: SubSchema = {
  required: ['_timestamp'],
  properties: [{ name: '_timestamp', checks: [string, { kind: 'format' }] }],
};

const DATA_TYPE_SCHEMAS: Readonly<Record<string, SubSchema>> = {
  appointments: {
    required: ['count', 'serviceType', 'consulate', 'period'],
    properties: [
      { name: 'count', checks: [atLeastZero, integer] },
      { name: 'serviceType', checks: [string] },
      { name: 'consulate', checks: [string] },
      { name: 'period', checks: [CONSULAR_PERIODS] },
    ],
  },
  'customer-satisfaction': {
    required: ['comments', 'rating_1', 'rating_2', 'rating_3', 'rating_4', 'rating_5', 'slug', 'total'],
    properties: [
      { name: 'rating_4', checks: [integer] },
      { name: 'rating_5', checks: [integer] },
      { name: 'rating_2', checks: [integer] },
      { name: 'rating_3', checks: [integer] },
      { name: 'rating_1', checks: [integer] },
      { name: 'comments', checks: [integer] },
      { name: 'total', checks: [integer] },
      { name: 'slug', checks: [string] },
    ],
  },
  monitoring: {
    required: ['uptime', 'downtime'],
    properties: [
      { name: 'uptime', checks: [integer] },
      { name: 'downtime', checks: [integer] },
    ],
  },
  'no-show': {
    required: ['count', 'consulate', 'period'],
    properties: [
      { name: 'count', checks: [atLeastZero, integer] },
      { name: 'consulate', checks: [string] },
      { name: 'period', checks: [CONSULAR_PERIODS] },
    ],
  },
  realtime: {
    required: ['for_url', 'unique_visitors'],
    properties: [
      { name: 'for_url', checks: [string] },
      { name: 'unique_visitors', checks: [integer] },
    ],
  },
  'transactions-by-channel': {
    required: ['count', 'channel'],
    properties: [
      { name: 'count', checks: [integer] },
      {
        name: 'period',
        checks: [{ kind: 'enum', values: ['hour', 'day', 'week', 'month', 'year', 'decade', 'century'] }],
      },
      { name: 'channel', checks: [string] },
    ],
  },
  utilisation: {
    required: ['percent', 'consulate', 'period'],
    properties: [
      {
        name: 'percent',
        checks: [
          { kind: 'minimum', limit: 0 },
          { kind: 'type', type: 'number' },
          { kind: 'maximum', limit: 100 },
        ],
      },
      { name: 'consulate', checks: [string] },
      { name: 'period', checks: [CONSULAR_PERIODS] },
    ],
  },
};

function schemasFor(dataType: string): SubSchema[] {
  const own = Object.hasOwn(DATA_TYPE_SCHEMAS, dataType) ? DATA_TYPE_SCHEMAS[dataType] : undefined;
  return own ? [TIMESTAMP_SCHEMA, own] : [TIMESTAMP_SCHEMA];
}

/** A message of backdrop's and what it is about. */
interface Said {
  message: string;
  field: string;
  cause: FindingCause;
}

function schemaErrors(record: Record<string, unknown>, schemas: readonly SubSchema[]): Said[] {
  const said: Said[] = [];
  for (const schema of schemas) {
    for (const name of schema.required) {
      if (!Object.hasOwn(record, name)) {
        said.push({ message: `u'${name}' is a required property`, field: name, cause: { code: 'REQUIRED' } });
      }
    }
    for (const { name, checks } of schema.properties) {
      if (!Object.hasOwn(record, name)) continue;
      for (const check of checks) {
        const failure = checkFailure(check, record[name]);
        if (failure) said.push({ ...failure, field: name });
      }
    }
  }
  return said;
}

function checkFailure(check: Check, value: unknown): Omit<Said, 'field'> | undefined {
  const kind = pyKind(value);
  const isNumber = kind === 'int' || kind === 'float';
  switch (check.kind) {
    case 'type': {
      const ok =
        check.type === 'string' ? kind === 'str' : check.type === 'integer' ? kind === 'int' : isNumber;
      return ok
        ? undefined
        : {
            message: `${pythonRepr(value)} is not of type u'${check.type}'`,
            cause: { code: 'WRONG_TYPE', expected: check.type, value },
          };
    }
    // jsonschema skips the bounds of anything that is not a number (bools are not numbers).
    case 'minimum':
      return isNumber && numberOf(value) < check.limit
        ? {
            message: `${pythonRepr(value)} is less than the minimum of ${check.limit}`,
            cause: { code: 'BELOW_MINIMUM', limit: check.limit, value },
          }
        : undefined;
    case 'maximum':
      return isNumber && numberOf(value) > check.limit
        ? {
            message: `${pythonRepr(value)} is greater than the maximum of ${check.limit}`,
            cause: { code: 'ABOVE_MAXIMUM', limit: check.limit, value },
          }
        : undefined;
    case 'enum':
      return typeof value === 'string' && check.values.includes(value)
        ? undefined
        : {
            message: `${pythonRepr(value)} is not one of [${check.values.map((v) => `u'${v}'`).join(', ')}]`,
            cause: { code: 'NOT_ONE_OF', values: check.values, value },
          };
    case 'format':
      // FormatChecker passed non-strings: "type" reports them.
      return kind !== 'str' || isSchemaDateTime(value)
        ? undefined
        : { message: `${pythonRepr(value)} is not a u'date-time'`, cause: { code: 'NOT_DATE_TIME', value } };
  }
}

// ---------------------------------------------------------------------------------------------
// auto_ids, timestamps and validate_record_data.

/** Every configured id field absent from some record, in configuration order (Python printed a set). */
function missingAutoIdFields(
  records: ReadonlyArray<Record<string, unknown> | undefined>,
  keys: readonly string[],
): string[] {
  return keys.filter((key) => records.some((record) => record && !Object.hasOwn(record, key)));
}

type TimestampFailure = { reason: 'unparseable' | 'impossible' | 'not-a-string'; value: unknown };

/** Every timestamp field that failed to parse, and the last of them, the one backdrop reported. */
function timestampCheck(
  record: Record<string, unknown>,
  now: Date,
): {
  failed: ReadonlyMap<string, TimestampFailure>;
  last?: { field: TimestampField; message: string; failure: TimestampFailure };
} {
  let failed: Map<string, TimestampFailure> | undefined;
  let last: { field: TimestampField; message: string; failure: TimestampFailure } | undefined;
  for (const field of TIMESTAMP_FIELDS) {
    if (!Object.hasOwn(record, field)) continue;
    const value = record[field];
    const parsed = parseBackdropTimestamp(value, now);
    if (parsed.ok) continue;
    const failure = { reason: parsed.reason, value };
    failed ??= new Map();
    failed.set(field, failure);
    last = { field, message: timestampMessage(field, value, parsed.reason), failure };
  }
  return last === undefined ? { failed: failed ?? NO_FAILURES } : { failed: failed ?? NO_FAILURES, last };
}

/** The failures of a record whose timestamps all parse (shared: it is only read). */
const NO_FAILURES: ReadonlyMap<string, TimestampFailure> = new Map();

function timestampCause({ reason, value }: TimestampFailure): FindingCause {
  switch (reason) {
    case 'unparseable':
      return { code: 'NOT_DATE_TIME', value };
    case 'impossible':
      return { code: 'IMPOSSIBLE_DATE_TIME', value };
    case 'not-a-string':
      return { code: 'WRONG_TYPE', expected: 'string', value };
  }
}

function timestampMessage(field: TimestampField, value: unknown, reason: TimestampFailure['reason']): string {
  const subject = field === '_timestamp' ? 'the _timestamp' : field;
  switch (reason) {
    case 'unparseable':
      return `${subject} must be a date in the format yyyy-MM-ddT00:00:00Z`;
    case 'impossible':
      return `${String(value)} in the ${field} field is not a valid date`;
    case 'not-a-string':
      return `${subject} must be a string, not ${jsonTypeName(value)}`;
  }
}

function jsonTypeName(value: unknown): string {
  const kind = pyKind(value);
  if (kind === 'int' || kind === 'float') return 'number';
  return { str: 'string', bool: 'boolean', none: 'null', list: 'array', dict: 'object', other: typeof value }[
    kind
  ];
}

/** validate_record_data: the first failing key of a record (`idFields`: its _id was made from them). */
function firstInvalidField(
  record: Record<string, unknown>,
  unparsed: ReadonlyMap<string, TimestampFailure>,
  idFields: readonly string[] | undefined,
): Said | undefined {
  for (const key of Object.keys(record)) {
    const value = record[key];
    if (!isValidKey(key))
      return { message: `${key} is not a valid key`, field: key, cause: { code: 'INVALID_KEY' } };
    if (key.startsWith('_') && !(RESERVED_KEYWORDS as readonly string[]).includes(key)) {
      return {
        message: `${key} is not a recognised internal field`,
        field: key,
        cause: { code: 'UNKNOWN_INTERNAL_FIELD' },
      };
    }
    if (!isValidValue(value)) {
      return { message: `${key} has an invalid value`, field: key, cause: { code: 'INVALID_VALUE', value } };
    }
    const failure = unparsed.get(key);
    if (failure)
      return { message: `${key} is not a valid datetime object`, field: key, cause: timestampCause(failure) };
    if (key === '_id' && !isValidId(value)) {
      return {
        message: `_id "${pythonStr(value)}" is not a valid id`,
        field: key,
        cause: { code: 'INVALID_ID', value, ...(idFields ? { generatedFrom: idFields } : {}) },
      };
    }
  }
  return undefined;
}

/**
 * Non-ASCII keys are invalid (backdrop crashed formatting the message: a 500), and are caught
 * before lower-casing because JS lower-cases more than ASCII (KELVIN SIGN becomes "k").
 * Python's `$` also matched before one trailing "\n", so backdrop accepted "count\n"; this
 * rejects it.
 */
export function isValidKey(key: string): boolean {
  // Fast path: a key of lower-case ASCII letters, digits and "_" only (nearly every key) is its
  // own lower case, so VALID_KEY asks only for two characters or more and no leading digit.
  for (let i = 0; i < key.length; i += 1) {
    const code = key.charCodeAt(i);
    if (!((code >= 0x61 && code <= 0x7a) || (code >= 0x30 && code <= 0x39) || code === 0x5f)) {
      return isValidKeyGeneral(key);
    }
  }
  const first = key.charCodeAt(0);
  return key.length >= 2 && !(first >= 0x30 && first <= 0x39);
}

/** isValidKey for any key: what its fast path is tested against. */
export function isValidKeyGeneral(key: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range is the point
  return !/[^\x00-\x7f]/.test(key) && VALID_KEY.test(key.toLowerCase());
}

function isValidValue(value: unknown): boolean {
  const kind = pyKind(value);
  return kind === 'str' || kind === 'int' || kind === 'float' || kind === 'bool' || kind === 'none';
}

/** A non-empty string without Python 2's byte-string `\s` (so U+00A0 is allowed, as it was). */
function isValidId(value: unknown): boolean {
  return typeof value === 'string' && value.length > 0 && !/[ \t\n\r\f\v]/.test(value);
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null
    ? (value as Record<string, unknown>)
    : undefined;
}
