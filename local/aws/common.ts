import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Every local stand-in binds here only: nothing is reachable from outside the machine. */
export const LOCAL_HOST = '127.0.0.1';
export const LOCAL_REGION = 'ap-southeast-1';
export const LOCAL_ACCOUNT_ID = '000000000000';

/**
 * Dummy credentials: the local servers accept any signature. A fresh object each time: the SDK
 * writes into the credentials object it is given (`$source`), so a shared one would be changed.
 */
export function localCredentials(): { accessKeyId: string; secretAccessKey: string } {
  return { accessKeyId: 'local', secretAccessKey: 'local' };
}

export function localEndpoint(port: number): string {
  return `http://${LOCAL_HOST}:${port}`;
}

export function lambdaFunctionArn(functionName: string): string {
  return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:function:${functionName}`;
}

/** Listens on 127.0.0.1 (port 0 picks a free one) and returns the bound port. */
export function listenLocal(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, LOCAL_HOST, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Stops listening and drops keep-alive sockets: SDK clients keep connections open, and
 * `close()` alone would wait for them to time out.
 */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}

export class PayloadTooLargeError extends Error {
  constructor(readonly limitBytes: number) {
    super(`Request body exceeds ${limitBytes} bytes`);
    this.name = 'PayloadTooLargeError';
  }
}

/**
 * Reads the whole request body; rejects with PayloadTooLargeError past `limitBytes`. An
 * oversized body is still drained (not destroyed) so the client receives the error response.
 */
export function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limitBytes) chunks.push(chunk);
    });
    req.on('end', () =>
      size > limitBytes ? reject(new PayloadTooLargeError(limitBytes)) : resolve(Buffer.concat(chunks)),
    );
    req.on('error', reject);
  });
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'Error';
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Resolves once `pending` stays empty, including work added while waiting. */
export async function waitUntilEmpty(pending: ReadonlySet<Promise<unknown>>): Promise<void> {
  while (pending.size > 0) {
    await Promise.allSettled([...pending]);
  }
}

/**
 * Calls each listener with its own copy of `value`. A listener runs inside a request handler:
 * its error must not turn the client's call into a 500 (which the SDK would retry, recording
 * the same work twice), so it is rethrown on its own tick, where it is still loud.
 */
export function notifyAll<T>(listeners: ReadonlySet<(value: T) => void>, value: T): void {
  for (const listener of [...listeners]) {
    try {
      listener(structuredClone(value));
    } catch (error) {
      rethrowLater(error);
    }
  }
}

export function rethrowLater(error: unknown): void {
  process.nextTick(() => {
    throw error;
  });
}
