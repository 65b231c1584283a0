/**
 * The fast paths of the shared record rules (used by the local write API and by the forwarder)
 * against the general code they short-cut, over generated input. Seeded: a failure prints the
 * seed and path, and `fc.assert(..., { seed, path })` replays it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isValidKey,
  isValidKeyGeneral,
  writesAsInt,
  writesAsIntGeneral,
} from '../../../../lib/performance-platform/records.js';
import {
  dateutilParse,
  isoFields,
  isoShape,
  isSchemaDateTime,
  isSchemaDateTimeGeneral,
  type ParsedFields,
  parseBackdropTimestamp,
  parseBackdropTimestampGeneral,
  type TimestampParse,
} from '../../../../lib/performance-platform/timestamps.js';

const SEED = 20_261_207;
const RUNS = 20_000;

const digits = (count: number, max = 10 ** count - 1): fc.Arbitrary<string> =>
  fc.integer({ min: 0, max }).map((value) => String(value).padStart(count, '0'));

/** `YYYY-MM-DDTHH:MM:SS[.f][zone]` with every field anywhere in its digits' range. */
const fastShaped: fc.Arbitrary<string> = fc
  .record({
    year: fc.oneof(
      digits(4),
      digits(4, 200),
      fc.constantFrom('0000', '0031', '0032', '0099', '0100', '9999'),
    ),
    month: fc.oneof(digits(2, 13), digits(2)),
    day: fc.oneof(digits(2, 32), digits(2)),
    hour: fc.oneof(digits(2, 24), digits(2)),
    minute: fc.oneof(digits(2, 60), digits(2)),
    second: fc.oneof(digits(2, 60), digits(2)),
    fraction: fc.oneof(
      fc.constant(''),
      fc.stringMatching(/^\.[0-9]{1,12}$/),
      fc.constantFrom('.9999995', '.9999994', '.99999950', '.0000005', '.5', '.000000'),
    ),
    zone: fc.oneof(
      fc.constant(''),
      fc.constant('Z'),
      fc
        .tuple(fc.constantFrom('+', '-'), fc.oneof(digits(2, 24), digits(2)), digits(2))
        .map(([sign, hours, minutes]) => `${sign}${hours}:${minutes}`),
      fc.constantFrom('+00:00', '-00:00', '+23:59', '-23:59', '+24:00'),
    ),
  })
  .map(
    ({ year, month, day, hour, minute, second, fraction, zone }) =>
      `${year}-${month}-${day}T${hour}:${minute}:${second}${fraction}${zone}`,
  );

/** A fast-shaped string changed by one character (inserted, removed or replaced). */
const nearlyShaped: fc.Arbitrary<string> = fc
  .tuple(
    fastShaped,
    fc.nat(),
    fc.constantFrom('insert', 'remove', 'replace'),
    fc.constantFrom(...'0123456789-:T.Z+ tz,/\u0000\u00e9\u{1F600}'.split(''), '\u{1F600}'),
  )
  .map(([text, at, how, char]) => {
    const i = at % (text.length + 1);
    if (how === 'insert') return text.slice(0, i) + char + text.slice(i);
    if (how === 'remove') return text.slice(0, i) + text.slice(i + 1);
    return text.slice(0, i) + char + text.slice(i + 1);
  });

/** Strings over the characters timestamps are made of, and a few others. */
const timestampish: fc.Arbitrary<string> = fc.string({
  unit: fc.constantFrom(...'0123456789-:T.Z+ ,/WtzamJan'.split('')),
  maxLength: 30,
});

const anyTimestamp = fc.oneof(
  { arbitrary: fastShaped, weight: 4 },
  { arbitrary: nearlyShaped, weight: 3 },
  { arbitrary: timestampish, weight: 1 },
);

/** The server's clock: dateutil filled fields and moved two-digit years with it. */
const clock = fc.date({ min: new Date('1950-01-01T00:00:00Z'), max: new Date('2100-12-31T23:59:59Z') });

function outcome(parse: TimestampParse): unknown {
  return parse.ok ? { iso: parse.iso, utc: parse.utc.getTime() } : { reason: parse.reason };
}

/** The fields buildUtc reads, with -0 told apart from 0. */
function fieldsOf(fields: ParsedFields | undefined): string {
  if (fields === undefined) return 'unparseable';
  const names = [
    'year',
    'month',
    'day',
    'weekday',
    'hour',
    'minute',
    'second',
    'microsecond',
    'tzname',
    'tzoffset',
  ] as const;
  return names
    .map((name) => {
      const value = fields[name];
      return `${name}=${Object.is(value, -0) ? '-0' : String(value)}`;
    })
    .join(' ');
}

describe('the ISO-8601 fast path of the timestamp parsers', () => {
  it('parseBackdropTimestamp gives what the dateutil port alone gives', () => {
    fc.assert(
      fc.property(anyTimestamp, clock, (text, now) => {
        expect(outcome(parseBackdropTimestamp(text, now))).toEqual(
          outcome(parseBackdropTimestampGeneral(text, now)),
        );
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("the fast shape's fields are the dateutil port's, field by field, for years from 100", () => {
    fc.assert(
      fc.property(fc.oneof(fastShaped, nearlyShaped), clock, (text, now) => {
        const shape = isoShape(text);
        fc.pre(shape !== undefined && shape.year >= 100);
        if (shape === undefined) return;
        expect(fieldsOf(isoFields(shape))).toBe(fieldsOf(dateutilParse(text, now.getUTCFullYear())));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('isSchemaDateTime gives what isodate alone gives', () => {
    fc.assert(
      fc.property(anyTimestamp, (text) => {
        expect(isSchemaDateTime(text)).toBe(isSchemaDateTimeGeneral(text));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('takes only the exact shape (examples)', () => {
    expect(isoShape('2024-01-01T00:00:00+00:00')).toBeDefined();
    expect(isoShape('2024-01-01T00:00:00.5Z')).toBeDefined();
    expect(isoShape('2024-01-01T00:00:00')).toBeDefined();
    for (const text of [
      '2024-01-01T00:00:00.Z',
      '2024-01-01t00:00:00Z',
      '2024-01-01 00:00:00Z',
      '2024-01-01T00:00:00+0000',
      '2024-01-01T00:00:00+00',
      '2024-01-01T00:00:00z',
      '2024-01-01T00:00:00Z ',
      '2024-01-01T00:00:00,5Z',
      '２024-01-01T00:00:00Z',
    ]) {
      expect(isoShape(text), text).toBeUndefined();
    }
  });
});

/** Keys: ASCII of every kind, and the non-ASCII letters whose lower case is ASCII. */
const keyish: fc.Arbitrary<string> = fc.string({
  unit: fc.oneof(
    fc.constantFrom(...'abcxyz019_AZ-. \n\t$'.split('')),
    fc.constantFrom('\u212a' /* KELVIN SIGN */, '\u0130' /* İ */, '\u00e9', '\u{1F600}', '\ud800', '\u007f'),
  ),
  maxLength: 12,
});

describe('the key check fast path', () => {
  it('isValidKey gives what the regular expressions give', () => {
    fc.assert(
      fc.property(fc.oneof(keyish, fc.string({ unit: 'binary', maxLength: 8 })), (key) => {
        expect(isValidKey(key)).toBe(isValidKeyGeneral(key));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});

describe("the number kind's fast path", () => {
  it('writesAsInt gives what the text JSON.stringify writes says', () => {
    const special = fc.constantFrom(
      0,
      -0,
      1e21,
      -1e21,
      1e21 - 65_536,
      999_999_999_999_999_900_000,
      Number.MAX_SAFE_INTEGER,
      Number.MAX_SAFE_INTEGER + 2,
      Number.MAX_VALUE,
      Number.MIN_VALUE,
      1e-7,
      0.1,
      2 ** 70,
      -(2 ** 53),
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.double({ noNaN: true, noDefaultInfinity: true }),
          fc.integer(),
          fc.maxSafeInteger(),
          special,
        ),
        (value) => {
          expect(writesAsInt(value)).toBe(writesAsIntGeneral(value));
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
  });
});
