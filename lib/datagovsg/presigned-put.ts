import http, { type Agent } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { toError, UploadFailedError, UploadUnconfirmedError } from '../errors.js';
import type { PresignedUpload } from './presigned-url.js';

export interface PutOptions {
  upload: PresignedUpload;
  body: Readable;
  contentLength: number;
  /** Base64 MD5 of the body; sent only when the URL signed `content-md5`. */
  md5Base64: string | undefined;
  /** Gives up when no byte moves either way for this long (a stalled path, a server that stopped reading). */
  idleTimeoutMs: number;
  /**
   * Aborting stops the PUT before it completes (S3 then stores nothing) and rejects with the
   * signal's reason; the body is left to its owner, who may still be reading it.
   */
  signal?: AbortSignal;
  onProgress?: (bytesSent: number) => void;
  /** Removes secrets from S3's answer before it becomes an error message (S3 may echo the request). */
  redact?: (text: string) => string;
  /** The connection's agent: a tunnel through the proxy (lib/proxy.ts); by default Node's. */
  agent?: Agent;
}

export interface PutResult {
  status: number;
  etag: string | undefined;
  bytesSent: number;
}

const MAX_ERROR_BODY = 16 * 1024;
const RETRYABLE_STATUSES = new Set([429, 500, 502, 503, 504]);

/**
 * Streams `body` into a presigned S3 PUT with an explicit Content-Length (S3 answers 501 to
 * chunked uploads), so the file is never held in memory. Headers follow what the URL signed:
 * S3 rejects a signed header that is missing and an unsigned Content-MD5 that is present.
 * node:http is used rather than fetch because fetch may buffer a streamed body for redirects.
 */
export function putToPresignedUrl(options: PutOptions): Promise<PutResult> {
  const { upload, body, contentLength } = options;
  const headers = uploadHeaders(options);
  const transport = upload.url.protocol === 'https:' ? https : http;
  return new Promise<PutResult>((resolve, reject) => {
    let bytesSent = 0;
    // Set once the whole body was handed to the socket: only then may S3 have stored it.
    let bodyFlushed = false;
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      outcome();
    };
    const request = transport.request(upload.url, {
      method: 'PUT',
      headers,
      ...(options.agent ? { agent: options.agent } : {}),
    });
    request.on('finish', () => {
      bodyFlushed = true;
    });
    const onAbort = () => {
      body.unpipe(request);
      settle(() => reject(options.signal?.reason));
      request.destroy();
    };
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    request.on('close', () => options.signal?.removeEventListener('abort', onAbort));
    request.setTimeout(options.idleTimeoutMs, () => {
      request.destroy(
        Object.assign(new Error('no progress on the upload connection'), { code: 'ETIMEDOUT' }),
      );
    });
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      let kept = 0;
      response.on('data', (chunk: Buffer) => {
        if (kept < MAX_ERROR_BODY) chunks.push(chunk);
        kept += chunk.length;
      });
      response.on('error', (error) =>
        settle(() => reject(connectionFailure(upload, error, bytesSent, contentLength, bodyFlushed))),
      );
      response.on('end', () => {
        const status = response.statusCode ?? 0;
        const etagHeader = response.headers.etag;
        if (status >= 200 && status < 300) {
          settle(() => resolve({ status, etag: etagHeader?.replaceAll('"', ''), bytesSent }));
        } else {
          body.destroy();
          const answer = Buffer.concat(chunks).toString('utf8');
          settle(() => reject(rejection(upload, status, options.redact ? options.redact(answer) : answer)));
        }
      });
    });
    request.on('error', (error) => {
      if (options.signal?.aborted) return;
      body.destroy();
      settle(() => reject(connectionFailure(upload, error, bytesSent, contentLength, bodyFlushed)));
    });
    body.on('error', (error) => {
      request.destroy();
      settle(() =>
        reject(
          new UploadFailedError(`Reading the file failed after ${bytesSent} of ${contentLength} bytes`, {
            retryWithNewLink: true,
            cause: toError(error),
          }),
        ),
      );
    });
    body.on('data', (chunk: Buffer) => {
      bytesSent += chunk.length;
      options.onProgress?.(bytesSent);
    });
    body.pipe(request);
  });
}

function uploadHeaders({ upload, contentLength, md5Base64 }: PutOptions): Record<string, string> {
  const headers: Record<string, string> = {
    'content-length': String(contentLength),
    'content-type': 'text/csv',
  };
  if (upload.signedHeaders.has('content-md5')) {
    if (!md5Base64) {
      throw new UploadFailedError('The upload link requires Content-MD5 but no MD5 is known for the file', {
        retryWithNewLink: false,
      });
    }
    headers['content-md5'] = md5Base64;
  }
  return headers;
}

function connectionFailure(
  upload: PresignedUpload,
  error: Error,
  bytesSent: number,
  contentLength: number,
  bodyFlushed: boolean,
): Error {
  const code = (error as NodeJS.ErrnoException).code ?? error.name;
  if (bodyFlushed) {
    return new UploadUnconfirmedError(
      `The whole file was sent to ${upload.url.origin} but the connection failed before S3 answered (${code}); it may have been stored`,
      { cause: error },
    );
  }
  return new UploadFailedError(
    `The upload to ${upload.url.origin} broke after ${bytesSent} of ${contentLength} bytes (${code})`,
    { retryWithNewLink: true, cause: error },
  );
}

function rejection(upload: PresignedUpload, status: number, xml: string): UploadFailedError {
  const s3Code = /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];
  const s3Message = /<Message>([^<]*)<\/Message>/.exec(xml)?.[1] ?? '';
  const expired = status === 403 && /expired/i.test(s3Message);
  const detail = `HTTP ${status}${s3Code ? ` ${s3Code}` : ''}${s3Message ? `: ${s3Message.slice(0, 200)}` : ''}`;
  return new UploadFailedError(`The upload link at ${upload.url.origin} refused the file (${detail})`, {
    status,
    ...(s3Code ? { s3Code: expired ? 'ExpiredLink' : s3Code } : {}),
    // 501 (chunked, not implemented) would repeat; throttling and S3's own failures pass.
    retryWithNewLink: expired || RETRYABLE_STATUSES.has(status),
  });
}
