import { describe, expect, it } from 'vitest';
import { isSchemaDateTime, parseBackdropTimestamp } from '../../../../lib/performance-platform/timestamps.js';

// dateutil filled missing fields from today and read two-digit years around the current year;
// the reference's ordinal example was stored as the 22nd, the day it was run.
const NOW = new Date('2026-01-22T10:11:12Z');

type Expected = string | 'unparseable' | 'impossible' | 'not-a-string';

function parsed(value: unknown, now = NOW): Expected {
  const result = parseBackdropTimestamp(value, now);
  return result.ok ? result.iso : result.reason;
}

describe('the reference table of accepted _timestamp forms', () => {
  // [sent, stored by dateutil (or why not), passes the stagecraft schema's date-time check]
  const rows: Array<[string, Expected, boolean]> = [
    ['2014-01-01T00:00:00Z', '2014-01-01T00:00:00+00:00', true],
    ['2014-01-01T00:00:00+00:00', '2014-01-01T00:00:00+00:00', true],
    ['2014-01-01T00:00:00+0000', '2014-01-01T00:00:00+00:00', true],
    ['2014-01-01T00:00:00-00:00', '2014-01-01T00:00:00+00:00', true],
    // naive: taken as UTC
    ['2014-01-01T00:00:00', '2014-01-01T00:00:00+00:00', true],
    ['2014-01-02T06:04:05+03:30', '2014-01-02T02:34:05+00:00', true],
    // microseconds; the 7th digit is dropped
    ['2014-01-01T00:00:00.123456Z', '2014-01-01T00:00:00.123456+00:00', true],
    ['2014-01-01T00:00:00.1234567Z', '2014-01-01T00:00:00.123456+00:00', true],
    ['2014-01-01T00:00Z', '2014-01-01T00:00:00+00:00', true],
    ['2014-01-01T00:00', '2014-01-01T00:00:00+00:00', true],
    ['20140101T000000Z', '2014-01-01T00:00:00+00:00', true],
    ['2014-01-01T00:00:00+01', '2013-12-31T23:00:00+00:00', true],
    ['2014-01-01T00:00:00 Z', '2014-01-01T00:00:00+00:00', true],
    // ordinal: dateutil misreads it as year and month, and takes today's day of month
    ['2014-001T00:00:00Z', '2014-01-22T00:00:00+00:00', true],
    // years below 100 are two-digit years
    ['0001-01-01T00:00:00Z', '2001-01-01T00:00:00+00:00', true],
    // the schema refuses these, whatever dateutil makes of them
    ['2014-01-01', '2014-01-01T00:00:00+00:00', false],
    ['2014-01-01 10:00:00', '2014-01-01T10:00:00+00:00', false],
    [' 2014-01-01T00:00:00Z', '2014-01-01T00:00:00+00:00', false],
    ['2014-01-01t00:00:00z', 'unparseable', false],
    ['Wed, 01 Jan 2014 00:00:00 GMT', '2014-01-01T00:00:00+00:00', false],
    ['1/2/2014T10:00:00Z', '2014-01-02T10:00:00+00:00', false],
    // passes the schema, but dateutil cannot parse it
    ['2014-W01-1T00:00:00Z', 'unparseable', true],
    // impossible dates: ValueError in dateutil ("is not a valid date")
    ['2014-01-01T24:00:00Z', 'impossible', false],
    ['2014-13-01T00:00:00Z', 'impossible', false],
    ['2014-01-01T00:00:60Z', 'impossible', false],
    ['2014-01-01T00:00:00+25:00', 'impossible', true],
    ['2014-02-30T00:00:00Z', 'impossible', false],
  ];

  it.each(rows)('%j -> %s (schema date-time: %s)', (sent, stored, schemaOk) => {
    expect(parsed(sent)).toBe(stored);
    expect(isSchemaDateTime(sent)).toBe(schemaOk);
  });

  it.each([[1], [1.5], [null], [true], [[]], [{}]])(
    'a non-string (%j) is not-a-string (backdrop: 500)',
    (value) => {
      expect(parsed(value)).toBe('not-a-string');
      expect(isSchemaDateTime(value)).toBe(false);
    },
  );

  it('gives the instant as a Date too (to the millisecond)', () => {
    const result = parseBackdropTimestamp('2014-01-02T06:04:05.123456+03:30', NOW);
    expect(result).toEqual({
      ok: true,
      utc: new Date('2014-01-02T02:34:05.123Z'),
      iso: '2014-01-02T02:34:05.123456+00:00',
    });
  });
});

describe('dateutil 2.2 behaviour beyond the table (what _start_at and _end_at get, having no schema)', () => {
  const rows: Array<[string, Expected, Date?]> = [
    // a day taken from today can make the given month impossible
    ['2014-02', '2014-02-22T00:00:00+00:00'],
    ['2014-02', 'impossible', new Date('2026-01-31T00:00:00Z')],
    // the empty string is today at midnight
    ['', '2026-01-22T00:00:00+00:00'],
    // two-digit years land within 50 years of now
    ['99-01-01', '1999-01-01T00:00:00+00:00'],
    // three small numbers: above 12 the first is a day, and the year comes last
    ['25-01-01', '2001-01-25T00:00:00+00:00'],
    ['05-03-04', '2004-05-03T00:00:00+00:00'],
    ['140101', '2014-01-01T00:00:00+00:00'],
    // month names, weekdays, am/pm, units
    ['1 Jan 2014 10:00', '2014-01-01T10:00:00+00:00'],
    ['Jan 5 2014', '2014-01-05T00:00:00+00:00'],
    ['5-Jan-2014', '2014-01-05T00:00:00+00:00'],
    ['2014-01-01 3pm', '2014-01-01T15:00:00+00:00'],
    ['2014-01-01 12 am', '2014-01-01T00:00:00+00:00'],
    ['pm', 'unparseable'],
    ['2014-01-01 10h30m', '2014-01-01T10:30:00+00:00'],
    ['2014.01.02', '2014-01-02T00:00:00+00:00'],
    // "GMT+3" means "my time +3 is GMT"
    ['2014-01-01T00:00:00 GMT+3', '2014-01-01T03:00:00+00:00'],
    ['2014-01-01T00:00:00 EST', '2014-01-01T00:00:00+00:00'],
    ['2014-01-01T00:00:00-0300 (BRT)', '2014-01-01T03:00:00+00:00'],
    // an offset needs a time before it
    ['2014-01-01+01:00', 'unparseable'],
    // converting across year 1 or 9999 (Python: OverflowError, a 500 on backdrop)
    ['9999-12-31T23:00:00-02:00', 'impossible'],
    ['0100-01-01T00:00:00+01:00', '0099-12-31T23:00:00+00:00'],
    ['garbage', 'unparseable'],
    ['2014-01-01T00:00:00Zulu', 'unparseable'],
  ];

  it.each(rows)('%j -> %s', (sent, expected, now) => {
    expect(parsed(sent, now ?? NOW)).toBe(expected);
  });
});

describe('isSchemaDateTime (isodate 0.5.0 parse_datetime)', () => {
  it.each([
    ['2014-01-01T00:00:00Z', true],
    // prefix matches: trailing text after a valid start is ignored
    ['2014-01-01T00:00:00Zulu', true],
    ['2014/01/01T00:00:00Z', true],
    // month 00 is read as January
    ['2014-00-01T00:00:00Z', true],
    ['2014-01-00T00:00:00Z', false],
    ['0000-01-01T00:00:00Z', false],
    ['2014-01-01T00:00:00T', false],
    ['2014-01-01T', false],
    ['T00:00:00Z', false],
    ['2014W011T0000', true],
    ['2014-01-01T12.5', true],
    ['2014-01-01T00:60', false],
    ['2014-01-01T00:00:59.9999994Z', true],
    // half-even rounding to microseconds reaches 60 seconds
    ['2014-01-01T00:00:59.9999995Z', false],
  ])('%j -> %s', (value, expected) => {
    expect(isSchemaDateTime(value)).toBe(expected);
  });
});
