/**
 * What backdrop saved for a valid record: timestamps as UTC ISO strings (`+00:00`), the period
 * keys computed from `_timestamp` (`records.add_period_keys`), `_updated_at` (the storage
 * engine), and an `_id` (the record's own, or a fresh uuid4 as Postgres did, so re-posting a
 * record without `_id` stores it again).
 */
import { randomUUID } from 'node:crypto';
import { parseBackdropTimestamp } from '../../lib/performance-platform/timestamps.js';

const TIMESTAMP_FIELDS = ['_timestamp', '_start_at', '_end_at'] as const;

export interface StoredRecord {
  id: string;
  record: Record<string, unknown>;
}

/** `record` has passed validateRecords (auto ids applied), so its timestamps parse. */
export function storedRecord(record: Record<string, unknown>, now: Date): StoredRecord {
  const stored = copyOf(record);
  let timestamp: Date | undefined;
  for (const field of TIMESTAMP_FIELDS) {
    if (!Object.hasOwn(record, field)) continue;
    const parsed = parseBackdropTimestamp(record[field], now);
    if (!parsed.ok) throw new Error(`${field} should have been validated`);
    stored[field] = parsed.iso;
    if (field === '_timestamp') timestamp = parsed.utc;
  }
  if (timestamp) addPeriodKeys(stored, timestamp);
  const id = typeof record._id === 'string' ? record._id : randomUUID();
  stored._id = id;
  stored._updated_at = updatedAt(now);
  return { id, record: stored };
}

/**
 * A shallow copy, as `{ ...record }` makes it. Object.assign makes the same copy but for an own
 * "__proto__" key (it would set the copy's prototype), and V8 then adds the stored keys to the
 * copy cheaply: to a spread copy it added them at 15–18 µs a record (Node 20).
 */
function copyOf(record: Record<string, unknown>): Record<string, unknown> {
  return Object.hasOwn(record, '__proto__') ? { ...record } : Object.assign({}, record);
}

/** backdrop's PERIODS: hour, day, week (starting Monday), month, quarter and year. */
export function periodKeys(timestamp: Date): Record<string, string> {
  const keys: Record<string, string> = {};
  addPeriodKeys(keys, timestamp);
  return keys;
}

const DAY_MS = 86_400_000;

/**
 * periodKeys' six keys set on `target`, computed from the timestamp's UTC fields without a Date
 * per period (only a week that starts in an earlier month needs one). Years outside 1..9999,
 * which isoUtc would print otherwise than with four digits, go the general way.
 */
function addPeriodKeys(target: Record<string, unknown>, timestamp: Date): void {
  const year = timestamp.getUTCFullYear();
  if (!(year >= 1 && year <= 9999)) {
    Object.assign(target, periodKeysGeneral(timestamp));
    return;
  }
  const month = timestamp.getUTCMonth() + 1;
  const date = timestamp.getUTCDate();
  const yyyy = pad4(year);
  const yyyyMm = `${yyyy}-${pad2(month)}`;
  const day = `${yyyyMm}-${pad2(date)}`;
  const sinceMonday = (timestamp.getUTCDay() + 6) % 7;
  let week: string;
  if (date > sinceMonday) {
    week = `${yyyyMm}-${pad2(date - sinceMonday)}`;
  } else {
    const monday = new Date(Math.floor(timestamp.getTime() / DAY_MS) * DAY_MS - sinceMonday * DAY_MS);
    week = `${pad4(monday.getUTCFullYear())}-${pad2(monday.getUTCMonth() + 1)}-${pad2(monday.getUTCDate())}`;
  }
  target._hour_start_at = `${day}T${pad2(timestamp.getUTCHours())}:00:00+00:00`;
  target._day_start_at = `${day}${MIDNIGHT}`;
  target._week_start_at = `${week}${MIDNIGHT}`;
  target._month_start_at = `${yyyyMm}-01${MIDNIGHT}`;
  target._quarter_start_at = `${yyyy}-${QUARTER_MONTHS[month] ?? ''}-01${MIDNIGHT}`;
  target._year_start_at = `${yyyy}-01-01${MIDNIGHT}`;
}

const MIDNIGHT = 'T00:00:00+00:00';
/** The first month of each month's quarter, by month number. */
const QUARTER_MONTHS = ['', '01', '01', '01', '04', '04', '04', '07', '07', '07', '10', '10', '10'];

/** periodKeys by Date arithmetic for any Date: what addPeriodKeys is tested against. */
export function periodKeysGeneral(timestamp: Date): Record<string, string> {
  const hour = new Date(timestamp.getTime());
  hour.setUTCMinutes(0, 0, 0);
  const day = new Date(hour.getTime());
  day.setUTCHours(0);
  const week = new Date(day.getTime());
  week.setUTCDate(day.getUTCDate() - ((day.getUTCDay() + 6) % 7));
  const month = new Date(day.getTime());
  month.setUTCDate(1);
  const quarter = new Date(month.getTime());
  quarter.setUTCMonth(Math.floor(month.getUTCMonth() / 3) * 3);
  const year = new Date(month.getTime());
  year.setUTCMonth(0);
  return {
    _hour_start_at: isoUtc(hour),
    _day_start_at: isoUtc(day),
    _week_start_at: isoUtc(week),
    _month_start_at: isoUtc(month),
    _quarter_start_at: isoUtc(quarter),
    _year_start_at: isoUtc(year),
  };
}

/** A batch's records share their `now`: its `_updated_at` text is made once. */
let lastUpdated = { time: Number.NaN, text: '' };

function updatedAt(now: Date): string {
  const time = now.getTime();
  if (time !== lastUpdated.time) lastUpdated = { time, text: isoUtc(now, true) };
  return lastUpdated.text;
}

function pad2(value: number): string {
  return value < 10 ? `0${value}` : String(value);
}

function pad4(value: number): string {
  return value < 10 ? `000${value}` : value < 100 ? `00${value}` : value < 1000 ? `0${value}` : String(value);
}

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0');
}

/** Python's `isoformat()` of an aware UTC datetime: microseconds only when non-zero. */
export function isoUtc(date: Date, withFraction = false): string {
  const fraction =
    withFraction && date.getUTCMilliseconds() ? `.${pad(date.getUTCMilliseconds(), 3)}000` : '';
  return `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}${fraction}+00:00`;
}
