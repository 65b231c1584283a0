import { randomBytes } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { RequestLogEntry } from './types.js';

/** One request/response pair; every answer goes through `reply` so the log records its status. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  log: RequestLogEntry;
}

const REDACTED_PARAMS = ['X-Amz-Signature', 'X-Amz-Security-Token', 'X-Amz-Credential'];
const SECRET_HEADERS = new Set([
  'x-dgs-admin-api-key',
  'authorization',
  'proxy-authorization',
  'cookie',
  'x-amz-security-token',
]);

export function reply(
  exchange: Exchange,
  status: number,
  body: string | Buffer,
  headers: OutgoingHttpHeaders = {},
): void {
  exchange.log.status = status;
  exchange.res.writeHead(status, { 'content-length': Buffer.byteLength(body), ...headers });
  exchange.res.end(body);
}

export function replyJson(exchange: Exchange, status: number, payload: unknown): void {
  reply(exchange, status, JSON.stringify(payload), { 'content-type': 'application/json; charset=utf-8' });
}

export function redactedPath(url: URL): string {
  const params = new URLSearchParams(url.search);
  for (const name of REDACTED_PARAMS) {
    if (params.has(name)) params.set(name, 'REDACTED');
  }
  const query = params.toString();
  return query ? `${url.pathname}?${query}` : url.pathname;
}

export function headersWithoutSecrets(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || SECRET_HEADERS.has(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

export function singleHeader(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}
