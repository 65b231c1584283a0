import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { flaskJson } from './python-json.js';
import type { PpRequestLogEntry } from './types.js';

/** One request/response pair; every answer goes through `send` so the log records its status. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  log: PpRequestLogEntry;
  /** set once the body has been read to its end (or given up on) */
  bodyDone: boolean;
}

/** An answer computed before it is sent, so a fault can drop it instead. */
export interface Reply {
  status: number;
  body: string;
  headers: OutgoingHttpHeaders;
}

const JSON_TYPE = 'application/json';

/** A `jsonify` answer; `noCache` for what backdrop's views returned (not for abort() errors). */
export function jsonReply(status: number, payload: unknown, options: { noCache?: boolean } = {}): Reply {
  return {
    status,
    body: flaskJson(payload),
    headers: { 'content-type': JSON_TYPE, ...(options.noCache ? { 'cache-control': 'no-cache' } : {}) },
  };
}

/** backdrop's `{"message": ..., "status": "error"}` from abort(). */
export function errorReply(status: number, message: string, headers: OutgoingHttpHeaders = {}): Reply {
  const reply = jsonReply(status, { message, status: 'error' });
  return { ...reply, headers: { ...reply.headers, ...headers } };
}

export const NOT_FOUND_MESSAGE =
  'The requested URL was not found on the server.  If you entered the URL manually please check your spelling and try again.';
export const METHOD_NOT_ALLOWED_MESSAGE = 'The method is not allowed for the requested URL.';

/** Werkzeug 0.12's page for 413: no JSON handler was registered for it. */
export function entityTooLargeReply(): Reply {
  const body = [
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">',
    '<title>413 Request Entity Too Large</title>',
    '<h1>Request Entity Too Large</h1>',
    '<p>The data value transmitted exceeds the capacity limit.</p>',
    '',
  ].join('\n');
  return { status: 413, body, headers: { 'content-type': 'text/html; charset=utf-8', connection: 'close' } };
}

export function send(exchange: Exchange, reply: Reply): void {
  const { res, log } = exchange;
  if (res.headersSent || res.destroyed) return;
  log.status = reply.status;
  res.writeHead(reply.status, { 'content-length': Buffer.byteLength(reply.body), ...reply.headers });
  res.end(reply.body);
}

/** Reads and discards whatever of the body is left, counting it, so the connection stays usable. */
export function drain(exchange: Exchange): void {
  if (exchange.bodyDone) return;
  exchange.bodyDone = true;
  exchange.req.on('data', (chunk: Buffer) => {
    exchange.log.bytes += chunk.length;
  });
  exchange.req.resume();
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}
