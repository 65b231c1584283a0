/** Distinct, valid backdrop records: one per minute from 2024-01-01, with a sequence number. */
const CHANNELS = ['online', 'paper', 'phone', 'counter'];
const START = Date.UTC(2024, 0, 1);

export function makeRecords(count: number): Array<Record<string, unknown>> {
  const records: Array<Record<string, unknown>> = [];
  for (let index = 0; index < count; index++) {
    records.push({
      _timestamp: `${new Date(START + index * 60_000).toISOString().slice(0, 19)}+00:00`,
      period: 'hour',
      channel: CHANNELS[index % CHANNELS.length],
      service: `service-${index % 50}`,
      count: (index * 7919) % 100_000,
      seq: index,
    });
  }
  return records;
}
