import { PpRecordTooLargeError } from '../errors.js';

/** Backdrop inflates a gzip body into at most this many bytes; more is a 413 (reference §3.2). */
export const MAX_INFLATED_BODY_BYTES = 10_485_760;
/** Records per request, as the Performance Platform collector sent them. */
export const DEFAULT_CHUNK_SIZE = 100;
/** The byte limit of one request body, kept 64 KiB under backdrop's so a rounding never costs a 413. */
export const DEFAULT_MAX_BODY_BYTES = MAX_INFLATED_BODY_BYTES - 64 * 1024;

export interface ChunkLimits {
  /** At most this many records per request (default 100). */
  chunkSize?: number;
  /** At most this many bytes of encoded JSON per request (default 10 MiB less 64 KiB). */
  maxBodyBytes?: number;
}

/** Records `from` (inclusive) to `to` (exclusive) of the input, as request number `index`. */
export interface ChunkSpan {
  index: number;
  from: number;
  to: number;
}

/**
 * One request's worth of records: `body` is the JSON array, `bytes` its UTF-8 length, `keys` the
 * keys given with its records (their `_id`s, for the rule that two chunks holding one `_id` are
 * never in flight at once), each once.
 */
export interface Chunk extends ChunkSpan {
  body: string;
  bytes: number;
  keys: readonly string[];
}

/**
 * Decides chunk boundaries from record sizes alone, so a first pass over a file can plan the
 * chunks a second pass will send without holding any record. Deterministic: the same sizes in
 * the same order always give the same spans.
 */
export class ChunkPlanner {
  readonly chunkSize: number;
  readonly maxBodyBytes: number;
  #next = 0;
  #from = 0;
  #count = 0;
  #bytes = 2;
  #chunks = 0;

  /** Throws RangeError for a chunk size under 1 or a byte limit outside 3..10 485 760. */
  constructor(limits: ChunkLimits = {}) {
    this.chunkSize = limits.chunkSize ?? DEFAULT_CHUNK_SIZE;
    this.maxBodyBytes = limits.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    if (!Number.isSafeInteger(this.chunkSize) || this.chunkSize < 1) {
      throw new RangeError(`chunkSize must be a whole number of at least 1, not ${this.chunkSize}`);
    }
    if (
      !Number.isSafeInteger(this.maxBodyBytes) ||
      this.maxBodyBytes < 3 ||
      this.maxBodyBytes > MAX_INFLATED_BODY_BYTES
    ) {
      throw new RangeError(
        `maxBodyBytes must be a whole number from 3 to ${MAX_INFLATED_BODY_BYTES}, not ${this.maxBodyBytes}`,
      );
    }
  }

  /** Records added so far. */
  get records(): number {
    return this.#next;
  }

  /**
   * Adds the next record, `bytes` long as JSON, and returns the chunks this closes (none, one,
   * or two when the record both overflows the open chunk and fills a new one on its own).
   * Throws PpRecordTooLargeError when the record alone is over the byte limit.
   */
  add(bytes: number): ChunkSpan[] {
    const index = this.#next;
    if (bytes + 2 > this.maxBodyBytes) throw new PpRecordTooLargeError(index, bytes, this.maxBodyBytes);
    const closed: ChunkSpan[] = [];
    if (this.#count > 0 && this.#bytes + 1 + bytes > this.maxBodyBytes) closed.push(this.#close());
    this.#bytes += (this.#count > 0 ? 1 : 0) + bytes;
    this.#count += 1;
    this.#next += 1;
    if (this.#count >= this.chunkSize) closed.push(this.#close());
    return closed;
  }

  /** Closes the last, partly filled chunk, if there is one. */
  finish(): ChunkSpan[] {
    return this.#count > 0 ? [this.#close()] : [];
  }

  #close(): ChunkSpan {
    const span = { index: this.#chunks, from: this.#from, to: this.#from + this.#count };
    this.#chunks += 1;
    this.#from = span.to;
    this.#count = 0;
    this.#bytes = 2;
    return span;
  }
}

/**
 * Builds request bodies record by record, holding only the open chunk: the streaming path's
 * memory stays proportional to one chunk whatever the input size.
 */
export class ChunkBuilder {
  readonly #planner: ChunkPlanner;
  #parts: string[] = [];
  #keys = new Set<string>();

  constructor(limits: ChunkLimits = {}) {
    this.#planner = new ChunkPlanner(limits);
  }

  /**
   * Adds the next record (with its key, if it has one: see Chunk) and returns the chunks it
   * completes. Throws PpRecordTooLargeError for a record over the byte limit, TypeError for one
   * JSON cannot encode.
   */
  add(record: unknown, key?: string): Chunk[] {
    const index = this.#planner.records;
    const json = encodeRecord(record, index);
    const chunks: Chunk[] = [];
    let placed = false;
    for (const span of this.#planner.add(Buffer.byteLength(json))) {
      // A span ending after `index` is the one this record filled; an earlier one overflowed.
      if (span.to > index) {
        this.#place(json, key);
        placed = true;
      }
      chunks.push(this.#emit(span));
    }
    if (!placed) this.#place(json, key);
    return chunks;
  }

  /** The last, partly filled chunk, if any. */
  finish(): Chunk[] {
    return this.#planner.finish().map((span) => this.#emit(span));
  }

  #place(json: string, key: string | undefined): void {
    this.#parts.push(json);
    if (key !== undefined) this.#keys.add(key);
  }

  #emit(span: ChunkSpan): Chunk {
    const body = `[${this.#parts.join(',')}]`;
    const keys = [...this.#keys];
    this.#parts = [];
    this.#keys = new Set();
    return { ...span, body, bytes: Buffer.byteLength(body), keys };
  }
}

/** Splits records held in memory into request bodies (see ChunkBuilder for what throws). */
export function chunkRecords(records: readonly unknown[], limits: ChunkLimits = {}): Chunk[] {
  const builder = new ChunkBuilder(limits);
  const chunks = records.flatMap((record) => builder.add(record));
  return [...chunks, ...builder.finish()];
}

/** Splits a stream of records into request bodies as they arrive, one chunk in memory at a time. */
export async function* chunkStream(
  records: AsyncIterable<unknown> | Iterable<unknown>,
  limits: ChunkLimits = {},
): AsyncGenerator<Chunk> {
  const builder = new ChunkBuilder(limits);
  for await (const record of records) yield* builder.add(record);
  yield* builder.finish();
}

/** The JSON of one record; TypeError (naming the index) when JSON cannot encode it. */
export function encodeRecord(record: unknown, index: number): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(record);
  } catch (error) {
    throw new TypeError(`Record ${index} cannot be encoded as JSON`, { cause: error });
  }
  if (json === undefined) throw new TypeError(`Record ${index} cannot be encoded as JSON`);
  return json;
}
