/**
 * The request body as backdrop's Flask/Werkzeug stack read it: raw bytes (capped here, so a
 * client cannot exhaust memory), gunzipped when Content-Encoding mentions gzip (at most 10 MiB
 * inflated, as backdrop's SafeGzipDecompressor), then Flask 0.10 `get_json()`.
 */
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { type Exchange, entityTooLargeReply, errorReply, header, type Reply } from './http.js';
import { JsonSyntaxError, parsePythonJson } from './python-json.js';

/** backdrop's `10 * 1024 * 1024`: inflating to more than this is a 413. */
export const MAX_INFLATED_BYTES = 10 * 1024 * 1024;
/** Our own cap on the raw body; backdrop had none (no MAX_CONTENT_LENGTH). */
export const MAX_RAW_BYTES = 64 * 1024 * 1024;

const gunzipAsync = promisify(gunzip);

export type BodyOutcome = { ok: true; data: Buffer } | { ok: false; reply: Reply };

/** Reads the whole body (or answers 413 past the cap) and inflates it when it says gzip. */
export async function readBody(exchange: Exchange): Promise<BodyOutcome> {
  const raw = await readRaw(exchange);
  if (raw === 'too-large') return { ok: false, reply: entityTooLargeReply() };
  if (!exchange.log.gzip || raw.length === 0) return { ok: true, data: raw };
  try {
    return { ok: true, data: await gunzipAsync(raw, { maxOutputLength: MAX_INFLATED_BYTES }) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      return { ok: false, reply: entityTooLargeReply() };
    }
    // backdrop answered 500 (IOError 'Not a gzipped file'); a clear 400 helps the sender more.
    const reason = error instanceof Error ? error.message : String(error);
    return {
      ok: false,
      reply: errorReply(400, `Content-Encoding says gzip but the body could not be gunzipped: ${reason}`),
    };
  }
}

function readRaw(exchange: Exchange): Promise<Buffer | 'too-large'> {
  const { req, log } = exchange;
  const declared = Number(header(req, 'content-length') ?? Number.NaN);
  if (declared > MAX_RAW_BYTES) return Promise.resolve('too-large');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer): void => {
      log.bytes += chunk.length;
      total += chunk.length;
      if (total > MAX_RAW_BYTES) {
        cleanup();
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      exchange.bodyDone = true;
      resolve(Buffer.concat(chunks, total));
    };
    const onError = (error: Error): void => {
      cleanup();
      exchange.bodyDone = true;
      reject(error);
    };
    // A client that goes away mid-body may not make the request emit 'error'.
    const onClose = (): void => onError(new Error('the client closed the connection before the body ended'));
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

export type JsonBody =
  | { kind: 'empty' }
  | { kind: 'not-json' }
  | { kind: 'invalid'; message: string }
  | { kind: 'json'; value: unknown };

/** Werkzeug moved these bodies into request.form, so request.data was empty. */
const FORM_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data']);

/**
 * Flask 0.10 `request.get_json()` after backdrop's zero-bytes check: `not-json` covers a
 * mimetype other than exactly application/json (parameters allowed) and a body that is `null`.
 */
export function interpretJson(data: Buffer, contentType: string | undefined): JsonBody {
  const { mimetype, charset } = parseContentType(contentType);
  if (data.length === 0 || FORM_TYPES.has(mimetype)) return { kind: 'empty' };
  if (mimetype !== 'application/json') return { kind: 'not-json' };
  const text = decodeText(data, charset);
  if (typeof text !== 'string') return { kind: 'invalid', message: text.error };
  try {
    const value = parsePythonJson(text);
    return value === null ? { kind: 'not-json' } : { kind: 'json', value };
  } catch (error) {
    if (error instanceof JsonSyntaxError) return { kind: 'invalid', message: error.message };
    throw error;
  }
}

function parseContentType(value: string | undefined): { mimetype: string; charset: string | undefined } {
  const [type = '', ...params] = (value ?? '').split(';');
  let charset: string | undefined;
  for (const param of params) {
    const [name = '', raw = ''] = param.split('=');
    if (name.trim().toLowerCase() === 'charset') charset = raw.trim().replace(/^"(.*)"$/, '$1');
  }
  return { mimetype: type.trim().toLowerCase(), charset };
}

/** Flask decoded the bytes with the request's charset (default UTF-8) before json.loads. */
function decodeText(data: Buffer, charset: string | undefined): string | { error: string } {
  const label = (charset ?? 'utf-8').toLowerCase();
  if (label === 'utf-8' || label === 'utf8') {
    try {
      return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(data);
    } catch {
      return { error: utf8ErrorMessage(data) };
    }
  }
  if (label === 'ascii' || label === 'us-ascii') {
    const bad = data.findIndex((byte) => byte > 0x7f);
    if (bad === -1) return data.toString('latin1');
    const byte = data[bad] ?? 0;
    return {
      error: `'ascii' codec can't decode byte 0x${hex(byte)} in position ${bad}: ordinal not in range(128)`,
    };
  }
  try {
    return new TextDecoder(label, { fatal: true, ignoreBOM: true }).decode(data);
  } catch (error) {
    if (error instanceof RangeError) return { error: `unknown encoding: ${charset}` };
    return { error: `'${charset}' codec can't decode the body` };
  }
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}

/** Python 2.7's UnicodeDecodeError text for the first bad sequence (close, not byte-exact for every case). */
function utf8ErrorMessage(data: Buffer): string {
  let i = 0;
  while (i < data.length) {
    const byte = data[i] ?? 0;
    const length =
      byte < 0x80
        ? 1
        : byte >= 0xc2 && byte <= 0xdf
          ? 2
          : byte >= 0xe0 && byte <= 0xef
            ? 3
            : byte >= 0xf0 && byte <= 0xf4
              ? 4
              : 0;
    if (length === 0)
      return `'utf8' codec can't decode byte 0x${hex(byte)} in position ${i}: invalid start byte`;
    let j = 1;
    while (j < length && i + j < data.length && ((data[i + j] ?? 0) & 0xc0) === 0x80) j += 1;
    if (j < length) {
      if (i + j >= data.length) {
        return j > 1
          ? `'utf8' codec can't decode bytes in position ${i}-${i + j - 1}: unexpected end of data`
          : `'utf8' codec can't decode byte 0x${hex(byte)} in position ${i}: unexpected end of data`;
      }
      return `'utf8' codec can't decode byte 0x${hex(byte)} in position ${i}: invalid continuation byte`;
    }
    i += length;
  }
  return "'utf8' codec can't decode the body";
}
