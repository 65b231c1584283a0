import type { Readable } from 'node:stream';
import { PpSourceError } from '../errors.js';

/** Longest NDJSON line read; a longer one is an error entry and is skipped without being kept. */
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

/**
 * One non-blank line of an NDJSON file: `index` counts records (non-blank lines, from 0, bad
 * ones included) and matches the indexes of validation errors and chunks; `line` is the 1-based
 * line number for people. Exactly one of `record` and `error` is set.
 */
export interface NdjsonEntry {
  index: number;
  line: number;
  record?: unknown;
  error?: string;
}

/**
 * Reads one JSON value per line (LF or CRLF; blank lines skipped; a leading BOM ignored).
 * A line that is not UTF-8 or not JSON, or is longer than `maxLineBytes`, becomes an error
 * entry and reading goes on; an over-long line is discarded as it streams past, so memory stays
 * bounded by `maxLineBytes` whatever the input. Throws only what the stream throws.
 */
export async function* readNdjson(
  source: Readable,
  options: { maxLineBytes?: number } = {},
): AsyncGenerator<NdjsonEntry> {
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  let parts: Buffer[] = [];
  let length = 0;
  let overflow = false;
  let line = 0;
  let index = 0;
  const decoder = new TextDecoder('utf-8', { fatal: true });

  const finishLine = (): NdjsonEntry | undefined => {
    line += 1;
    const bytes = parts.length === 1 && parts[0] ? parts[0] : Buffer.concat(parts, length);
    const tooLong = overflow;
    parts = [];
    length = 0;
    overflow = false;
    if (tooLong) return { index: index++, line, error: `Line ${line} is longer than ${maxLineBytes} bytes` };
    const text = decodeUtf8(bytes, decoder);
    if (text === undefined) return { index: index++, line, error: `Line ${line} is not valid UTF-8` };
    if (text.trim() === '') return undefined;
    const at = index++;
    try {
      return { index: at, line, record: JSON.parse(text) };
    } catch (error) {
      return { index: at, line, error: `Line ${line} is not valid JSON: ${(error as Error).message}` };
    }
  };

  for await (const raw of source) {
    const chunk: Buffer = typeof raw === 'string' ? Buffer.from(raw) : (raw as Buffer);
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(10, start);
      const end = newline === -1 ? chunk.length : newline;
      if (!overflow) {
        if (length + end - start > maxLineBytes) {
          overflow = true;
          parts = [];
          length = 0;
        } else if (end > start) {
          parts.push(chunk.subarray(start, end));
          length += end - start;
        }
      }
      if (newline === -1) break;
      const entry = finishLine();
      if (entry) yield entry;
      start = newline + 1;
    }
  }
  if (length > 0 || overflow) {
    const entry = finishLine();
    if (entry) yield entry;
  }
}

/**
 * Reads a `.json` file holding an array of records or one record object, reading at most
 * `maxBytes` (the whole document must be parsed at once). Throws PpSourceError when it is
 * larger, not UTF-8, not JSON, or neither an array nor an object; otherwise what the stream
 * throws.
 */
export async function readJsonDocument(source: Readable, maxBytes: number): Promise<unknown[]> {
  const parts: Buffer[] = [];
  let length = 0;
  for await (const raw of source) {
    const chunk: Buffer = typeof raw === 'string' ? Buffer.from(raw) : (raw as Buffer);
    length += chunk.length;
    if (length > maxBytes) {
      // Leaving the loop destroys the stream: the rest is never read.
      throw new PpSourceError(
        `The JSON file is larger than ${maxBytes} bytes, the most read as one document. Send the records as NDJSON instead: a .ndjson file with one JSON record per line, which is read as a stream and has no such limit.`,
      );
    }
    parts.push(chunk);
  }
  const text = decodeUtf8(Buffer.concat(parts, length));
  if (text === undefined) throw new PpSourceError('The JSON file is not valid UTF-8');
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    const reason = text.trim() === '' ? 'the file is empty' : (error as Error).message;
    throw new PpSourceError(`The JSON file is not valid JSON: ${reason}`, { cause: error });
  }
  if (Array.isArray(document)) return document;
  if (document !== null && typeof document === 'object') return [document];
  throw new PpSourceError('The JSON file must hold an array of records or one record object');
}

/** The text of UTF-8 bytes without a leading BOM, or undefined when they are not UTF-8. */
function decodeUtf8(
  bytes: Uint8Array,
  decoder = new TextDecoder('utf-8', { fatal: true }),
): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}
