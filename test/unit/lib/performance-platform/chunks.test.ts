import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { PpRecordTooLargeError } from '../../../../lib/errors.js';
import {
  ChunkPlanner,
  chunkRecords,
  chunkStream,
  DEFAULT_MAX_BODY_BYTES,
  MAX_INFLATED_BODY_BYTES,
} from '../../../../lib/performance-platform/chunks.js';

const records = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ _timestamp: '2015-01-01T00:00:00Z', count: i }));

describe('chunkRecords', () => {
  it.each([
    [1, [[0, 1]]],
    [100, [[0, 100]]],
    [
      101,
      [
        [0, 100],
        [100, 101],
      ],
    ],
    [
      250,
      [
        [0, 100],
        [100, 200],
        [200, 250],
      ],
    ],
    [0, []],
  ])('splits %i records into chunks of at most 100', (n, spans) => {
    // Prepare
    const input = records(n);

    // Act
    const chunks = chunkRecords(input);

    // Assess
    expect(chunks.map((chunk) => [chunk.from, chunk.to])).toEqual(spans);
    expect(chunks.map((chunk) => chunk.index)).toEqual(spans.map((_, i) => i));
    for (const chunk of chunks) {
      expect(JSON.parse(chunk.body)).toEqual(input.slice(chunk.from, chunk.to));
      expect(chunk.bytes).toBe(Buffer.byteLength(chunk.body));
    }
  });

  it('honours a chunk size', () => {
    expect(chunkRecords(records(5), { chunkSize: 2 }).map((chunk) => [chunk.from, chunk.to])).toEqual([
      [0, 2],
      [2, 4],
      [4, 5],
    ]);
  });

  it('keeps every body within the byte limit, counting brackets and commas', () => {
    // Prepare: each record is 20 bytes; [r,r,r] is 2 + 3*20 + 2 = 64 bytes.
    const input = Array.from({ length: 7 }, (_, i) => ({ v: `${i}`.padEnd(12, 'é') }));
    const size = Buffer.byteLength(JSON.stringify(input[0]));
    const limit = 2 + 3 * size + 2;

    // Act
    const exact = chunkRecords(input, { maxBodyBytes: limit });
    const under = chunkRecords(input, { maxBodyBytes: limit - 1 });

    // Assess
    expect(exact.map((chunk) => chunk.to - chunk.from)).toEqual([3, 3, 1]);
    expect(exact[0]?.bytes).toBe(limit);
    expect(under.map((chunk) => chunk.to - chunk.from)).toEqual([2, 2, 2, 1]);
    for (const chunk of under) expect(chunk.bytes).toBeLessThanOrEqual(limit - 1);
  });

  it('fills by bytes and by count together', () => {
    const chunks = chunkRecords(records(10), { chunkSize: 1, maxBodyBytes: 60 });
    expect(chunks).toHaveLength(10);
  });

  it('defaults to 10 MiB less a margin', () => {
    expect(DEFAULT_MAX_BODY_BYTES).toBeLessThan(MAX_INFLATED_BODY_BYTES);
    const big = Array.from({ length: 30 }, () => ({ v: 'x'.repeat(1_000_000) }));
    const chunks = chunkRecords(big);
    expect(chunks.map((chunk) => chunk.to - chunk.from)).toEqual([10, 10, 10]);
    for (const chunk of chunks) expect(chunk.bytes).toBeLessThanOrEqual(DEFAULT_MAX_BODY_BYTES);
  });

  it('names the index of a record too large for any request', () => {
    // Prepare
    const input: unknown[] = records(5);
    input[3] = { v: 'x'.repeat(200) };

    // Act
    const error = (() => {
      try {
        chunkRecords(input, { maxBodyBytes: 100 });
      } catch (caught) {
        return caught;
      }
    })();

    // Assess
    expect(error).toBeInstanceOf(PpRecordTooLargeError);
    expect(error).toMatchObject({ name: 'PpRecordTooLargeError', index: 3, limit: 100 });
  });

  it('refuses nonsense limits', () => {
    expect(() => chunkRecords([], { chunkSize: 0 })).toThrow(RangeError);
    expect(() => chunkRecords([], { chunkSize: 1.5 })).toThrow(RangeError);
    expect(() => chunkRecords([], { maxBodyBytes: MAX_INFLATED_BODY_BYTES + 1 })).toThrow(RangeError);
  });
});

describe('chunkStream', () => {
  it('gives the same chunks as chunkRecords, from a stream', async () => {
    // Prepare
    const input = records(250);

    // Act
    const chunks = [];
    for await (const chunk of chunkStream(Readable.from(input))) chunks.push(chunk);

    // Assess
    expect(chunks).toEqual(chunkRecords(input));
  });
});

describe('ChunkPlanner', () => {
  it('plans from sizes alone the spans a builder gives', () => {
    const input = Array.from({ length: 50 }, (_, i) => ({ v: 'x'.repeat((i * 37) % 90) }));
    const planner = new ChunkPlanner({ chunkSize: 7, maxBodyBytes: 300 });
    const spans = [
      ...input.flatMap((record) => planner.add(Buffer.byteLength(JSON.stringify(record)))),
      ...planner.finish(),
    ];
    expect(spans).toEqual(
      chunkRecords(input, { chunkSize: 7, maxBodyBytes: 300 }).map(({ index, from, to }) => ({
        index,
        from,
        to,
      })),
    );
  });
});
