/**
 * The local write API's fast paths against the general code they short-cut, and its rewritten
 * parser, printer and stored-record builder against their code before the rewrite (kept in
 * test/support/pp-reference/), over generated input with the awkward cases: non-ASCII, lone and
 * paired surrogates, control characters, quotes, backslashes, big and float-looking numbers,
 * timestamps with offsets, fractions and odd shapes. Seeded: a failure prints the seed and path,
 * and `fc.assert(..., { seed, path })` replays it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PythonFloat } from '../../../lib/performance-platform/records.js';
import {
  compareCodePoints,
  flaskJson,
  parsePythonJson,
  quoteAscii,
  quoteAsciiGeneral,
  sortedKeys,
} from '../../../local/performance-platform/python-json.js';
import {
  isoUtc,
  periodKeys,
  periodKeysGeneral,
  storedRecord,
} from '../../../local/performance-platform/stored-record.js';
import * as reference from '../../support/pp-reference/python-json.js';
import * as referenceStored from '../../support/pp-reference/stored-record.js';

const SEED = 20_261_207;
const RUNS = 5_000;

/** One UTF-16 unit or pair of every awkward kind, and plenty of plain ones. */
const awkwardChar: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...'azAZ09_- ./:{}[],'.split('')), weight: 4 },
  { arbitrary: fc.constantFrom('"', '\\', '\u007f', '~'), weight: 2 },
  { arbitrary: fc.integer({ min: 0, max: 0x1f }).map((code) => String.fromCharCode(code)), weight: 2 },
  { arbitrary: fc.constantFrom('\u00e9', '\u00a0', '\u212a', '\u2028', '\uffff', '\ue000'), weight: 1 },
  { arbitrary: fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff'), weight: 1 },
  { arbitrary: fc.constantFrom('\u{1F600}', '\u{10000}', '\u{10FFFF}'), weight: 1 },
);
const awkwardString = fc.string({ unit: awkwardChar, maxLength: 16 });
const anyString = fc.oneof(awkwardString, fc.string({ unit: 'binary', maxLength: 16 }), fc.string());

describe('quoteAscii', () => {
  it('the quote-only fast path gives what the escaping loop gives', () => {
    fc.assert(
      fc.property(anyString, (text) => {
        expect(quoteAscii(text)).toBe(quoteAsciiGeneral(text));
      }),
      { seed: SEED, numRuns: RUNS * 4 },
    );
  });
});

describe('sortedKeys', () => {
  it('sorts as the code point comparison does, surrogates or not', () => {
    const keys = fc.uniqueArray(fc.oneof(awkwardString, fc.string({ unit: 'binary', maxLength: 4 })), {
      maxLength: 12,
    });
    fc.assert(
      fc.property(keys, (names) => {
        const object = Object.fromEntries(names.map((name) => [name, 1]));
        expect(sortedKeys(object)).toEqual(Object.keys(object).sort(reference.compareCodePointsOf));
        expect(sortedKeys(object)).toEqual(Object.keys(object).sort(compareCodePoints));
      }),
      { seed: SEED, numRuns: RUNS * 2 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// flaskJson

const number = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(0, -0, 1e21, -1e21, 1e-7, 0.1, 2 ** 53 + 2, Number.NaN, Number.POSITIVE_INFINITY),
);
const scalar = fc.oneof(
  anyString,
  number,
  fc.bigInt(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((value) => new PythonFloat(Math.trunc(value))),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
);
const { value: printable } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.sparseArray(tie('value'), { maxLength: 4 }),
    fc
      .array(fc.tuple(anyString, tie('value')), { maxLength: 5 })
      .map((entries) => Object.fromEntries(entries)),
  ),
}));

describe('flaskJson', () => {
  it('prints every value as the printer before the rewrite did', () => {
    fc.assert(
      fc.property(printable, (value) => {
        expect(flaskJson(value)).toBe(reference.flaskJson(value));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// parsePythonJson

/** Number texts JSON.parse would blur: big ints, integral floats, negative zero. */
const numberText = fc.oneof(
  fc.integer().map(String),
  fc.bigInt({ min: -(10n ** 25n), max: 10n ** 25n }).map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
  fc.constantFrom(
    '-0',
    '0',
    '1.0',
    '-0.0',
    '1e5',
    '1E+5',
    '2.5e-3',
    '123456789012345',
    '-12345678901234',
    '1234567890123456',
    '9007199254740993',
    '-9007199254740991',
    '1e400',
    '0.1',
  ),
);

/** A JSON string literal of awkward text, with escapes of every kind. */
const stringText = fc
  .array(
    fc.oneof(
      awkwardChar.filter((char) => char !== '"' && char !== '\\' && char.charCodeAt(0) > 0x1f),
      fc.constantFrom('\\"', '\\\\', '\\/', '\\b', '\\f', '\\n', '\\r', '\\t', '\\ud83d\\ude00', '\\uD800'),
      fc.integer({ min: 0, max: 0xffff }).map((code) => `\\u${code.toString(16).padStart(4, '0')}`),
    ),
    { maxLength: 8 },
  )
  .map((parts) => `"${parts.join('')}"`);

const space = fc.constantFrom('', '', ' ', '\n', '\t ', '\r\n');

const { json: jsonText } = fc.letrec<{ json: string }>((tie) => ({
  json: fc.oneof(
    { depthSize: 'small' },
    numberText,
    stringText,
    fc.constantFrom('null', 'true', 'false'),
    fc
      .array(fc.tuple(space, tie('json'), space), { maxLength: 4 })
      .map((items) => `[${items.map(([a, item, b]) => a + item + b).join(',')}]`),
    fc
      .array(fc.tuple(stringText, space, tie('json')), { maxLength: 4 })
      .map((entries) => `{${entries.map(([key, gap, item]) => `${key}${gap}:${gap}${item}`).join(',')}}`),
  ),
}));

/** A valid text with one character inserted, removed or replaced: the error paths. */
const brokenText = fc
  .tuple(
    jsonText,
    fc.nat(),
    fc.constantFrom('insert', 'remove', 'replace'),
    fc.constantFrom(...'{}[],:"\\ -.eE0u1N'.split(''), '\u0001', '\u00e9', '\ud800', 'NaN', 'Infinity'),
  )
  .map(([text, at, how, char]) => {
    const i = at % (text.length + 1);
    if (how === 'insert') return text.slice(0, i) + char + text.slice(i);
    if (how === 'remove') return text.slice(0, i) + text.slice(i + 1);
    return text.slice(0, i) + char + text.slice(i + 1);
  });

const jsonish = fc.string({ unit: fc.constantFrom(...'{}[],:" \\-.eE019tfnul\n'.split('')), maxLength: 20 });

/** Type, value and key order, with -0, PythonFloat, bigint and own "__proto__" told apart. */
function canonical(value: unknown): string {
  if (value instanceof PythonFloat) return `F(${Object.is(value.value, -0) ? '-0' : value.value})`;
  if (typeof value === 'number') return `N(${Object.is(value, -0) ? '-0' : value})`;
  if (typeof value === 'bigint') return `B(${value})`;
  if (typeof value === 'string') return `S${JSON.stringify(value)}`;
  if (value === null || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    const own = Object.keys(value).length;
    return `[${own === value.length ? '' : 'holes!'}${value.map(canonical).join(',')}]`;
  }
  if (typeof value === 'object') {
    const prototype = Object.getPrototypeOf(value) === Object.prototype ? '' : 'proto!';
    const keys = Reflect.ownKeys(value).map((key) => {
      const descriptor = Object.getOwnPropertyDescriptor(value, key);
      const plain = descriptor?.enumerable && descriptor.writable && descriptor.configurable ? '' : '!';
      return `${JSON.stringify(String(key))}${plain}:${canonical(descriptor?.value)}`;
    });
    return `${prototype}{${keys.join(',')}}`;
  }
  return `?${typeof value}`;
}

function parseOutcome(parse: (text: string) => unknown, text: string): string {
  try {
    return `ok ${canonical(parse(text))}`;
  } catch (error) {
    const e = error as Error;
    return `${e.name}: ${e.message}`;
  }
}

describe('parsePythonJson', () => {
  it('parses and fails as the parser before the rewrite did', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          { arbitrary: jsonText, weight: 3 },
          { arbitrary: brokenText, weight: 3 },
          { arbitrary: jsonish, weight: 1 },
          { arbitrary: anyString, weight: 1 },
        ),
        (text) => {
          expect(parseOutcome(parsePythonJson, text)).toBe(parseOutcome(reference.parsePythonJson, text));
        },
      ),
      { seed: SEED, numRuns: RUNS * 2 },
    );
  });

  it('the same for the edge cases the generators may miss', () => {
    const deep = (depth: number, open: string, close: string) => open.repeat(depth) + close.repeat(depth);
    for (const text of [
      '{"__proto__": {"a": 1}, "b": [1, 2]}',
      '{"a": 1, "a": 2, "b": 3, "a": 4}',
      '{"2": 1, "1": 2, "x": 3}',
      '-0',
      '[-0, 0, -0.0, 1.0, 1E2, 123456789012345678901234567890]',
      '"\\ud800\\udc00\\udc00"',
      deep(900, '[', ']'),
      deep(901, '[', ']'),
      `${'{"a":'.repeat(900)}1${'}'.repeat(900)}`,
      `${'{"a":'.repeat(901)}1${'}'.repeat(901)}`,
      '',
      ' ',
      '[1,]',
      '{"a" 1}',
      '1.',
      '1.e5',
      '1e',
      '01',
      '-',
      '"abc',
      '"\\x"',
      '"\\u12"',
      '"\\u12g4"',
      'NaN',
      '-Infinity',
      '[1e999]',
      '\ud800',
      '\u{1F600} x',
      '[1, 2] 3',
    ]) {
      expect(parseOutcome(parsePythonJson, text), text.slice(0, 40)).toBe(
        parseOutcome(reference.parsePythonJson, text),
      );
    }
  });
});

// ---------------------------------------------------------------------------------------------
// stored records

const dateAnywhere = fc.date({ min: new Date(-62_198_755_200_000 * 1.2), max: new Date(8.64e15) });
const dateInRange = fc.date({
  min: new Date('0001-01-01T00:00:00Z'),
  max: new Date('9999-12-31T23:59:59.999Z'),
});
/** Around the four-digit years' ends (0000-01-01 is a Saturday: its week starts in year -1). */
const dateAtEdges = fc.constantFrom(
  new Date('-000001-12-31T23:59:59Z'),
  new Date('0000-01-01T05:00:00Z'),
  new Date('0000-01-02T23:00:00Z'),
  new Date('0000-01-03T00:00:00Z'),
  new Date('0001-01-01T00:00:00Z'),
  new Date('0001-01-07T12:00:00.001Z'),
  new Date('9999-12-31T23:59:59.999Z'),
  new Date('+010000-01-01T00:00:00Z'),
  new Date('+010000-01-03T00:00:00Z'),
  new Date(Number.NaN),
);

describe('period keys and isoUtc', () => {
  it('periodKeys gives what the Date arithmetic gives, for any date', () => {
    fc.assert(
      fc.property(fc.oneof(dateInRange, dateAnywhere, dateAtEdges), (date) => {
        expect(periodKeys(date)).toEqual(periodKeysGeneral(date));
        expect(periodKeys(date)).toEqual(referenceStored.periodKeys(date));
      }),
      { seed: SEED, numRuns: RUNS * 4 },
    );
  });

  it('isoUtc prints as before', () => {
    fc.assert(
      fc.property(fc.oneof(dateInRange, dateAnywhere, dateAtEdges), fc.boolean(), (date, withFraction) => {
        expect(isoUtc(date, withFraction)).toBe(referenceStored.isoUtc(date, withFraction));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});

const digits = (count: number, max = 10 ** count - 1): fc.Arbitrary<string> =>
  fc.integer({ min: 0, max }).map((value) => String(value).padStart(count, '0'));

/** Timestamps of the fast shape (some impossible), and of other shapes dateutil took. */
const timestampText = fc.oneof(
  fc
    .tuple(
      fc.oneof(digits(4, 2100), fc.constantFrom('0001', '0031', '0099', '0100', '9999')),
      digits(2, 13),
      digits(2, 31),
      digits(2, 24),
      digits(2, 60),
      digits(2, 60),
      fc.oneof(fc.constant(''), fc.stringMatching(/^\.[0-9]{1,9}$/)),
      fc.oneof(
        fc.constantFrom('', 'Z', '+00:00', '-00:00', '+05:30', '-23:59', '+99:99'),
        fc
          .tuple(fc.constantFrom('+', '-'), digits(2, 23), digits(2, 59))
          .map(([sign, hours, minutes]) => `${sign}${hours}:${minutes}`),
      ),
    )
    .map(([y, mo, d, h, mi, s, fraction, zone]) => `${y}-${mo}-${d}T${h}:${mi}:${s}${fraction}${zone}`),
  fc.constantFrom(
    '2014-01-02',
    '2014-01-02 03:04:05',
    '20140102T030405Z',
    'Jan 2 2014',
    '2014-001T00:00:00Z',
    '2014-01-02T03:04:05+0100',
    '2014-01-02T03:04:05 GMT+3',
    '14-01-02T03:04:05Z',
    '2014-02-30T00:00:00Z',
  ),
);

const record = fc
  .record(
    {
      _timestamp: timestampText,
      _start_at: timestampText,
      _end_at: timestampText,
      _id: fc.oneof(anyString, fc.integer()),
      count: number,
      name: anyString,
      flag: fc.boolean(),
      big: fc.bigInt(),
      float: fc.integer().map((value) => new PythonFloat(value)),
      nothing: fc.constant(null),
    },
    { requiredKeys: [] },
  )
  .chain((base) =>
    fc
      .array(fc.tuple(anyString, scalar), { maxLength: 3 })
      .map((extra) => ({ ...Object.fromEntries(extra), ...base })),
  );

/** A clock with and without milliseconds, so `_updated_at` shows its fraction or not. */
const clock = fc.oneof(
  fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z') }),
  fc.integer({ min: 946_684_800, max: 4_102_444_800 }).map((seconds) => new Date(seconds * 1000)),
);

type StoredOutcome = { id: string; json: string } | { error: string };

function storedOutcome(
  make: () => { id: string; record: Record<string, unknown> },
  print: typeof flaskJson,
): StoredOutcome {
  try {
    const { id, record } = make();
    return { id, json: print(record) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

describe('storedRecord then flaskJson: the stored text, byte for byte', () => {
  it('is what the code before the rewrite stored (records with an _id of their own)', () => {
    fc.assert(
      fc.property(record, clock, (input, now) => {
        const withId = typeof input._id === 'string' ? input : { ...input, _id: 'given' };
        expect(storedOutcome(() => storedRecord(withId, now), flaskJson)).toEqual(
          storedOutcome(() => referenceStored.storedRecord(withId, now), reference.flaskJson),
        );
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('records without an _id get a fresh uuid4 and otherwise the same text', () => {
    fc.assert(
      fc.property(record, clock, (input, now) => {
        const { _id: _dropped, ...withoutId } = input;
        const mine = storedOutcome(() => storedRecord(withoutId, now), flaskJson);
        const theirs = storedOutcome(() => referenceStored.storedRecord(withoutId, now), reference.flaskJson);
        if ('error' in theirs) {
          expect(mine).toEqual(theirs);
          return;
        }
        expect('id' in mine && mine.id).toMatch(
          /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
        );
        const blank = (outcome: StoredOutcome) =>
          'json' in outcome ? outcome.json.replace(`"_id": "${outcome.id}"`, '"_id": "…"') : outcome;
        expect(blank(mine)).toBe(blank(theirs));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('from request text to stored text, as before: parse, store, print', () => {
    const body = fc.array(record, { minLength: 1, maxLength: 4 }).map((records) =>
      JSON.stringify(
        records.map((one) => ({ ...one, _id: typeof one._id === 'string' ? one._id : 'id' })),
        (_key, value: unknown) => {
          if (typeof value === 'bigint') return Number(value);
          if (value instanceof PythonFloat) return value.value;
          return value;
        },
      ),
    );
    fc.assert(
      fc.property(body, clock, (text, now) => {
        const mine = (parsePythonJson(text) as Array<Record<string, unknown>>).map((one) =>
          storedOutcome(() => storedRecord(one, now), flaskJson),
        );
        const theirs = (reference.parsePythonJson(text) as Array<Record<string, unknown>>).map((one) =>
          storedOutcome(() => referenceStored.storedRecord(one, now), reference.flaskJson),
        );
        expect(mine).toEqual(theirs);
      }),
      { seed: SEED, numRuns: RUNS / 5 },
    );
  });

  it('keeps an own "__proto__" key a plain key in the copy', () => {
    const input = parsePythonJson('{"__proto__": 1, "_id": "a", "_timestamp": "2024-01-01T00:00:00Z"}');
    const stored = storedRecord(input as Record<string, unknown>, new Date(0)).record;
    expect(Object.getPrototypeOf(stored)).toBe(Object.prototype);
    expect(flaskJson(stored)).toBe(
      reference.flaskJson(referenceStored.storedRecord(input as Record<string, unknown>, new Date(0)).record),
    );
  });
});
