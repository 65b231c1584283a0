import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, deterministicId, withIds } from '../../../../lib/performance-platform/ids.js';

describe('deterministicId', () => {
  const record = { _timestamp: '2015-01-01T00:00:00Z', count: 123, channel: 'digital', ok: true, none: null };

  it('is base64url SHA-256 over "<group>/<type>\\n" and the canonical JSON', () => {
    const expected = createHash('sha256')
      .update(
        'g/t\n{"_timestamp":"2015-01-01T00:00:00Z","channel":"digital","count":123,"none":null,"ok":true}',
      )
      .digest('base64url');
    expect(deterministicId('g', 't', record)).toBe(expected);
    expect(expected).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('does not depend on key order', () => {
    const reordered = {
      none: null,
      ok: true,
      count: 123,
      channel: 'digital',
      _timestamp: '2015-01-01T00:00:00Z',
    };
    expect(deterministicId('g', 't', reordered)).toBe(deterministicId('g', 't', record));
  });

  it('differs per data set and per content', () => {
    const id = deterministicId('g', 't', record);
    expect(deterministicId('g', 'u', record)).not.toBe(id);
    expect(deterministicId('g-t', '', record)).not.toBe(deterministicId('g', '-t', record));
    expect(deterministicId('g', 't', { ...record, count: 124 })).not.toBe(id);
    expect(deterministicId('g', 't', { ...record, count: '123' })).not.toBe(id);
  });

  it('ignores an existing _id', () => {
    expect(deterministicId('g', 't', { ...record, _id: 'abc' })).toBe(deterministicId('g', 't', record));
  });

  it('sorts keys at every depth and prints numbers as JSON does', () => {
    expect(canonicalJson({ b: { d: 1e21, c: [2, { y: 1, x: 0.1 }] }, a: -0 })).toBe(
      '{"a":0,"b":{"c":[2,{"x":0.1,"y":1}],"d":1e+21}}',
    );
  });
});

describe('withIds', () => {
  it('adds ids to records without one and leaves existing ids alone', () => {
    // Prepare
    const records = [
      { _id: 'mine', count: 1 },
      { count: 2, _timestamp: '2015-01-01T00:00:00Z' },
    ];
    const before = structuredClone(records);

    // Act
    const result = withIds(records, 'g', 't');

    // Assess
    expect(result[0]).toBe(records[0]);
    expect(result[1]).toEqual({ _id: deterministicId('g', 't', records[1] ?? {}), ...records[1] });
    expect(records).toEqual(before);
  });

  it('gives identical records the same id, so they collapse into one stored record', () => {
    const [first, second] = withIds([{ count: 1 }, { count: 1 }], 'g', 't');
    expect(first?._id).toBe(second?._id);
  });
});
