/**
 * How backdrop read `_timestamp`, `_start_at` and `_end_at`, for the local stand-in and for
 * checking records before they are sent.
 *
 * Backdrop parsed them with python-dateutil 2.2 `parser.parse` (`timeutils.parse_time_as_utc`):
 * a naive result counts as UTC, an aware one is converted to UTC. Separately, the stagecraft
 * schema checked `_timestamp` with isodate 0.5.0 `parse_datetime` (jsonschema's `date-time`
 * format). The two disagree on many strings (see the reference's "Accepted _timestamp forms"),
 * which is why both are emulated here rather than one ISO parser.
 *
 * dateutil 2.2 is ported branch by branch (its lexer, its token rules, its year/month/day
 * guessing and its habit of filling missing fields from *today*), so odd strings fail or succeed
 * as they did. Not ported: non-ASCII letters (2.2 treated some Latin-1 letters as word
 * characters; any non-ASCII character here makes the string unparseable) and the `fuzzy` mode
 * backdrop never used.
 */

export type TimestampParse =
  | { ok: true; utc: Date; iso: string /* '2014-01-02T02:34:05+00:00' as backdrop stores */ }
  | { ok: false; reason: 'unparseable' | 'impossible' | 'not-a-string' };

/**
 * dateutil 2.2 as backdrop used it: naive = UTC, offsets converted, impossible dates rejected
 * (reference table §3.3.6). `now` stands for the server's clock: dateutil filled missing fields
 * from today's date (`2014-001T00:00:00Z` took today's day of month) and read two-digit years
 * relative to the current year.
 *
 * `unparseable` is what dateutil 2.2 raised TypeError for (backdrop: "must be a date in the
 * format"); `impossible` is its ValueError (backdrop: "is not a valid date"), plus the rare
 * OverflowError of converting year 1 or 9999 across an offset, which backdrop let become a 500.
 */
export function parseBackdropTimestamp(value: unknown, now: Date = new Date()): TimestampParse {
  if (typeof value !== 'string') return { ok: false, reason: 'not-a-string' };
  const shape = isoShape(value);
  const fields = shape && shape.year >= 100 ? isoFields(shape) : dateutilParse(value, now.getUTCFullYear());
  if (fields === undefined) return { ok: false, reason: 'unparseable' };
  return buildUtc(fields, now);
}

/**
 * parseBackdropTimestamp without its fast path (every string through the dateutil port): what
 * the fast path is tested against.
 */
export function parseBackdropTimestampGeneral(value: unknown, now: Date = new Date()): TimestampParse {
  if (typeof value !== 'string') return { ok: false, reason: 'not-a-string' };
  const fields = dateutilParse(value, now.getUTCFullYear());
  if (fields === undefined) return { ok: false, reason: 'unparseable' };
  return buildUtc(fields, now);
}

/**
 * The stagecraft schema's date-time format check (isodate.parse_datetime: needs a 'T').
 * Only strings can be date-times here; jsonschema itself let non-strings pass the format check
 * and reported them through `"type": "string"` instead, which records.ts does.
 */
export function isSchemaDateTime(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const shape = isoShape(value);
  return shape ? isodateShapeOk(value, shape) : isSchemaDateTimeGeneral(value);
}

/** isSchemaDateTime without its fast path: what the fast path is tested against. */
export function isSchemaDateTimeGeneral(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const parts = value.split('T');
  // `datestring, timestring = s.split('T')`: anything but exactly one 'T' fails to unpack.
  if (parts.length !== 2) return false;
  const [datePart = '', timePart = ''] = parts;
  return isodateDateOk(datePart) && isodateTimeOk(timePart);
}

// ---------------------------------------------------------------------------------------------
// The fast path: `YYYY-MM-DDTHH:MM:SS`, an optional `.` and digits, then `Z`, `+HH:MM`, `-HH:MM`
// or nothing, all ASCII digits. Nearly every timestamp a client sends has this shape; what the
// general parsers make of it is worked out below, and the property tests in
// test/unit/lib/performance-platform/fast-paths.test.ts compare the two.

/** The numbers of a string of the fast shape; `fraction*` delimit the digits after the dot. */
export interface IsoShape {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** The digits after the dot, cut or padded to six, as dateutil read them. */
  microsecond: number;
  fractionStart: number;
  fractionEnd: number;
  /** 0 for none, 1 for `Z`, otherwise the offset's sign (`+` 2, `-` 3). */
  zone: 0 | 1 | 2 | 3;
  offsetHours: number;
  offsetMinutes: number;
}

/** The value of the two ASCII digits at `at`, or -1. */
function twoDigits(text: string, at: number): number {
  const high = text.charCodeAt(at) - 48;
  const low = text.charCodeAt(at + 1) - 48;
  // NaN past the end fails both comparisons.
  if (!(high >= 0 && high <= 9 && low >= 0 && low <= 9)) return -1;
  return high * 10 + low;
}

/** The string's numbers when it has the fast shape exactly, else undefined. */
export function isoShape(text: string): IsoShape | undefined {
  const length = text.length;
  if (length < 19) return undefined;
  const century = twoDigits(text, 0);
  const yearInCentury = twoDigits(text, 2);
  const month = twoDigits(text, 5);
  const day = twoDigits(text, 8);
  const hour = twoDigits(text, 11);
  const minute = twoDigits(text, 14);
  const second = twoDigits(text, 17);
  if (
    century < 0 ||
    yearInCentury < 0 ||
    month < 0 ||
    day < 0 ||
    hour < 0 ||
    minute < 0 ||
    second < 0 ||
    text.charCodeAt(4) !== 0x2d /* - */ ||
    text.charCodeAt(7) !== 0x2d ||
    text.charCodeAt(10) !== 0x54 /* T */ ||
    text.charCodeAt(13) !== 0x3a /* : */ ||
    text.charCodeAt(16) !== 0x3a
  ) {
    return undefined;
  }
  let at = 19;
  let fractionStart = at;
  if (text.charCodeAt(at) === 0x2e /* . */) {
    at += 1;
    fractionStart = at;
    while (at < length && text.charCodeAt(at) >= 0x30 && text.charCodeAt(at) <= 0x39) at += 1;
    if (at === fractionStart) return undefined;
  }
  const fractionEnd = at;
  let microsecond = 0;
  for (let i = 0; i < 6; i += 1) {
    const digit = fractionStart + i < fractionEnd ? text.charCodeAt(fractionStart + i) - 48 : 0;
    microsecond = microsecond * 10 + digit;
  }
  let zone: IsoShape['zone'] = 0;
  let offsetHours = 0;
  let offsetMinutes = 0;
  if (at < length) {
    const code = text.charCodeAt(at);
    if (code === 0x5a /* Z */ && at + 1 === length) {
      zone = 1;
    } else if ((code === 0x2b /* + */ || code === 0x2d) && at + 6 === length) {
      offsetHours = twoDigits(text, at + 1);
      offsetMinutes = twoDigits(text, at + 4);
      if (offsetHours < 0 || offsetMinutes < 0 || text.charCodeAt(at + 3) !== 0x3a) return undefined;
      zone = code === 0x2b ? 2 : 3;
    } else {
      return undefined;
    }
  }
  return {
    year: century * 100 + yearInCentury,
    month,
    day,
    hour,
    minute,
    second,
    microsecond,
    fractionStart,
    fractionEnd,
    zone,
    offsetHours,
    offsetMinutes,
  };
}

/**
 * What dateutil 2.2 made of a string of the fast shape whose year is at least 100 (below 100 it
 * guessed which number is the year, and two-digit years move with the current year):
 * `YYYY-MM-DD` are year, month and day in that order (`-` joins three numbers, the first over
 * 31), `T` is skipped, `HH:MM:SS[.f]` gives the time with the fraction cut or padded to six
 * digits, and the zone: `Z` and an offset of zero become UTC, another offset is kept (minutes
 * above 59 included) with its sign, and no zone leaves the time naive.
 */
export function isoFields(shape: IsoShape): ParsedFields {
  const fields: ParsedFields = {
    year: shape.year,
    month: shape.month,
    day: shape.day,
    hour: shape.hour,
    minute: shape.minute,
    second: shape.second,
    microsecond: shape.microsecond,
  };
  if (shape.zone === 1) {
    fields.tzname = 'UTC';
    fields.tzoffset = 0;
  } else if (shape.zone !== 0) {
    const offset = shape.offsetHours * 3600 + shape.offsetMinutes * 60;
    fields.tzoffset = offset === 0 ? 0 : shape.zone === 2 ? offset : -offset;
    if (offset === 0) fields.tzname = 'UTC';
  }
  return fields;
}

// ---------------------------------------------------------------------------------------------
// isodate 0.5.0: parse_date / parse_time. Each tries its patterns in order with re.match (a
// prefix match: trailing text is ignored) and the first that matches decides; building the
// date/time then raises ValueError for out-of-range parts, which fails the format check.

const ISODATE_PATTERNS: ReadonlyArray<{ re: RegExp; kind: 'ymd' | 'week' | 'ordinal' | 'year' | 'century' }> =
  [
    { re: /^([0-9]{4})-([0-9]{2})-([0-9]{2})/, kind: 'ymd' },
    { re: /^([0-9]{4})([0-9]{2})([0-9]{2})/, kind: 'ymd' },
    { re: /^([0-9]{4})-W([0-9]{2})-([0-9])/, kind: 'week' },
    { re: /^([0-9]{4})W([0-9]{2})([0-9])/, kind: 'week' },
    { re: /^([0-9]{4})-([0-9]{3})/, kind: 'ordinal' },
    { re: /^([0-9]{4})([0-9]{3})/, kind: 'ordinal' },
    { re: /^([0-9]{4})-W([0-9]{2})/, kind: 'week' },
    { re: /^([0-9]{4})W([0-9]{2})/, kind: 'week' },
    { re: /^([0-9]{4})-([0-9]{2})/, kind: 'ymd' },
    { re: /^([0-9]{4})/, kind: 'year' },
    { re: /^([0-9]{2})/, kind: 'century' },
  ];

/**
 * isodate on a string of the fast shape: its one `T` splits it, the first date pattern reads
 * `YYYY-MM-DD` (month 00 as January), the first time pattern reads `HH:MM:SS` with the fraction
 * and ignores the zone after it.
 */
function isodateShapeOk(text: string, shape: IsoShape): boolean {
  if (!isValidDate(shape.year, shape.month || 1, shape.day)) return false;
  if (shape.hour > 23 || shape.minute > 59) return false;
  const seconds =
    shape.fractionEnd - shape.fractionStart <= 6
      ? shape.second
      : roundedWholeSeconds(text.slice(17, shape.fractionEnd));
  return seconds <= 59;
}

function isodateDateOk(text: string): boolean {
  for (const { re, kind } of ISODATE_PATTERNS) {
    const match = re.exec(text);
    if (!match) continue;
    const year = Number(match[1]);
    switch (kind) {
      case 'century':
        return true; // date(century * 100 + 1, 1, 1) always exists
      case 'year':
      case 'week':
      case 'ordinal':
        // date(year, 1, 1) plus a whole number of days: only year 0000 fails (the sum could
        // pass 9999-12-31, which raised OverflowError, a 500; counted as a failure here).
        return year >= 1 && (kind === 'year' || withinDateRange(year, kind, match));
      case 'ymd': {
        // `int(groups['month']) or 1`: month 00 becomes January; a missing day is the 1st.
        const month = Number(match[2]) || 1;
        const day = match[3] === undefined ? 1 : Number(match[3]);
        return isValidDate(year, month, day);
      }
    }
  }
  return false;
}

function withinDateRange(year: number, kind: 'week' | 'ordinal', match: RegExpExecArray): boolean {
  const jan1 = daysFromCivil(year, 1, 1);
  let days: number;
  if (kind === 'ordinal') {
    days = jan1 + Number(match[2]) - 1;
  } else {
    const isoWeekOfJan1 = isoWeekNumber(year, 1, 1);
    const isoWeekdayOfJan1 = isoWeekday(jan1);
    const weekday = match[3] === undefined ? 1 : Number(match[3]);
    days = jan1 + 7 * (Number(match[2]) - (isoWeekOfJan1 === 1 ? 1 : 0)) - isoWeekdayOfJan1 + weekday;
  }
  return days >= daysFromCivil(1, 1, 1) && days <= daysFromCivil(9999, 12, 31);
}

const ISOTIME_PATTERNS: ReadonlyArray<{ re: RegExp; last: 'second' | 'minute' | 'hour' }> = [
  { re: /^([0-9]{2}):([0-9]{2}):([0-9]{2}(?:[,.][0-9]+)?)/, last: 'second' },
  { re: /^([0-9]{2})([0-9]{2})([0-9]{2}(?:[,.][0-9]+)?)/, last: 'second' },
  { re: /^([0-9]{2}):([0-9]{2}(?:[,.][0-9]+)?)/, last: 'minute' },
  { re: /^([0-9]{2})([0-9]{2}(?:[,.][0-9]+)?)/, last: 'minute' },
  { re: /^([0-9]{2}(?:[,.][0-9]+)?)/, last: 'hour' },
];

function isodateTimeOk(text: string): boolean {
  for (const { re, last } of ISOTIME_PATTERNS) {
    const match = re.exec(text);
    if (!match) continue;
    const hour = Number.parseInt(match[1] ?? '', 10);
    if (last === 'hour') return hour <= 23;
    const minute = Number.parseInt(match[2] ?? '', 10);
    if (hour > 23 || minute > 59) return false;
    if (last === 'minute') return true;
    // Decimal(second).quantize(Decimal('.000001')) rounds half-even, so 59.9999995 becomes 60.
    return roundedWholeSeconds(match[3] ?? '') <= 59;
  }
  return false;
}

function roundedWholeSeconds(text: string): number {
  const [whole = '0', fraction = ''] = text.replace(',', '.').split('.');
  const seconds = Number.parseInt(whole, 10);
  if (fraction.length <= 6) return seconds;
  const kept = fraction.slice(0, 6);
  const rest = fraction.slice(6);
  const firstDropped = rest.charCodeAt(0) - 48;
  const beyondHalf = /[1-9]/.test(rest.slice(1));
  const lastKeptOdd = (kept.charCodeAt(5) - 48) % 2 === 1;
  const roundsUp = firstDropped > 5 || (firstDropped === 5 && (beyondHalf || lastKeptOdd));
  return roundsUp && kept === '999999' ? seconds + 1 : seconds;
}

// ---------------------------------------------------------------------------------------------
// dateutil 2.2: the lexer.

const WORD_CHAR = /^[A-Za-z_]$/;
const NUM_CHAR = /^[0-9]$/;
const SPACE_CHAR = /^[ \t\r\n]$/;

/** `_timelex.split`: runs of letters, runs of digits (dots kept for decimals), single others. */
function timelex(input: string): string[] {
  const chars = [...input].filter((char) => char !== '\u0000');
  let position = 0;
  const charStack: string[] = [];
  const tokenStack: string[] = [];
  const nextChar = (): string | undefined => charStack.shift() ?? chars[position++];

  const getToken = (): string | undefined => {
    const stacked = tokenStack.shift();
    if (stacked !== undefined) return stacked;
    let seenLetters = false;
    let token: string | undefined;
    let state: '' | 'a' | '0' | 'a.' | '0.' = '';
    for (;;) {
      const char = nextChar();
      if (char === undefined) break;
      if (state === '') {
        token = char;
        if (WORD_CHAR.test(char)) state = 'a';
        else if (NUM_CHAR.test(char)) state = '0';
        else {
          if (SPACE_CHAR.test(char)) token = ' ';
          break;
        }
      } else if (state === 'a') {
        seenLetters = true;
        if (WORD_CHAR.test(char)) token += char;
        else if (char === '.') {
          token += char;
          state = 'a.';
        } else {
          charStack.push(char);
          break;
        }
      } else if (state === '0') {
        if (NUM_CHAR.test(char)) token += char;
        else if (char === '.') {
          token += char;
          state = '0.';
        } else {
          charStack.push(char);
          break;
        }
      } else if (state === 'a.') {
        seenLetters = true;
        if (char === '.' || WORD_CHAR.test(char)) token += char;
        else if (NUM_CHAR.test(char) && token?.endsWith('.')) {
          token += char;
          state = '0.';
        } else {
          charStack.push(char);
          break;
        }
      } else {
        if (char === '.' || NUM_CHAR.test(char)) token += char;
        else if (WORD_CHAR.test(char) && token?.endsWith('.')) {
          token += char;
          state = 'a.';
        } else {
          charStack.push(char);
          break;
        }
      }
    }
    if (
      token !== undefined &&
      (state === 'a.' || state === '0.') &&
      (seenLetters || token.split('.').length > 2 || token.endsWith('.'))
    ) {
      const [first = '', ...rest] = token.split('.');
      token = first;
      for (const piece of rest) {
        tokenStack.push('.');
        if (piece) tokenStack.push(piece);
      }
    }
    return token;
  };

  const tokens: string[] = [];
  for (let token = getToken(); token !== undefined; token = getToken()) tokens.push(token);
  return tokens;
}

// ---------------------------------------------------------------------------------------------
// dateutil 2.2: parserinfo.

const JUMP = new Set([
  ' ',
  '.',
  ',',
  ';',
  '-',
  '/',
  "'",
  'at',
  'on',
  'and',
  'ad',
  'm',
  't',
  'of',
  'st',
  'nd',
  'rd',
  'th',
]);
const WEEKDAYS = lookup([
  ['mon', 'monday'],
  ['tue', 'tuesday'],
  ['wed', 'wednesday'],
  ['thu', 'thursday'],
  ['fri', 'friday'],
  ['sat', 'saturday'],
  ['sun', 'sunday'],
]);
const MONTHS = lookup([
  ['jan', 'january'],
  ['feb', 'february'],
  ['mar', 'march'],
  ['apr', 'april'],
  ['may'],
  ['jun', 'june'],
  ['jul', 'july'],
  ['aug', 'august'],
  ['sep', 'sept', 'september'],
  ['oct', 'october'],
  ['nov', 'november'],
  ['dec', 'december'],
]);
const HMS = lookup([
  ['h', 'hour', 'hours'],
  ['m', 'minute', 'minutes'],
  ['s', 'second', 'seconds'],
]);
const AMPM = lookup([
  ['am', 'a'],
  ['pm', 'p'],
]);
const UTC_ZONES = new Set(['utc', 'gmt', 'z']);

function lookup(groups: string[][]): Map<string, number> {
  return new Map(groups.flatMap((names, index) => names.map((name) => [name, index] as const)));
}

const jump = (token: string): boolean => JUMP.has(token.toLowerCase());
const weekdayOf = (token: string): number | undefined =>
  token.length >= 3 ? WEEKDAYS.get(token.toLowerCase()) : undefined;
const monthOf = (token: string): number | undefined => {
  const index = token.length >= 3 ? MONTHS.get(token.toLowerCase()) : undefined;
  return index === undefined ? undefined : index + 1;
};
const hmsOf = (token: string): number | undefined => HMS.get(token.toLowerCase());
const ampmOf = (token: string): number | undefined => AMPM.get(token.toLowerCase());

/** `convertyear`: years below 100 are put within 50 years of the current one. */
function convertYear(year: number, currentYear: number): number {
  if (year >= 100) return year;
  const century = Math.floor(currentYear / 100) * 100;
  let converted = year + century;
  if (Math.abs(converted - currentYear) >= 50) converted += converted < currentYear ? 100 : -100;
  return converted;
}

// ---------------------------------------------------------------------------------------------
// dateutil 2.2: `_parse`.

export interface ParsedFields {
  year?: number;
  month?: number;
  day?: number;
  weekday?: number;
  hour?: number;
  minute?: number;
  second?: number;
  microsecond?: number;
  tzname?: string;
  tzoffset?: number;
}

/** Python's IndexError/ValueError/AssertionError inside `_parse`: the string is unparseable. */
class Unparseable extends Error {}

/** Python `int(str)`. */
function pyInt(text: string | undefined): number {
  if (text === undefined || !/^\s*[+-]?[0-9]+\s*$/.test(text)) throw new Unparseable();
  return Number.parseInt(text, 10);
}

/** Python `float(token)` for what the lexer can produce; undefined where float() raised. */
function pyFloat(text: string | undefined): number | undefined {
  if (text === undefined || !/^(?:[0-9]+\.?[0-9]*|\.[0-9]+)$/.test(text)) return undefined;
  return Number(text);
}

/** `_parsems`: "SS[.ffffff]" to seconds and microseconds (digits past the sixth are dropped). */
function parseSecondsAndMicros(text: string | undefined): [number, number] {
  if (text === undefined) throw new Unparseable();
  if (!text.includes('.')) return [pyInt(text), 0];
  const parts = text.split('.');
  if (parts.length !== 2) throw new Unparseable();
  const [whole, fraction = ''] = parts;
  return [pyInt(whole), pyInt(fraction.padEnd(6, '0').slice(0, 6))];
}

/** dateutil 2.2's fields for a string, by the general port (tests compare isoFields with it). */
export function dateutilParse(input: string, currentYear: number): ParsedFields | undefined {
  try {
    return parseTokens(timelex(input), currentYear);
  } catch (error) {
    if (error instanceof Unparseable) return undefined;
    throw error;
  }
}

function parseTokens(tokens: string[], currentYear: number): ParsedFields | undefined {
  const res: ParsedFields = {};
  const ymd: number[] = [];
  let monthIndex = -1;
  const count = tokens.length;
  // Python list indexing: negative indices count from the end; past the end is IndexError.
  const at = (index: number): string => {
    const token = tokens[index < 0 ? count + index : index];
    if (token === undefined) throw new Unparseable();
    return token;
  };
  const pushMonth = (month: number): void => {
    if (monthIndex !== -1) throw new Unparseable();
    ymd.push(month);
    monthIndex = ymd.length - 1;
  };

  let i = 0;
  while (i < count) {
    const valueRepr = at(i);
    let value = pyFloat(valueRepr);
    if (value !== undefined) {
      const length = valueRepr.length;
      i += 1;
      if (
        ymd.length === 3 &&
        (length === 2 || length === 4) &&
        (i >= count || (at(i) !== ':' && hmsOf(at(i)) === undefined))
      ) {
        // 19990101T23[59]
        res.hour = pyInt(valueRepr.slice(0, 2));
        if (length === 4) res.minute = pyInt(valueRepr.slice(2));
      } else if (length === 6 || (length > 6 && valueRepr.indexOf('.') === 6)) {
        // YYMMDD or HHMMSS[.ss]
        if (ymd.length === 0 && !valueRepr.includes('.')) {
          ymd.push(convertYear(pyInt(valueRepr.slice(0, 2)), currentYear));
          ymd.push(pyInt(valueRepr.slice(2, 4)));
          ymd.push(pyInt(valueRepr.slice(4)));
        } else {
          res.hour = pyInt(valueRepr.slice(0, 2));
          res.minute = pyInt(valueRepr.slice(2, 4));
          [res.second, res.microsecond] = parseSecondsAndMicros(valueRepr.slice(4));
        }
      } else if (length === 8 || length === 12 || length === 14) {
        // YYYYMMDD[hhmm[ss]]
        ymd.push(pyInt(valueRepr.slice(0, 4)), pyInt(valueRepr.slice(4, 6)), pyInt(valueRepr.slice(6, 8)));
        if (length > 8) {
          res.hour = pyInt(valueRepr.slice(8, 10));
          res.minute = pyInt(valueRepr.slice(10, 12));
          if (length > 12) res.second = pyInt(valueRepr.slice(12));
        }
      } else if (
        (i < count && hmsOf(at(i)) !== undefined) ||
        (i + 1 < count && at(i) === ' ' && hmsOf(at(i + 1)) !== undefined)
      ) {
        // HH[ ]h or MM[ ]m or SS[.ss][ ]s
        if (at(i) === ' ') i += 1;
        let unit = hmsOf(at(i)) ?? 0;
        let repr = valueRepr;
        for (;;) {
          setUnit(res, unit, value, repr);
          i += 1;
          if (i >= count || unit === 2) break;
          // 12h00
          const next = pyFloat(at(i));
          if (next === undefined) break;
          repr = at(i);
          value = next;
          i += 1;
          unit += 1;
          if (i < count) unit = hmsOf(at(i)) ?? unit;
        }
      } else if (i === count && at(i - 2) === ' ' && hmsOf(at(i - 3)) !== undefined) {
        // X h MM (2.2 nests its "X m SS" case where it can never run, so only minutes are set)
        if ((hmsOf(at(i - 3)) ?? 0) + 1 === 1) setUnit(res, 1, value, valueRepr);
      } else if (i + 1 < count && at(i) === ':') {
        // HH:MM[:SS[.ss]]
        res.hour = Math.trunc(value);
        i += 1;
        const minutes = pyFloat(at(i));
        if (minutes === undefined) throw new Unparseable();
        res.minute = Math.trunc(minutes);
        if (minutes % 1) res.second = Math.trunc(60 * (minutes % 1));
        i += 1;
        if (i < count && at(i) === ':') {
          [res.second, res.microsecond] = parseSecondsAndMicros(at(i + 1));
          i += 2;
        }
      } else if (i < count && ['-', '/', '.'].includes(at(i))) {
        const separator = at(i);
        ymd.push(Math.trunc(value));
        i += 1;
        if (i < count && !jump(at(i))) {
          if (/^\s*[+-]?[0-9]+\s*$/.test(at(i))) {
            // 01-01[-01]
            ymd.push(pyInt(at(i)));
          } else {
            // 01-Jan[-01]
            const month = monthOf(at(i));
            if (month === undefined) return undefined;
            pushMonth(month);
          }
          i += 1;
          if (i < count && at(i) === separator) {
            // We have three members
            i += 1;
            const month = monthOf(at(i));
            if (month !== undefined) pushMonth(month);
            else ymd.push(pyInt(at(i)));
            i += 1;
          }
        }
      } else if (i >= count || jump(at(i))) {
        const ampm = i + 1 < count ? ampmOf(at(i + 1)) : undefined;
        if (ampm !== undefined) {
          // 12 am
          res.hour = applyAmPm(Math.trunc(value), ampm);
          i += 1;
        } else {
          // Year, month or day
          ymd.push(Math.trunc(value));
        }
        i += 1;
      } else if (ampmOf(at(i)) !== undefined) {
        // 12am
        res.hour = applyAmPm(Math.trunc(value), ampmOf(at(i)) ?? 0);
        i += 1;
      } else {
        return undefined;
      }
      continue;
    }

    const token = at(i);
    const weekday = weekdayOf(token);
    if (weekday !== undefined) {
      res.weekday = weekday;
      i += 1;
      continue;
    }

    const month = monthOf(token);
    if (month !== undefined) {
      pushMonth(month);
      i += 1;
      if (i < count) {
        if (at(i) === '-' || at(i) === '/') {
          // Jan-01[-99]
          const separator = at(i);
          i += 1;
          ymd.push(pyInt(at(i)));
          i += 1;
          if (i < count && at(i) === separator) {
            // Jan-01-99
            i += 1;
            ymd.push(pyInt(at(i)));
            i += 1;
          }
        } else if (i + 4 < count && at(i) === ' ' && at(i + 2) === ' ' && at(i + 1).toLowerCase() === 'of') {
          // Jan of 01: here 01 is clearly a year
          const year = at(i + 3);
          if (/^\s*[+-]?[0-9]+\s*$/.test(year)) ymd.push(convertYear(pyInt(year), currentYear));
          i += 4;
        }
      }
      continue;
    }

    const ampm = ampmOf(token);
    if (ampm !== undefined) {
      // `res.hour < 12` with hour None was True in Python 2, and `None + 12` a TypeError.
      if (ampm === 1 && res.hour === undefined) return undefined;
      if (res.hour !== undefined) res.hour = applyAmPm(res.hour, ampm);
      i += 1;
      continue;
    }

    // A time zone name: up to five upper-case ASCII letters after a time.
    if (
      res.hour !== undefined &&
      token.length <= 5 &&
      res.tzname === undefined &&
      res.tzoffset === undefined &&
      /^[A-Z]*$/.test(token)
    ) {
      res.tzname = token;
      i += 1;
      // "GMT+3" means "my time +3 is GMT": the sign is reversed for the offset that follows.
      if (i < count && (at(i) === '+' || at(i) === '-')) {
        tokens[i] = at(i) === '+' ? '-' : '+';
        delete res.tzoffset;
        if (UTC_ZONES.has(token.toLowerCase())) delete res.tzname;
      }
      continue;
    }

    // A numeric offset: +HHMM, +HH:MM or +HH.
    if (res.hour !== undefined && (token === '+' || token === '-')) {
      const sign = token === '+' ? 1 : -1;
      i += 1;
      const digits = at(i);
      let offset: number;
      if (digits.length === 4) {
        offset = pyInt(digits.slice(0, 2)) * 3600 + pyInt(digits.slice(2)) * 60;
      } else if (i + 1 < count && at(i + 1) === ':') {
        offset = pyInt(digits) * 3600 + pyInt(at(i + 2)) * 60;
        i += 2;
      } else if (digits.length <= 2) {
        offset = pyInt(digits.slice(0, 2)) * 3600;
      } else {
        return undefined;
      }
      i += 1;
      res.tzoffset = offset * sign;
      // -0300 (BRST)
      if (
        i + 3 < count &&
        jump(at(i)) &&
        at(i + 1) === '(' &&
        at(i + 3) === ')' &&
        /^[A-Z]{3,5}$/.test(at(i + 2))
      ) {
        res.tzname = at(i + 2);
        i += 4;
      }
      continue;
    }

    if (!jump(token)) return undefined;
    i += 1;
  }

  if (!resolveYmd(res, ymd, monthIndex)) return undefined;
  // parserinfo.validate
  if (res.year !== undefined) res.year = convertYear(res.year, currentYear);
  if ((res.tzoffset === 0 && !res.tzname) || res.tzname === 'Z') {
    res.tzname = 'UTC';
    res.tzoffset = 0;
  } else if (res.tzoffset !== 0 && res.tzname && UTC_ZONES.has(res.tzname.toLowerCase())) {
    res.tzoffset = 0;
  }
  return res;
}

function setUnit(res: ParsedFields, unit: number, value: number, repr: string): void {
  if (unit === 0) {
    res.hour = Math.trunc(value);
    if (value % 1) res.minute = Math.trunc(60 * (value % 1));
  } else if (unit === 1) {
    res.minute = Math.trunc(value);
    if (value % 1) res.second = Math.trunc(60 * (value % 1));
  } else {
    [res.second, res.microsecond] = parseSecondsAndMicros(repr);
  }
}

function applyAmPm(hour: number, ampm: number): number {
  if (ampm === 1 && hour < 12) return hour + 12;
  if (ampm === 0 && hour === 12) return 0;
  return hour;
}

/** dateutil 2.2's guess of which number is the year, the month and the day. */
function resolveYmd(res: ParsedFields, ymd: number[], monthIndex: number): boolean {
  const [a = 0, b = 0, c = 0] = ymd;
  if (ymd.length > 3) return false;
  if (ymd.length === 1 || (monthIndex !== -1 && ymd.length === 2)) {
    // One member, or two members with a month string
    let rest = ymd;
    if (monthIndex !== -1) {
      res.month = ymd[monthIndex];
      rest = ymd.filter((_, index) => index !== monthIndex);
    }
    if (ymd.length > 1 || monthIndex === -1) {
      const first = rest[0] ?? 0;
      if (first > 31) res.year = first;
      else res.day = first;
    }
  } else if (ymd.length === 2) {
    if (a > 31) [res.year, res.month] = [a, b];
    else if (b > 31) [res.month, res.year] = [a, b];
    else [res.month, res.day] = [a, b];
  } else if (ymd.length === 3) {
    if (monthIndex === 0) [res.month, res.day, res.year] = [a, b, c];
    else if (monthIndex === 1) {
      if (a > 31) [res.year, res.month, res.day] = [a, b, c];
      else [res.day, res.month, res.year] = [a, b, c];
    } else if (monthIndex === 2) {
      if (b > 31) [res.day, res.year, res.month] = [a, b, c];
      else [res.year, res.day, res.month] = [a, b, c];
    } else if (a > 31) [res.year, res.month, res.day] = [a, b, c];
    else if (a > 12) [res.day, res.month, res.year] = [a, b, c];
    else [res.month, res.day, res.year] = [a, b, c];
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// dateutil 2.2 `parse` after `_parse`, then backdrop's `parse_time_as_utc`.

function buildUtc(res: ParsedFields, now: Date): TimestampParse {
  // `default.replace(**fields)` with default = today at midnight: every field is checked at once,
  // so a missing day taken from today (say the 31st) can make a given month impossible.
  const year = res.year ?? now.getUTCFullYear();
  const month = res.month ?? now.getUTCMonth() + 1;
  const day = res.day ?? now.getUTCDate();
  const hour = res.hour ?? 0;
  const minute = res.minute ?? 0;
  const second = res.second ?? 0;
  const microsecond = res.microsecond ?? 0;
  if (
    year < 1 ||
    year > 9999 ||
    !isValidDate(year, month, day) ||
    hour > 23 ||
    minute > 59 ||
    second > 59 ||
    microsecond > 999_999
  ) {
    return { ok: false, reason: 'impossible' };
  }
  let days = daysFromCivil(year, month, day);
  if (res.weekday !== undefined && !res.day) {
    // relativedelta(weekday=n): the same or next such day
    days += (res.weekday - pythonWeekday(days) + 7) % 7;
  }
  // Only a numeric offset makes an aware time; names other than UTC/GMT/Z stay naive, i.e. UTC.
  const offset = res.tzoffset ?? 0;
  // Python tzinfo offsets must lie strictly within a day: +25:00 raised ValueError in astimezone.
  if (Math.abs(offset) >= 86_400) return { ok: false, reason: 'impossible' };
  const seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
  const utcDays = Math.floor(seconds / 86_400);
  if (utcDays < daysFromCivil(1, 1, 1) || utcDays > daysFromCivil(9999, 12, 31)) {
    return { ok: false, reason: 'impossible' };
  }
  return utcResult(seconds, microsecond);
}

function utcResult(seconds: number, microsecond: number): TimestampParse {
  const days = Math.floor(seconds / 86_400);
  const secondOfDay = seconds - days * 86_400;
  const [year, month, day] = civilFromDays(days);
  const utc = new Date(0);
  utc.setUTCFullYear(year, month - 1, day);
  utc.setUTCHours(0, 0, secondOfDay, Math.floor(microsecond / 1000));
  const hh = Math.floor(secondOfDay / 3600);
  const mm = Math.floor((secondOfDay % 3600) / 60);
  const ss = secondOfDay % 60;
  const fraction = microsecond ? `.${String(microsecond).padStart(6, '0')}` : '';
  const iso = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hh, 2)}:${pad(mm, 2)}:${pad(ss, 2)}${fraction}+00:00`;
  return { ok: true, utc, iso };
}

// ---------------------------------------------------------------------------------------------
// Proleptic Gregorian calendar arithmetic (days since 1970-01-01), valid for years 1..9999,
// where JS Date would read years below 100 as 19xx.

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function isValidDate(year: number, month: number, day: number): boolean {
  return (
    year >= 1 && year <= 9999 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month)
  );
}

function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

function civilFromDays(days: number): [number, number, number] {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return [yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day];
}

/** Monday = 0, as Python's `weekday()`; 1970-01-01 was a Thursday. */
function pythonWeekday(days: number): number {
  return (((days + 3) % 7) + 7) % 7;
}

function isoWeekday(days: number): number {
  return pythonWeekday(days) + 1;
}

function isoWeekNumber(year: number, month: number, day: number): number {
  const days = daysFromCivil(year, month, day);
  const thursday = days - pythonWeekday(days) + 3;
  const [thursdayYear] = civilFromDays(thursday);
  return Math.floor((thursday - daysFromCivil(thursdayYear, 1, 1)) / 7) + 1;
}
