import { describe, expect, it } from 'vitest';
import { createDatasetDirectory, mergedDatasetDirectory } from '../../../lib/datasets.js';
import {
  datasetRefOf,
  isDropCandidate,
  isDroppedFile,
  isPerformanceKey,
  parseDropKey,
} from '../../../lib/drop-key.js';
import { ConfigError, DropRejectedError } from '../../../lib/errors.js';

const ID = 'd_07c63be0f37e6e59c07a4ddc2fd87fcb';
const datasets = createDatasetDirectory({ aliases: { 'hdb-resale': ID } });

function rejectionCode(key: string): string {
  try {
    parseDropKey(key, datasets);
  } catch (error) {
    if (error instanceof DropRejectedError) return error.code;
    throw error;
  }
  throw new Error(`${key} was accepted`);
}

describe('parseDropKey', () => {
  it('parses a replace drop named by datasetId', () => {
    expect(parseDropKey(`incoming/${ID}/replace/2024 data.csv`, datasets)).toEqual({
      key: `incoming/${ID}/replace/2024 data.csv`,
      rest: `${ID}/replace/2024 data.csv`,
      datasetRef: ID,
      datasetId: ID,
      mode: 'replace',
      newColumns: false,
      name: '2024 data.csv',
    });
  });

  it('takes replace-new-columns/ as a replace that changes the columns on purpose', () => {
    expect(parseDropKey(`incoming/${ID}/replace-new-columns/v2.csv`, datasets)).toMatchObject({
      mode: 'replace',
      newColumns: true,
      name: 'v2.csv',
    });
    expect(parseDropKey(`incoming/${ID}/append/v2.csv`, datasets)).toMatchObject({
      mode: 'append',
      newColumns: false,
    });
  });

  it('resolves an alias and keeps nested names', () => {
    const drop = parseDropKey('incoming/hdb-resale/append/2024/01.CSV', datasets);
    expect(drop).toMatchObject({
      datasetRef: 'hdb-resale',
      datasetId: ID,
      mode: 'append',
      name: '2024/01.CSV',
    });
  });

  it.each([
    ['incoming/file.csv', 'KEY_LAYOUT'],
    [`incoming/${ID}/file.csv`, 'KEY_LAYOUT'],
    [`incoming/${ID}/replace/../x.csv`, 'KEY_LAYOUT'],
    [`incoming/${ID}//x.csv`, 'KEY_LAYOUT'],
    ['elsewhere/a/replace/x.csv', 'KEY_LAYOUT'],
    ['incoming/unknown-alias/replace/x.csv', 'UNKNOWN_ALIAS'],
    ['incoming/d_123/replace/x.csv', 'BAD_DATASET_ID'],
    [`incoming/${ID.toUpperCase()}/replace/x.csv`, 'BAD_DATASET_ID'],
    // Cyrillic "а" in place of a Latin "a": looks the same, is not an id.
    ['incoming/d_07c63be0f37e6e59c07\u04304ddc2fd87fcb/replace/x.csv', 'BAD_DATASET_ID'],
    [`incoming/${ID}/upsert/x.csv`, 'BAD_MODE'],
    [`incoming/${ID}/replace/x.xlsx`, 'NOT_CSV'],
  ])('rejects %s with %s', (key, code) => {
    expect(rejectionCode(key)).toBe(code);
  });

  it('tells the user what the layout should be', () => {
    expect(() => parseDropKey('incoming/x.csv', datasets)).toThrow(
      /incoming\/<datasetId or alias>\/<replace\|append\|replace-new-columns>/,
    );
  });
});

describe('keys outside incoming/', () => {
  it.each([
    'outgoing/d_07c63be0f37e6e59c07a4ddc2fd87fcb/replace/a.csv',
    'Incoming/d_07c63be0f37e6e59c07a4ddc2fd87fcb/replace/a.csv',
    'processed/d_07c63be0f37e6e59c07a4ddc2fd87fcb/replace/a.csv',
    'incomingx/d/replace/a.csv',
  ])('%s is no drop, and is refused as outside incoming/', (key) => {
    expect(isDroppedFile(key)).toBe(false);
    expect(isDropCandidate(key)).toBe(false);
    expect(isPerformanceKey(key)).toBe(false);
    expect(() => parseDropKey(key, datasets)).toThrow(/is not under incoming\//);
  });

  it('tells the performance folder from a dataset', () => {
    expect(isPerformanceKey('incoming/performance/g/t/a.json')).toBe(true);
    expect(isPerformanceKey('incoming/performance/')).toBe(false);
    expect(isPerformanceKey('incoming/performances/g/t/a.json')).toBe(false);
    expect(isDropCandidate('incoming/performance/g/t/a.json')).toBe(false);
    expect(isDroppedFile('incoming/performance/g/t/a.json')).toBe(true);
  });

  it('refuses a "." segment as it refuses ".." and an empty one', () => {
    expect(() => parseDropKey(`incoming/${ID}/replace/./x.csv`, datasets)).toThrow(
      /does not follow the drop layout/,
    );
    expect(() => parseDropKey(`incoming/${ID}/replace/a./x.csv`, datasets)).not.toThrow();
  });

  it('refuses a key longer than can be filed with its stamp and report, and takes the longest that can', () => {
    const longest = `incoming/${ID}/replace/${'n'.repeat(1024 - 3 - 26 - 12 - `incoming/${ID}/replace/`.length - 4)}.csv`;
    expect(Buffer.byteLength(longest)).toBe(1024 - 3 - 26 - 12);
    expect(parseDropKey(longest, datasets).key).toBe(longest);
    const tooLong = (() => {
      try {
        parseDropKey(longest.replace('.csv', 'n.csv'), datasets);
      } catch (error) {
        return error as DropRejectedError;
      }
    })();
    expect(tooLong?.code).toBe('KEY_LAYOUT');
    expect(() => parseDropKey(longest.replace('.csv', 'n.csv'), datasets)).toThrow(
      /is 984 bytes: too long to file with its outcome and report \(at most 983 bytes/,
    );
  });
});

describe('drop candidates', () => {
  it('ignores folder markers and keys outside incoming/', () => {
    expect(isDropCandidate(`incoming/${ID}/append/`)).toBe(false);
    expect(isDropCandidate('processed/x.csv')).toBe(false);
    expect(datasetRefOf(`incoming/${ID}/append/a.csv`)).toBe(ID);
    expect(datasetRefOf('incoming/a.csv')).toBeUndefined();
  });
});

describe('createDatasetDirectory', () => {
  it('lists the id and its aliases as the refs of a dataset', () => {
    expect(datasets.refsFor(ID)).toEqual([ID, 'hdb-resale']);
  });

  it('rejects an alias file with a malformed id or alias', () => {
    expect(() => createDatasetDirectory({ aliases: { ok: 'd_nothex' } })).toThrow(ConfigError);
    expect(() => createDatasetDirectory({ aliases: { 'Bad Alias': ID } })).toThrow(ConfigError);
  });

  it("keeps the local stand-in's sample aliases out of the deployed directory", async () => {
    const { bundledDatasetDirectory } = await import('../../../lib/datasets.js');
    const { localDatasetDirectory } = await import('../../../lib/datasets-local.js');
    const { SAMPLE_DATASETS } = await import('../../../local/datagovsg/server.js');
    expect(bundledDatasetDirectory.resolve('resident-population')).toBeUndefined();
    // Every sample alias names a dataset the stand-in has.
    const sampleIds = SAMPLE_DATASETS.map((dataset) => dataset.datasetId);
    for (const alias of ['resident-population', 'operating-expenditure', 'online-transactions']) {
      expect(sampleIds).toContain(localDatasetDirectory.resolve(alias));
    }
  });

  it("merges alias files, the agency's first", () => {
    const other = 'd_0123456789abcdef0123456789abcdef';
    const merged = mergedDatasetDirectory(
      { aliases: { shared: ID } },
      { about: 'x', aliases: { shared: other, only: other } },
    );
    expect(merged.resolve('shared')).toBe(ID);
    expect(merged.resolve('only')).toBe(other);
    expect(() => mergedDatasetDirectory({ aliases: {} }, { aliases: { Bad: ID } })).toThrow(ConfigError);
  });
});
