import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { PpSourceError } from '../../../../lib/errors.js';
import {
  type NdjsonEntry,
  readJsonDocument,
  readNdjson,
} from '../../../../lib/performance-platform/record-source.js';

/** A stream giving the text in pieces of `size` bytes, so lines straddle chunk boundaries. */
function pieces(text: string | Buffer, size: number): Readable {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  const parts: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) parts.push(bytes.subarray(at, at + size));
  return Readable.from(parts);
}

async function all(source: AsyncIterable<NdjsonEntry>): Promise<NdjsonEntry[]> {
  const entries: NdjsonEntry[] = [];
  for await (const entry of source) entries.push(entry);
  return entries;
}

describe('readNdjson', () => {
  it.each([1, 3, 64 * 1024])(
    'reads one record per line, skipping blank lines (pieces of %i bytes)',
    async (size) => {
      // Prepare
      const text = '\uFEFF{"a":1}\n\n  \r\n{"b":"é"}\r\n[1,2]\n"x"\n{"c":3}';

      // Act
      const entries = await all(readNdjson(pieces(text, size)));

      // Assess
      expect(entries).toEqual([
        { index: 0, line: 1, record: { a: 1 } },
        { index: 1, line: 4, record: { b: 'é' } },
        { index: 2, line: 5, record: [1, 2] },
        { index: 3, line: 6, record: 'x' },
        { index: 4, line: 7, record: { c: 3 } },
      ]);
    },
  );

  it('reports a bad line with its index and line, and reads on', async () => {
    // Prepare
    const text = Buffer.concat([
      Buffer.from('{"a":1}\n{borked!}\n\n'),
      Buffer.from([0x7b, 0x22, 0x62, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d, 0x0a]),
      Buffer.from('{"c":3}\n'),
    ]);

    // Act
    const entries = await all(readNdjson(pieces(text, 5)));

    // Assess
    expect(entries).toMatchObject([
      { index: 0, line: 1, record: { a: 1 } },
      { index: 1, line: 2, error: expect.stringMatching(/^Line 2 is not valid JSON: /) },
      { index: 2, line: 4, error: 'Line 4 is not valid UTF-8' },
      { index: 3, line: 5, record: { c: 3 } },
    ]);
  });

  it('skips a line over maxLineBytes without holding it, and reads on', async () => {
    // Prepare: a 5 MB line sent in 64 KiB pieces, each a new buffer.
    const huge = `{"v":"${'x'.repeat(5_000_000)}"}`;
    async function* source() {
      yield Buffer.from('{"a":1}\n');
      for (let at = 0; at < huge.length; at += 65_536) yield Buffer.from(huge.slice(at, at + 65_536));
      yield Buffer.from('\n{"b":2}\n');
    }

    // Act
    const entries = await all(readNdjson(Readable.from(source()), { maxLineBytes: 1_000 }));

    // Assess
    expect(entries).toEqual([
      { index: 0, line: 1, record: { a: 1 } },
      { index: 1, line: 2, error: 'Line 2 is longer than 1000 bytes' },
      { index: 2, line: 3, record: { b: 2 } },
    ]);
  });

  it('takes a line of exactly maxLineBytes and refuses one byte more, also on the last line', async () => {
    const line = `{"v":"${'x'.repeat(92)}"}`;
    expect(line).toHaveLength(100);
    const entries = await all(readNdjson(pieces(`${line}\n${line}x`, 7), { maxLineBytes: 100 }));
    expect(entries).toEqual([
      { index: 0, line: 1, record: { v: 'x'.repeat(92) } },
      { index: 1, line: 2, error: 'Line 2 is longer than 100 bytes' },
    ]);
  });

  it('reads nothing from an empty or blank source', async () => {
    expect(await all(readNdjson(pieces('', 1)))).toEqual([]);
    expect(await all(readNdjson(pieces('\n \n\r\n', 1)))).toEqual([]);
  });
});

describe('readJsonDocument', () => {
  it('reads an array of records', async () => {
    expect(await readJsonDocument(pieces('[{"a":1},{"b":2}]', 4), 1_000)).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it('reads one object as one record', async () => {
    expect(await readJsonDocument(pieces('\uFEFF {"a":1}\n', 4), 1_000)).toEqual([{ a: 1 }]);
  });

  it.each([
    ['a scalar', '42', 'The JSON file must hold an array of records or one record object'],
    ['null', 'null', 'The JSON file must hold an array of records or one record object'],
    ['broken JSON', '[{"a":1}', /^The JSON file is not valid JSON: /],
    ['an empty file', '', 'The JSON file is not valid JSON: the file is empty'],
  ])('refuses %s', async (_label, text, message) => {
    const error = await readJsonDocument(pieces(text, 4), 1_000).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PpSourceError);
    expect((error as Error).message).toMatch(message);
  });

  it('stops reading past maxBytes and says to use NDJSON', async () => {
    // Prepare
    let pulled = 0;
    async function* source() {
      for (let i = 0; i < 1_000; i++) {
        pulled += 1;
        yield Buffer.from(`${i === 0 ? '[' : ','}${JSON.stringify({ v: 'x'.repeat(100) })}`);
      }
    }

    // Act
    const error = await readJsonDocument(Readable.from(source()), 1_000).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(PpSourceError);
    expect((error as Error).message).toContain('larger than 1000 bytes');
    expect((error as Error).message).toContain('.ndjson');
    expect(pulled).toBeLessThan(30);
  });

  it('takes a document of exactly maxBytes', async () => {
    const text = '[1,2,3]';
    expect(await readJsonDocument(pieces(text, 2), text.length)).toEqual([1, 2, 3]);
  });
});
