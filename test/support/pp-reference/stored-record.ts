/**
 * ORACLE FOR TESTS ONLY: local/performance-platform/stored-record.ts as it was at fda60b2, before
 * its fast paths, kept verbatim but for the import (the timestamp parser's general path, without
 * its ISO-8601 fast path) and this note.
 *
 * What backdrop saved for a valid record: timestamps as UTC ISO strings (`+00:00`), the period
 * keys computed from `_timestamp` (`records.add_period_keys`), `_updated_at` (the storage
 * engine), and an `_id` (the record's own, or a fresh uuid4 as Postgres did, so re-posting a
 * record without `_id` stores it again).
 */
import { randomUUID } from 'node:crypto';
import { parseBackdropTimestampGeneral as parseBackdropTimestamp } from '../../../lib/performance-platform/timestamps.js';

const TIMESTAMP_FIELDS = ['_timestamp', '_start_at', '_end_at'] as const;

export interface StoredRecord {
  id: string;
  record: Record<string, unknown>;
}

/** `record` has passed validateRecords (auto ids applied), so its timestamps parse. */
export function storedRecord(record: Record<string, unknown>, now: Date): StoredRecord {
  const stored: Record<string, unknown> = { ...record };
  let timestamp: Date | undefined;
  for (const field of TIMESTAMP_FIELDS) {
    if (!Object.hasOwn(record, field)) continue;
    const parsed = parseBackdropTimestamp(record[field], now);
    if (!parsed.ok) throw new Error(`${field} should have been validated`);
    stored[field] = parsed.iso;
    if (field === '_timestamp') timestamp = parsed.utc;
  }
  if (timestamp) Object.assign(stored, periodKeys(timestamp));
  const id = typeof record._id === 'string' ? record._id : randomUUID();
  stored._id = id;
  stored._updated_at = isoUtc(now, true);
  return { id, record: stored };
}

/** backdrop's PERIODS: hour, day, week (starting Monday), month, quarter and year. */
export function periodKeys(timestamp: Date): Record<string, string> {
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

/** Python's `isoformat()` of an aware UTC datetime: microseconds only when non-zero. */
export function isoUtc(date: Date, withFraction = false): string {
  const pad = (value: number, width = 2): string => String(value).padStart(width, '0');
  const fraction =
    withFraction && date.getUTCMilliseconds() ? `.${pad(date.getUTCMilliseconds(), 3)}000` : '';
  return `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}${fraction}+00:00`;
}
