import { describe, expect, it } from 'vitest';
import {
  OUTCOMES,
  outcomeKey,
  outcomeSearchFor,
  reportKeyFor,
  versionStamp,
} from '../../../lib/outcome-keys.js';

const ID = 'd_07c63be0f37e6e59c07a4ddc2fd87fcb';
const V1 = { droppedAt: new Date('2026-12-05T21:46:07.000Z'), etag: '3f2a9c1b0d4e5f60718293a4b5c6d7e8' };
const V2 = { droppedAt: '2026-12-05T21:46:08.000Z', etag: 'aa11bb22cc33dd44ee55ff6677889900-3' };

describe('outcome keys', () => {
  it('keeps the rest of the key under the outcome folder, stamped with the version before the extension', () => {
    const key = `incoming/${ID}/append/2024/jan.csv`;
    expect(outcomeKey(key, 'processed', V1)).toBe(
      `processed/${ID}/append/2024/jan.20261205T214607Z-3f2a9c1b.csv`,
    );
    expect(outcomeKey(key, 'failed', V1)).toBe(`failed/${ID}/append/2024/jan.20261205T214607Z-3f2a9c1b.csv`);
    expect(outcomeKey(key, 'unconfirmed', V1)).toBe(
      `unconfirmed/${ID}/append/2024/jan.20261205T214607Z-3f2a9c1b.csv`,
    );
    expect(reportKeyFor(outcomeKey(key, 'failed', V1))).toBe(
      `failed/${ID}/append/2024/jan.20261205T214607Z-3f2a9c1b.csv.report.json`,
    );
  });

  it('gives two drops at one key two outcome keys, in the order they were dropped', () => {
    const key = `incoming/${ID}/replace/a.csv`;
    const first = outcomeKey(key, 'processed', V1);
    const second = outcomeKey(key, 'processed', V2);
    expect(first).not.toBe(second);
    expect([second, first].sort()).toEqual([first, second]);
    expect(second).toBe(`processed/${ID}/replace/a.20261205T214608Z-aa11bb22.csv`);
  });

  it('tells apart versions dropped in the same second by their ETag', () => {
    const key = `incoming/${ID}/replace/a.csv`;
    const other = { ...V1, etag: '99aa9c1b0d4e5f60718293a4b5c6d7e8' };
    expect(outcomeKey(key, 'failed', V1)).not.toBe(outcomeKey(key, 'failed', other));
  });

  it('takes the ETag’s letters and digits, quotes and dashes left out, padded to eight', () => {
    expect(versionStamp({ droppedAt: V1.droppedAt, etag: '"ab-CD-ef12345"' })).toBe(
      '20261205T214607Z-abcdef12',
    );
    expect(versionStamp({ droppedAt: V1.droppedAt, etag: 'abc' })).toBe('20261205T214607Z-abc00000');
  });

  it('computes the same key again for the same version (a retried filing)', () => {
    const key = `incoming/${ID}/replace/a.csv`;
    expect(outcomeKey(key, 'failed', { ...V1, droppedAt: V1.droppedAt.toISOString() })).toBe(
      outcomeKey(key, 'failed', V1),
    );
    expect(versionStamp(V1)).toBe('20261205T214607Z-3f2a9c1b');
  });

  it('stamps keys without an extension at their end, and keys outside incoming/ as they are', () => {
    expect(outcomeKey('incoming/loose', 'failed', V1)).toBe('failed/loose.20261205T214607Z-3f2a9c1b');
    expect(outcomeKey('stray.csv', 'failed', V1)).toBe('failed/stray.20261205T214607Z-3f2a9c1b.csv');
    expect(outcomeKey(`incoming/${ID}/replace/a.b/c`, 'failed', V1)).toBe(
      `failed/${ID}/replace/a.b/c.20261205T214607Z-3f2a9c1b`,
    );
  });

  it('escapes . and .. segments, which tools that map keys to paths would resolve', () => {
    expect(outcomeKey('incoming/a/../b/./c.csv', 'failed', V1)).toBe(
      'failed/a/%2E%2E/b/%2E/c.20261205T214607Z-3f2a9c1b.csv',
    );
  });

  it('files a key too long for S3 with its report under long-keys/ by hash, still stamped', () => {
    const key = `incoming/${ID}/replace/${'x'.repeat(1000)}.csv`;
    const filed = outcomeKey(key, 'unconfirmed', V1);
    expect(filed).toMatch(/^unconfirmed\/long-keys\/[0-9a-f]{64}\.20261205T214607Z-3f2a9c1b\.csv$/);
    expect(Buffer.byteLength(reportKeyFor(filed))).toBeLessThanOrEqual(1024);
    // The longest key that still fits is filed by name: one byte more, by hash.
    const fits = `incoming/${'y'.repeat(1024 - 'unconfirmed/'.length - '.20261205T214607Z-3f2a9c1b.csv.report.json'.length - 1)}z.csv`;
    expect(Buffer.byteLength(reportKeyFor(outcomeKey(fits, 'unconfirmed', V1)))).toBe(1024);
    expect(outcomeKey(fits, 'unconfirmed', V1)).not.toContain('long-keys');
    expect(outcomeKey(`${fits.slice(0, -4)}w.csv`, 'unconfirmed', V1)).toContain('long-keys');
  });
});

describe('outcomeSearchFor', () => {
  const key = `incoming/${ID}/replace/a.csv`;

  it('lists one prefix per outcome folder and finds every outcome filed for the key', () => {
    const searches = outcomeSearchFor(key);
    expect(searches.map((search) => search.prefix)).toEqual(
      OUTCOMES.map((outcome) => `${outcome}/${ID}/replace/a.`),
    );
    for (const [index, outcome] of OUTCOMES.entries()) {
      const filed = outcomeKey(key, outcome, V2);
      expect(searches[index]?.parse(reportKeyFor(filed))).toEqual({
        fileKey: filed,
        outcome,
        stamp: versionStamp(V2),
      });
    }
  });

  it('leaves out other keys under the same prefix: other names, files, and reports of other folders', () => {
    const [processed] = outcomeSearchFor(key);
    const other = outcomeKey(`incoming/${ID}/replace/a.b.csv`, 'processed', V1);
    expect(other.startsWith(processed?.prefix ?? '?')).toBe(true);
    expect(processed?.parse(reportKeyFor(other))).toBeUndefined();
    expect(processed?.parse(outcomeKey(key, 'processed', V1))).toBeUndefined();
    expect(processed?.parse(reportKeyFor(outcomeKey(key, 'failed', V1)))).toBeUndefined();
    expect(processed?.parse(`${reportKeyFor(outcomeKey(key, 'processed', V1))}.bak`)).toBeUndefined();
    expect(processed?.parse(`x${reportKeyFor(outcomeKey(key, 'processed', V1))}`)).toBeUndefined();
  });

  it('finds the long-keys outcomes of a key too long to file by name', () => {
    const long = `incoming/${ID}/replace/${'x'.repeat(1000)}.csv`;
    const [, failedSearch] = outcomeSearchFor(long);
    const filed = outcomeKey(long, 'failed', V1);
    expect(failedSearch?.parse(reportKeyFor(filed))?.fileKey).toBe(filed);
  });
});
