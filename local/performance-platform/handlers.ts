/**
 * backdrop's write views for /data/<group>/<type>, in backdrop's order of checks:
 * config 404 → auth 401 → body → JSON → listify → validate → store → 200.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import {
  dataSetName,
  PythonFloat,
  validateRecords,
  withAutoId,
} from '../../lib/performance-platform/records.js';
import { interpretJson, readBody } from './body.js';
import { type Exchange, errorReply, header, jsonReply, type Reply } from './http.js';
import { flaskJson, parsePythonJson } from './python-json.js';
import { dataSetKey, type RecordStore } from './store.js';
import { storedRecord } from './stored-record.js';
import type { LocalDataSetConfig } from './types.js';

export interface HandlerContext {
  store: RecordStore;
  now: () => Date;
}

const VALIDATION_ERROR = "ValidationError('Expected header: Content-type: application/json',)";
const ZERO_BYTES = 'Expected JSON request body but received zero bytes.';

/** 401 reply, or undefined when the request carries the data set's token. */
export function authFailure(req: IncomingMessage, dataSet: LocalDataSetConfig): Reply | undefined {
  const authorization = header(req, 'authorization');
  const challenge = { 'www-authenticate': 'bearer' };
  if (authorization === undefined) {
    return errorReply(401, 'Expected header of form: Authorization: Bearer <token>', challenge);
  }
  // Exactly "Bearer " (case-sensitive, one space); anything else has no token at all.
  const token = authorization.startsWith('Bearer ') ? authorization.slice('Bearer '.length) : undefined;
  if (token && sameSecret(token, dataSet.bearerToken)) return undefined;
  // backdrop echoed the token it was given; we never do (it may be a near miss or another set's).
  const shown = token === undefined ? 'None' : token === '' ? '' : '<redacted>';
  const name = dataSetName(dataSet.dataGroup, dataSet.dataType);
  return errorReply(401, `Unauthorized: Invalid bearer token '${shown}' for '${name}'`, challenge);
}

function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

type Parsed = { ok: true; records: unknown[] } | { ok: false; reply: Reply };

/** Body → JSON → listify, with POST's or PUT's error shapes. */
async function listedBody(exchange: Exchange, method: 'POST' | 'PUT'): Promise<Parsed> {
  const body = await readBody(exchange);
  if (!body.ok) return body;
  const json = interpretJson(body.data, header(exchange.req, 'content-type'));
  switch (json.kind) {
    case 'empty':
      return { ok: false, reply: errorReply(400, ZERO_BYTES) };
    case 'not-json':
      return {
        ok: false,
        reply:
          method === 'POST'
            ? jsonReply(400, { messages: [VALIDATION_ERROR] }, { noCache: true })
            : errorReply(400, VALIDATION_ERROR),
      };
    case 'invalid':
      return { ok: false, reply: errorReply(400, `Error parsing JSON: "${json.message}"`) };
    case 'json': {
      const records = Array.isArray(json.value) ? json.value : [json.value];
      exchange.log.records = records.length;
      return { ok: true, records };
    }
  }
}

export async function handlePost(
  ctx: HandlerContext,
  exchange: Exchange,
  dataSet: LocalDataSetConfig,
): Promise<Reply> {
  const parsed = await listedBody(exchange, 'POST');
  if (!parsed.ok) return parsed.reply;
  const { records } = parsed;
  const ok = jsonReply(200, { status: 'ok' }, { noCache: true });
  if (records.length === 0) return ok;
  const autoIds = dataSet.autoIds ?? [];
  const errors = validateRecords(records, {
    dataGroup: dataSet.dataGroup,
    dataType: dataSet.dataType,
    autoIds,
  });
  if (errors.length > 0)
    return jsonReply(400, { messages: errors.map((error) => error.message) }, { noCache: true });
  const now = ctx.now();
  // Each record is printed as soon as it is made, so only its text outlives it.
  const rows = (records as Array<Record<string, unknown>>).map((record) => {
    const stored = storedRecord(autoIds.length > 0 ? withAutoId(record, autoIds) : record, now);
    return { id: stored.id, json: flaskJson(stored.record) };
  });
  await ctx.store.put(dataSetKey(dataSet.dataGroup, dataSet.dataType), rows);
  return ok;
}

export async function handlePut(
  ctx: HandlerContext,
  exchange: Exchange,
  dataSet: LocalDataSetConfig,
): Promise<Reply> {
  const parsed = await listedBody(exchange, 'PUT');
  if (!parsed.ok) return parsed.reply;
  if (parsed.records.length > 0)
    return errorReply(400, 'Not implemented: you can only pass an empty JSON list');
  await ctx.store.clear(dataSetKey(dataSet.dataGroup, dataSet.dataType));
  const name = dataSetName(dataSet.dataGroup, dataSet.dataType);
  return jsonReply(200, { message: `${name} now contains 0 records`, status: 'ok' }, { noCache: true });
}

/** Our addition: what is stored, as backdrop's read API would list it. */
export async function handleGet(ctx: HandlerContext, dataSet: LocalDataSetConfig): Promise<Reply> {
  const data = await storedRecords(ctx.store, dataSet.dataGroup, dataSet.dataType);
  return jsonReply(200, { data }, { noCache: true });
}

/** Stored records with floats kept as PythonFloat, sorted by `_timestamp` then `_id`. */
export async function storedRecords(
  store: RecordStore,
  dataGroup: string,
  dataType: string,
): Promise<Array<Record<string, unknown>>> {
  const values = await store.values(dataSetKey(dataGroup, dataType));
  const records = values.map((json) => parsePythonJson(json) as Record<string, unknown>);
  return records.sort(byTimestampThenId);
}

function byTimestampThenId(a: Record<string, unknown>, b: Record<string, unknown>): number {
  return compareText(a._timestamp, b._timestamp) || compareText(a._id, b._id);
}

/** Stored timestamps are all `YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00`, which sort as text ("+" < "."). */
function compareText(a: unknown, b: unknown): number {
  const left = typeof a === 'string' ? a : '';
  const right = typeof b === 'string' ? b : '';
  return left < right ? -1 : left > right ? 1 : 0;
}

/** PythonFloat and bigint as plain JSON numbers, for callers outside HTTP. */
export function plainJson(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_key, item: unknown) => {
      if (typeof item === 'bigint') return Number(item);
      if (item instanceof PythonFloat) return item.value;
      return item;
    }),
  );
}
