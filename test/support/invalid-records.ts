import type { LocalDataSetConfig } from '../../local/performance-platform/server.js';
import { randomSource } from './random-csv.js';

/**
 * Data sets the generator writes for: no schema and no auto ids; a data type with an enum and
 * auto ids its schema requires; auto ids without a schema; a minimum; a minimum and a maximum.
 */
export const GENERATED_DATA_SETS: readonly LocalDataSetConfig[] = [
  {
    dataGroup: 'carers-allowance',
    dataType: 'transaction-count',
    bearerToken: 'gen-token-carers',
    autoIds: [],
  },
  {
    dataGroup: 'vehicle-licensing',
    dataType: 'transactions-by-channel',
    bearerToken: 'gen-token-vehicles',
    autoIds: ['_timestamp', 'channel'],
  },
  {
    dataGroup: 'licensing',
    dataType: 'applications',
    bearerToken: 'gen-token-licensing',
    autoIds: ['channel'],
  },
  { dataGroup: 'passports', dataType: 'appointments', bearerToken: 'gen-token-appointments', autoIds: [] },
  {
    dataGroup: 'consular',
    dataType: 'utilisation',
    bearerToken: 'gen-token-utilisation',
    autoIds: ['consulate'],
  },
];

export interface GeneratedBatch {
  dataSet: LocalDataSetConfig;
  /** JSON values only (what a forwarder parses), so the stand-in reads the same records. */
  records: unknown[];
}

type Rec = Record<string, unknown>;

const TIMESTAMP = '2024-01-31T00:00:00Z';
const BAD_TIMES: readonly unknown[] = [
  '2024-13-01',
  '2014-02-30T00:00:00Z',
  '2024-01-01T24:00:00Z',
  'garbage',
  '2014-01-01',
  '2014-01-01 10:00:00',
  '2014-W01-1T00:00:00Z',
  '',
  5,
  null,
  true,
  [TIMESTAMP],
];
const BAD_VALUES: readonly unknown[] = ['12', 1.5, -3, -1.5, 120, 0, true, null, [1], { a: 1 }, ''];
const BAD_KEYS = ['bad key', 'a', '1abc', 'a-b', 'x.y', ''];
const BAD_IDS: readonly unknown[] = ['', 'a b', 'tab\there', 7, null, false];

/** A valid record of the data set's type. */
function validRecord(dataType: string, n: number): Rec {
  const base: Rec = { _timestamp: TIMESTAMP };
  switch (dataType) {
    case 'transactions-by-channel':
      return { ...base, channel: `channel-${n}`, count: n, period: 'week' };
    case 'appointments':
      return { ...base, count: n, serviceType: 'passport', consulate: `c${n}`, period: 'day' };
    case 'utilisation':
      return { ...base, percent: 50.5, consulate: `c${n}`, period: 'month' };
    default:
      return { ...base, count: n, channel: `c${n}` };
  }
}

/**
 * A batch of 1–6 records for one data set, each valid or broken in 1–3 random ways: fields
 * missing, renamed, of the wrong type, out of range or not in the enum; bad timestamps, keys,
 * internal fields, nested values and ids; now and then a record that is not an object. A pure
 * function of its seed, so a failure is replayed from the seed in its test name.
 */
export function generatedBatch(seed: number): GeneratedBatch {
  const random = randomSource(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const chance = (p: number) => random() < p;
  const dataSet = pick(GENERATED_DATA_SETS);
  const count = 1 + Math.floor(random() * 6);
  const records = Array.from({ length: count }, (_, n): unknown => {
    if (chance(0.05)) return pick<unknown>([42, 'x', null, [], [{ _timestamp: TIMESTAMP }]]);
    const record = validRecord(dataSet.dataType, n);
    const breaks = chance(0.2) ? 0 : 1 + Math.floor(random() * 3);
    for (let i = 0; i < breaks; i++) breakRecord(record, { pick, chance });
    return shuffled(record, random);
  });
  return { dataSet, records: JSON.parse(JSON.stringify(records)) as unknown[] };
}

function breakRecord(
  record: Rec,
  { pick, chance }: { pick: <T>(items: readonly T[]) => T; chance: (p: number) => boolean },
): void {
  const fields = Object.keys(record);
  switch (
    pick(['delete', 'time', 'other-time', 'value', 'enum', 'key', 'internal', 'nested', 'id'] as const)
  ) {
    case 'delete':
      delete record[pick(fields)];
      return;
    case 'time':
      record._timestamp = pick(BAD_TIMES);
      return;
    case 'other-time':
      record[chance(0.5) ? '_start_at' : '_end_at'] = chance(0.3) ? TIMESTAMP : pick(BAD_TIMES);
      return;
    case 'value':
      record[pick(fields.filter((field) => field !== '_timestamp').concat('count'))] = pick(BAD_VALUES);
      return;
    case 'enum':
      record.period = pick(['fortnight', 'Week', 'century', 'second']);
      return;
    case 'key':
      record[pick(BAD_KEYS)] = 1;
      return;
    case 'internal':
      record[pick(['_secret', '_day_start_at', '_updated_at'])] = 'x';
      return;
    case 'nested':
      record[pick(['tags', 'meta'])] = chance(0.5) ? [1, 2] : { a: 1 };
      return;
    case 'id':
      record._id = chance(0.3) ? 'fine-id' : pick(BAD_IDS);
      return;
  }
}

/** The record's fields in a random order: backdrop's first failing key depends on it. */
function shuffled(record: Rec, random: () => number): Rec {
  const entries = Object.entries(record);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [entries[i], entries[j]] = [entries[j] as [string, unknown], entries[i] as [string, unknown]];
  }
  return Object.fromEntries(entries);
}
