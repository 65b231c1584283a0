import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { PpRecordTooLargeError, PpSourceError, SourceChangedError, toError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { Log } from '../observability.js';
import { type Chunk, ChunkBuilder, type ChunkSpan } from './chunks.js';
import type { PerformancePlatformClient, SendOutcome } from './client.js';
import { withId, withIds } from './ids.js';
import { type ForwardProblem, recordProblems } from './problems.js';
import { type NdjsonEntry, readJsonDocument, readNdjson } from './record-source.js';
import { autoId, type DataSetRules } from './records.js';

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
  /** Chunks in flight at once (default 1: one after another); see sendChunks for the `_id` rule. */
  concurrency?: number;
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
 * - partial: some chunks were stored and some not; `chunks` says which (with one chunk in flight
 *   at a time, those before the failed one; with more, a later chunk already in flight when one
 *   failed may be stored too).
 * - failed: no chunk was stored.
 */
export interface ForwardResult {
  outcome: 'forwarded' | 'invalid' | 'partial' | 'failed' | 'empty';
  dataGroup: string;
  dataType: string;
  records: number;
  /**
   * invalid: every problem (sorted by record, one per record and field; those about no one record
   * last), up to a limit and then one NOT_LISTED entry; partial and failed: the service's messages
   * about the first failed chunk (each failed chunk's own are in `chunks`).
   */
  errors: ForwardProblem[];
  /** How many errors there are in all; `errors` lists the first of them. */
  errorCount?: number;
  /** invalid: how many records have a problem (`records` is how many there are). */
  recordsWithProblems?: number;
  chunks: ChunkReport[];
  /** The `Govuk-Request-Id`s of the chunks sent, in chunk order. */
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
  /** Chunks in flight at once (default 1), as for forwardRecords. */
  concurrency?: number;
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
 * the chunks in order, `concurrency` at a time with the `_id` rule of sendChunks, and starts
 * none after the first that fails for good. Never throws for what the
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
  const keyOf = recordKey(request.autoIds);
  const chunks: Chunk[] = [];
  try {
    const builder = new ChunkBuilder(limits(request));
    for (const record of prepared) chunks.push(...builder.add(record, keyOf(record)));
    chunks.push(...builder.finish());
  } catch (error) {
    const problem = chunkingError(error);
    return finish(deps, invalid(base, [problem], 1, problem.index === null ? 0 : 1));
  }
  return finish(
    deps,
    await sendChunks(deps, base, chunks, chunks, {
      deadline: request.deadline,
      concurrency: request.concurrency,
    }),
  );
}

/**
 * Forwards the records of a `.json` or `.ndjson` file. A `.json` document (bounded by
 * `maxJsonBytes`) is read once and handed to forwardRecords. An NDJSON file is read twice so
 * memory stays proportional to a few chunks (those in flight and the next) whatever its size: pass 1 validates every record
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
    const keyOf = recordKey(request.autoIds);
    for await (const entry of readNdjson(await request.open(), lineOptions)) {
      const { record } = entry;
      if (entry.index >= count || !isObject(record)) throw new SourceChangedError(SOURCE_CHANGED);
      const prepared = generateIds ? withId(record, dataGroup, dataType) : record;
      yield* sender.add(prepared, keyOf(prepared));
    }
    yield* sender.finish();
  }
  return finish(deps, await sendChunks(deps, base, plan, secondPass(), { concurrency: request.concurrency }));
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

/**
 * Sends the chunks in order, at most `concurrency` at once, and reports each (stored, failed or
 * not sent) in chunk order whatever order their answers come in.
 *
 * The `_id` rule: a chunk holding a key (`_id`) that a chunk still in flight holds waits until
 * that one is answered, so the last value sent for an id is the one stored, as with sequential
 * sends (backdrop upserts on `_id`; two requests racing could be applied in either order).
 * Chunks start in order, so every earlier chunk holding the key has started before and is
 * answered first.
 *
 * After the first chunk that fails for good (or runs out of time, or whose source fails), no
 * chunk starts; those already in flight are waited for and reported as they end.
 */
async function sendChunks(
  deps: ForwardDeps,
  base: Base,
  plan: readonly PlannedChunk[],
  chunks: AsyncIterable<Chunk> | Iterable<Chunk>,
  options: { deadline?: number | undefined; concurrency?: number | undefined } = {},
): Promise<ForwardResult> {
  const { deadline } = options;
  const concurrency = options.concurrency ?? 1;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a whole number of at least 1, not ${concurrency}`);
  }
  const now = deps.now ?? Date.now;
  const reports: ChunkReport[] = plan.map(({ index, from, to }) => ({
    index,
    from,
    to,
    status: 'not-sent',
    attempts: 0,
  }));
  const requestIds: Array<string | undefined> = [];
  const thrown = new Map<number, unknown>();
  const fail = (position: number, error: NonNullable<ChunkReport['error']>, span?: ChunkSpan) => {
    const report = reports[position] ?? {
      index: position,
      from: span?.from ?? base.records,
      to: span?.to ?? base.records,
      status: 'not-sent',
      attempts: 0,
    };
    reports[position] = { ...report, status: 'failed', error };
  };
  let stopped = false;
  /** Each chunk in flight, by position: resolves once its post is answered and reported. */
  const inFlight = new Map<number, Promise<void>>();
  /** The chunk in flight holding each key. */
  const holders = new Map<string, number>();

  const send = async (position: number, chunk: Chunk, report: ChunkReport): Promise<void> => {
    let outcome: SendOutcome;
    try {
      outcome = await deps.client.post(
        base.dataGroup,
        base.dataType,
        chunk.body,
        deadline === undefined ? {} : { deadline },
      );
    } catch (error) {
      // Only the token source throws: rethrown at the end if nothing was stored (see below).
      stopped = true;
      thrown.set(position, error);
      fail(position, { kind: 'token', messages: [toError(error).message] });
      return;
    }
    requestIds[position] = outcome.requestId;
    report.attempts = outcome.attempts;
    if (!outcome.ok) {
      stopped = true;
      fail(position, errorOf(outcome));
      deps.log.warn('PP_CHUNK_FAILED', {
        ...chunkFields(base, chunk),
        kind: outcome.kind,
        status: outcome.status,
        attempts: outcome.attempts,
        requestId: outcome.requestId,
        messages: outcome.messages.length,
      });
      return;
    }
    report.status = 'stored';
    deps.log.info('PP_CHUNK_STORED', {
      ...chunkFields(base, chunk),
      attempts: outcome.attempts,
      requestId: outcome.requestId,
    });
  };

  const start = (position: number, chunk: Chunk, report: ChunkReport): void => {
    for (const key of chunk.keys) holders.set(key, position);
    const settled = send(position, chunk, report).finally(() => {
      inFlight.delete(position);
      for (const key of chunk.keys) holders.delete(key);
    });
    inFlight.set(position, settled);
  };
  const blocked = (chunk: Chunk): boolean =>
    inFlight.size >= concurrency || chunk.keys.some((key) => holders.has(key));

  let position = 0;
  const iterator =
    Symbol.asyncIterator in chunks ? chunks[Symbol.asyncIterator]() : chunks[Symbol.iterator]();
  try {
    while (!stopped) {
      let next: IteratorResult<Chunk>;
      try {
        next = await iterator.next();
      } catch (error) {
        // Reading the source failed part-way (pass 2): what was stored stays reported.
        const kind = error instanceof SourceChangedError ? 'source-changed' : 'read-error';
        fail(position, { kind, messages: [toError(error).message] });
        break;
      }
      if (next.done) {
        if (position < plan.length) fail(position, sourceChanged());
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
        fail(position, sourceChanged(), chunk);
        break;
      }
      while (!stopped && blocked(chunk)) {
        await Promise.race(inFlight.values());
      }
      // A chunk in flight failed meanwhile: this one stays not sent.
      if (stopped) break;
      if (deadline !== undefined && now() >= deadline) {
        fail(position, {
          kind: 'timeout',
          messages: [
            'The time for this request ran out before this chunk was sent; send the same records again (their ids are stable, so nothing is duplicated).',
          ],
        });
        break;
      }
      start(position, chunk, report);
      position += 1;
    }
  } finally {
    // Every chunk sent is answered before the result is told (none rejects: send catches).
    await Promise.all(inFlight.values());
    // Stops the source when the loop ends early.
    await iterator.return?.();
  }
  const stored = reports.some((report) => report.status === 'stored');
  const [firstThrown] = [...thrown.entries()].sort(([a], [b]) => a - b);
  // A token source that throws before anything is stored is the caller's to handle, unless
  // another chunk failed for a reason of its own, whose report must not be lost.
  const onlyTokens = reports.every((report) => report.status !== 'failed' || report.error?.kind === 'token');
  if (firstThrown && !stored && onlyTokens) throw firstThrown[1];
  const ids = requestIds.filter((id): id is string => id !== undefined);
  const failed = reports.find((report) => report.status === 'failed');
  if (failed) {
    return {
      ...base,
      outcome: stored ? 'partial' : 'failed',
      errors: (failed.error?.messages ?? []).map((message) => ({ index: null, message })),
      chunks: reports,
      requestIds: ids,
    };
  }
  return { ...base, outcome: 'forwarded', errors: [], chunks: reports, requestIds: ids };
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

/**
 * The key under which backdrop stores a record: its auto id when the data set has `auto_ids`
 * (which replaces any `_id` sent), else its `_id` when it is text; none for a record without one
 * (backdrop gives it a fresh id, so it can meet no other).
 */
function recordKey(
  autoIds: readonly string[] | undefined,
): (record: Record<string, unknown>) => string | undefined {
  if (autoIds && autoIds.length > 0) return (record) => autoId(record, autoIds);
  return (record) => (typeof record._id === 'string' ? record._id : undefined);
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
