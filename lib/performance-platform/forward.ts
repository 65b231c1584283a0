import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { PpRecordTooLargeError, PpSourceError, SourceChangedError, toError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { Log } from '../observability.js';
import { type Chunk, ChunkBuilder, type ChunkSpan, chunkRecords } from './chunks.js';
import type { PerformancePlatformClient, SendOutcome } from './client.js';
import { withId, withIds } from './ids.js';
import { type ForwardProblem, recordProblems } from './problems.js';
import { type NdjsonEntry, readJsonDocument, readNdjson } from './record-source.js';
import type { DataSetRules } from './records.js';

export interface ForwardRequest {
  dataGroup: string;
  dataType: string;
  records: readonly unknown[];
  /** Records per request (default 100); requests also stay under the 10 MiB body limit. */
  chunkSize?: number;
  /** Give records without an `_id` a deterministic one, so retries upsert (default true). */
  generateIds?: boolean;
  /** The data set's `auto_ids` fields, when it has them, so their absence is caught before sending. */
  autoIds?: string[];
  /**
   * When the whole forward must be over (epoch ms; a caller waiting on HTTP): no attempt runs past
   * it, and chunks not sent by then are reported failed ('timeout'), to be sent again.
   */
  deadline?: number;
}

export interface ChunkReport {
  index: number;
  from: number;
  to: number;
  status: 'stored' | 'failed' | 'not-sent';
  attempts: number;
  error?: { kind: string; status?: number; messages: string[] };
}

/**
 * - forwarded: every chunk stored. empty: no records, nothing sent.
 * - invalid: some record (or the file) is invalid; nothing sent; `errors` lists them by index.
 * - partial: the chunks before the failed one were stored, the failed one and later ones not.
 * - failed: the first chunk failed; nothing stored.
 */
export interface ForwardResult {
  outcome: 'forwarded' | 'invalid' | 'partial' | 'failed' | 'empty';
  dataGroup: string;
  dataType: string;
  records: number;
  /**
   * invalid: every problem (sorted by record, one per record and field; those about no one record
   * last), up to a limit and then one NOT_LISTED entry; partial and failed: the service's messages.
   */
  errors: ForwardProblem[];
  /** How many errors there are in all; `errors` lists the first of them. */
  errorCount?: number;
  /** invalid: how many records have a problem (`records` is how many there are). */
  recordsWithProblems?: number;
  chunks: ChunkReport[];
  requestIds: string[];
}

export interface ForwardDeps {
  client: Pick<PerformancePlatformClient, 'post'>;
  log: Log;
  metrics: Metrics;
  /** The clock the deadline is read on (default Date.now). */
  now?: () => number;
}

export interface EmptyDeps {
  client: Pick<PerformancePlatformClient, 'empty'>;
  log: Log;
}

export interface EmptyResult {
  ok: boolean;
  dataGroup: string;
  dataType: string;
  attempts: number;
  requestId: string;
  error?: { kind: string; status?: number; messages: string[] };
}

export interface ForwardStreamRequest {
  dataGroup: string;
  dataType: string;
  /** Opens the source from its start; called twice for NDJSON, so it must give the same bytes. */
  open: () => Promise<Readable>;
  format: 'json' | 'ndjson';
  chunkSize?: number;
  generateIds?: boolean;
  autoIds?: string[];
  /** Largest `.json` document read (default 10 MiB); NDJSON has no overall limit. */
  maxJsonBytes?: number;
  /** Longest NDJSON line (default 1 MiB). */
  maxLineBytes?: number;
  /** Errors listed in an invalid result (default 1000); the rest are counted. */
  maxListedErrors?: number;
}

/** The largest `.json` document forwardStream parses whole. */
export const DEFAULT_MAX_JSON_BYTES = 10 * 1024 * 1024;
/** The most errors an invalid result lists; one more entry gives the total. */
export const DEFAULT_MAX_LISTED_ERRORS = 1000;
const VALIDATION_BLOCK = 1000;
const SOURCE_CHANGED =
  'The source changed between validation and sending; the rest was not sent. Send the file again.';

type Base = Pick<ForwardResult, 'dataGroup' | 'dataType' | 'records'>;
interface PlannedChunk extends ChunkSpan {
  digest?: string;
}

/**
 * The `invalid` result of records that backdrop would refuse, or undefined when every record
 * passes: what forwardRecords checks before sending, for a caller that sends them later.
 */
export function invalidRecords(request: ForwardRequest): ForwardResult | undefined {
  const { dataGroup, dataType, records } = request;
  const problems = recordProblems(records, rules(request));
  if (problems.length === 0) return undefined;
  const withProblems = new Set(problems.map((problem) => problem.index)).size;
  return invalid(
    { dataGroup, dataType, records: records.length },
    capped(problems),
    problems.length,
    withProblems,
  );
}

/**
 * Forwards records to one Performance Platform data set: validates every record first (all
 * errors at once, by index; nothing is sent if one is invalid, as backdrop would store nothing
 * of a batch holding one), adds deterministic `_id`s unless `generateIds` is false, then sends
 * the chunks in order and stops at the first that fails for good. Never throws for what the
 * service answers; throws what the client's token source throws before any chunk is sent.
 */
export async function forwardRecords(deps: ForwardDeps, request: ForwardRequest): Promise<ForwardResult> {
  const { dataGroup, dataType, records } = request;
  const base: Base = { dataGroup, dataType, records: records.length };
  if (records.length === 0) return finish(deps, empty(base));
  const refused = invalidRecords(request);
  if (refused) return finish(deps, refused);
  const objects = records as readonly Record<string, unknown>[];
  const prepared = request.generateIds === false ? objects : withIds(objects, dataGroup, dataType);
  let chunks: Chunk[];
  try {
    chunks = chunkRecords(prepared, limits(request));
  } catch (error) {
    const problem = chunkingError(error);
    return finish(deps, invalid(base, [problem], 1, problem.index === null ? 0 : 1));
  }
  return finish(deps, await sendChunks(deps, base, chunks, chunks, request.deadline));
}

/**
 * Forwards the records of a `.json` or `.ndjson` file. A `.json` document (bounded by
 * `maxJsonBytes`) is read once and handed to forwardRecords. An NDJSON file is read twice so
 * memory stays proportional to one chunk whatever its size: pass 1 validates every record
 * (collecting every error with its index, listing the first `maxListedErrors`) and sends
 * nothing if one is invalid; pass 2 sends the chunks, each checked against pass 1's digest of
 * it so a source that changed in between is never sent unvalidated. Throws what the source
 * throws before anything was sent; after that, failures are in the result.
 */
export async function forwardStream(
  deps: ForwardDeps,
  request: ForwardStreamRequest,
): Promise<ForwardResult> {
  const { dataGroup, dataType } = request;
  if (request.format === 'json') {
    let records: unknown[];
    try {
      records = await readJsonDocument(await request.open(), request.maxJsonBytes ?? DEFAULT_MAX_JSON_BYTES);
    } catch (error) {
      if (!(error instanceof PpSourceError)) throw error;
      return finish(
        deps,
        invalid(
          { dataGroup, dataType, records: 0 },
          [{ index: null, code: 'UNREADABLE_FILE', message: error.message }],
          1,
          0,
        ),
      );
    }
    return forwardRecords(deps, { ...request, records });
  }

  const generateIds = request.generateIds !== false;
  const lineOptions = request.maxLineBytes === undefined ? {} : { maxLineBytes: request.maxLineBytes };
  const errors = new ErrorList(request.maxListedErrors ?? DEFAULT_MAX_LISTED_ERRORS);
  let builder: ChunkBuilder | undefined;
  try {
    builder = new ChunkBuilder(limits(request));
  } catch (error) {
    errors.add(chunkingError(error));
  }
  const plan: PlannedChunk[] = [];
  const planned = (chunks: Chunk[]) => {
    for (const { body, bytes: _bytes, ...span } of chunks) plan.push({ ...span, digest: digest(body) });
  };
  let block: NdjsonEntry[] = [];
  const checkBlock = () => {
    // Validated a block at a time (bounded memory; the batch rule, auto ids, applies per block);
    // each block's problems are in record order, so the list of the file is too.
    const valid = block.filter((entry) => entry.error === undefined);
    const byEntry = new Map<number, ForwardProblem[]>();
    for (const problem of recordProblems(
      valid.map((entry) => entry.record),
      rules(request),
    )) {
      const entry = valid[problem.index];
      if (!entry) continue;
      const found = { ...problem, index: entry.index, line: entry.line };
      byEntry.set(entry.index, [...(byEntry.get(entry.index) ?? []), found]);
    }
    for (const entry of block) {
      if (entry.error !== undefined) {
        errors.add({ index: entry.index, line: entry.line, code: 'BAD_LINE', message: entry.error });
      }
      for (const problem of byEntry.get(entry.index) ?? []) errors.add(problem);
    }
    for (const entry of valid) {
      if (errors.total > 0 || !builder) break;
      const record = entry.record as Record<string, unknown>;
      try {
        planned(builder.add(generateIds ? withId(record, dataGroup, dataType) : record));
      } catch (error) {
        errors.add(chunkingError(error, entry.index));
      }
    }
    block = [];
  };

  let count = 0;
  for await (const entry of readNdjson(await request.open(), lineOptions)) {
    count = entry.index + 1;
    block.push(entry);
    if (block.length >= VALIDATION_BLOCK) checkBlock();
  }
  if (block.length > 0) checkBlock();

  const base: Base = { dataGroup, dataType, records: count };
  if (errors.total > 0) {
    return finish(deps, invalid(base, errors.list(), errors.total, errors.recordsWithProblems));
  }
  if (count === 0) return finish(deps, empty(base));
  if (builder) planned(builder.finish());

  async function* secondPass(): AsyncGenerator<Chunk> {
    const sender = new ChunkBuilder(limits(request));
    for await (const entry of readNdjson(await request.open(), lineOptions)) {
      const { record } = entry;
      if (entry.index >= count || !isObject(record)) throw new SourceChangedError(SOURCE_CHANGED);
      yield* sender.add(generateIds ? withId(record, dataGroup, dataType) : record);
    }
    yield* sender.finish();
  }
  return finish(deps, await sendChunks(deps, base, plan, secondPass()));
}

/**
 * Empties a data set (PUT `[]`). Never throws for what the service answers; throws what the
 * client's token source throws.
 */
export async function emptyDataSet(
  deps: EmptyDeps,
  dataGroup: string,
  dataType: string,
  { deadline }: { deadline?: number } = {},
): Promise<EmptyResult> {
  const outcome = await deps.client.empty(dataGroup, dataType, deadline === undefined ? {} : { deadline });
  const result: EmptyResult = {
    ok: outcome.ok,
    dataGroup,
    dataType,
    attempts: outcome.attempts,
    requestId: outcome.requestId,
    ...(outcome.ok ? {} : { error: errorOf(outcome) }),
  };
  const fields = {
    dataGroup,
    dataType,
    attempts: outcome.attempts,
    requestId: outcome.requestId,
    ...(outcome.ok ? {} : { kind: outcome.kind, status: outcome.status }),
  };
  if (outcome.ok) deps.log.info('PP_EMPTY_DONE', fields);
  else deps.log.warn('PP_EMPTY_FAILED', fields);
  return result;
}

async function sendChunks(
  deps: ForwardDeps,
  base: Base,
  plan: readonly PlannedChunk[],
  chunks: AsyncIterable<Chunk> | Iterable<Chunk>,
  deadline?: number,
): Promise<ForwardResult> {
  const now = deps.now ?? Date.now;
  const reports: ChunkReport[] = plan.map(({ index, from, to }) => ({
    index,
    from,
    to,
    status: 'not-sent',
    attempts: 0,
  }));
  const requestIds: string[] = [];
  const fail = (position: number, error: NonNullable<ChunkReport['error']>, span?: ChunkSpan) => {
    const report = reports[position] ?? {
      index: position,
      from: span?.from ?? base.records,
      to: span?.to ?? base.records,
      status: 'not-sent',
      attempts: 0,
    };
    reports[position] = { ...report, status: 'failed', error };
    return reports[position];
  };
  let failed: ChunkReport | undefined;
  let position = 0;
  const iterator =
    Symbol.asyncIterator in chunks ? chunks[Symbol.asyncIterator]() : chunks[Symbol.iterator]();
  try {
    for (;;) {
      let next: IteratorResult<Chunk>;
      try {
        next = await iterator.next();
      } catch (error) {
        // Reading the source failed part-way (pass 2): what was stored stays reported.
        const kind = error instanceof SourceChangedError ? 'source-changed' : 'read-error';
        failed = fail(position, { kind, messages: [toError(error).message] });
        break;
      }
      if (next.done) {
        if (position < plan.length) failed = fail(position, sourceChanged());
        break;
      }
      const chunk = next.value;
      const expected = plan[position];
      const report = reports[position];
      if (
        !expected ||
        !report ||
        expected.from !== chunk.from ||
        expected.to !== chunk.to ||
        (expected.digest !== undefined && expected.digest !== digest(chunk.body))
      ) {
        failed = fail(position, sourceChanged(), chunk);
        break;
      }
      if (deadline !== undefined && now() >= deadline) {
        failed = fail(position, {
          kind: 'timeout',
          messages: [
            'The time for this request ran out before this chunk was sent; send the same records again (their ids are stable, so nothing is duplicated).',
          ],
        });
        break;
      }
      let outcome: SendOutcome;
      try {
        outcome = await deps.client.post(
          base.dataGroup,
          base.dataType,
          chunk.body,
          deadline === undefined ? {} : { deadline },
        );
      } catch (error) {
        // Only the token source throws; before anything is stored that is the caller's to handle.
        if (position === 0) throw error;
        failed = fail(position, { kind: 'token', messages: [toError(error).message] });
        break;
      }
      requestIds.push(outcome.requestId);
      report.attempts = outcome.attempts;
      if (!outcome.ok) {
        failed = fail(position, errorOf(outcome));
        deps.log.warn('PP_CHUNK_FAILED', {
          ...chunkFields(base, chunk),
          kind: outcome.kind,
          status: outcome.status,
          attempts: outcome.attempts,
          requestId: outcome.requestId,
          messages: outcome.messages.length,
        });
        break;
      }
      report.status = 'stored';
      deps.log.info('PP_CHUNK_STORED', {
        ...chunkFields(base, chunk),
        attempts: outcome.attempts,
        requestId: outcome.requestId,
      });
      position += 1;
    }
  } finally {
    // Stops the source when the loop ends early.
    await iterator.return?.();
  }
  if (failed) {
    const stored = reports.some((report) => report.status === 'stored');
    return {
      ...base,
      outcome: stored ? 'partial' : 'failed',
      errors: (failed.error?.messages ?? []).map((message) => ({ index: null, message })),
      chunks: reports,
      requestIds,
    };
  }
  return { ...base, outcome: 'forwarded', errors: [], chunks: reports, requestIds };
}

function errorOf(outcome: Extract<SendOutcome, { ok: false }>): NonNullable<ChunkReport['error']> {
  return {
    kind: outcome.kind,
    ...(outcome.status === undefined ? {} : { status: outcome.status }),
    messages: outcome.messages,
  };
}

function sourceChanged(): NonNullable<ChunkReport['error']> {
  return { kind: 'source-changed', messages: [SOURCE_CHANGED] };
}

function chunkFields(base: Base, chunk: ChunkSpan) {
  return {
    dataGroup: base.dataGroup,
    dataType: base.dataType,
    chunk: chunk.index,
    from: chunk.from,
    to: chunk.to,
    records: chunk.to - chunk.from,
  };
}

function chunkingError(error: unknown, index?: number): ForwardProblem {
  if (error instanceof PpRecordTooLargeError) {
    const at = index ?? error.index;
    return {
      index: at,
      code: 'RECORD_TOO_LARGE',
      message: `Record ${at} is ${error.bytes} bytes as JSON, over the ${error.limit}-byte limit of one request`,
    };
  }
  // ChunkBuilder's RangeError is a setting (the chunk size); a TypeError a record JSON cannot encode.
  if (error instanceof RangeError)
    return { index: index ?? null, code: 'BAD_SETTING', message: error.message };
  if (error instanceof TypeError)
    return { index: index ?? null, code: 'NOT_ENCODABLE', message: error.message };
  throw error;
}

function rules(request: { dataGroup: string; dataType: string; autoIds?: string[] }): DataSetRules {
  return {
    dataGroup: request.dataGroup,
    dataType: request.dataType,
    ...(request.autoIds ? { autoIds: request.autoIds } : {}),
  };
}

function limits(request: { chunkSize?: number }) {
  return request.chunkSize === undefined ? {} : { chunkSize: request.chunkSize };
}

function empty(base: Base): ForwardResult {
  return { ...base, outcome: 'empty', errors: [], chunks: [], requestIds: [] };
}

function invalid(
  base: Base,
  errors: ForwardProblem[],
  total: number,
  recordsWithProblems: number,
): ForwardResult {
  return {
    ...base,
    outcome: 'invalid',
    errors,
    errorCount: total,
    recordsWithProblems,
    chunks: [],
    requestIds: [],
  };
}

/** The first DEFAULT_MAX_LISTED_ERRORS problems, and one more entry saying how many were left out. */
function capped(problems: readonly ForwardProblem[]): ForwardProblem[] {
  const more = problems.length - DEFAULT_MAX_LISTED_ERRORS;
  if (more <= 0) return [...problems];
  return [...problems.slice(0, DEFAULT_MAX_LISTED_ERRORS), notListed(more, problems.length)];
}

function notListed(more: number, total: number): ForwardProblem {
  return { index: null, code: 'NOT_LISTED', message: `${more} more errors are not listed (${total} in all)` };
}

function finish(deps: Pick<ForwardDeps, 'log' | 'metrics'>, result: ForwardResult): ForwardResult {
  const { log, metrics } = deps;
  const stored = result.chunks.filter((chunk) => chunk.status === 'stored');
  const failed = result.chunks.filter((chunk) => chunk.status === 'failed').length;
  const recordsStored = stored.reduce((sum, chunk) => sum + (chunk.to - chunk.from), 0);
  if (recordsStored > 0) metrics.add('RecordsForwarded', recordsStored);
  if (failed > 0) metrics.add('PpChunksFailed', failed);
  const fields = {
    dataGroup: result.dataGroup,
    dataType: result.dataType,
    outcome: result.outcome,
    records: result.records,
    chunks: result.chunks.length,
    stored: stored.length,
    errors: result.errorCount ?? result.errors.length,
    requestIds: result.requestIds,
  };
  if (result.outcome === 'forwarded' || result.outcome === 'empty') log.info('PP_FORWARD_DONE', fields);
  else log.warn('PP_FORWARD_DONE', fields);
  return result;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function digest(body: string): string {
  return createHash('sha256').update(body).digest('base64url');
}

/**
 * The first `max` problems, plus how many there were in all and how many records they are
 * about. Problems arrive in record order (NDJSON is checked in order), so counting records needs
 * only the last index seen, whatever the file's size; those about no one record go last.
 */
class ErrorList {
  readonly #max: number;
  readonly #errors: ForwardProblem[] = [];
  #lastIndex: number | undefined;
  total = 0;
  recordsWithProblems = 0;

  constructor(max: number) {
    this.#max = max;
  }

  add(error: ForwardProblem): void {
    this.total += 1;
    if (error.index !== null && error.index !== this.#lastIndex) {
      this.recordsWithProblems += 1;
      this.#lastIndex = error.index;
    }
    if (this.#errors.length < this.#max) this.#errors.push(error);
  }

  list(): ForwardProblem[] {
    const listed = [
      ...this.#errors.filter((error) => error.index !== null),
      ...this.#errors.filter((error) => error.index === null),
    ];
    const more = this.total - listed.length;
    return more > 0 ? [...listed, notListed(more, this.total)] : listed;
  }
}
