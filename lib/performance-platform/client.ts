import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { toError } from '../errors.js';
import { backoffDelayMs, realSleep, type Sleep } from '../retry.js';
import { MAX_INFLATED_BODY_BYTES } from './chunks.js';

/** Bodies longer than this are gzipped unless told otherwise, as the Python client did. */
export const DEFAULT_GZIP_ABOVE_BYTES = 2048;

export interface PpRetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** No attempt starts that could end (by its timeout) later than this after the first began. */
  totalTimeMs: number;
}

export interface PpClientOptions {
  /** Where `/data/<group>/<type>` lives, e.g. `https://www.performance.service.gov.uk`. */
  baseUrl: string;
  /** The data set's bearer token, asked for once per logical request; never logged or returned. */
  token: (dataGroup: string, dataType: string) => Promise<string>;
  /** Per attempt, covering the answer's body too. */
  timeoutMs: number;
  retry: PpRetryPolicy;
  /** Bodies longer than this many bytes are sent gzipped (default 2048). */
  gzipAboveBytes?: number;
  fetch?: typeof fetch;
  sleep?: Sleep;
  /** The `Govuk-Request-Id` of each logical request (default: a random UUID). */
  requestId?: () => string;
  now?: () => number;
}

export type SendFailureKind =
  | 'unauthorised'
  | 'validation'
  | 'not-found'
  | 'too-large'
  | 'http'
  | 'connection'
  | 'timeout';

/**
 * The closed set of answers to one logical request (all its attempts). `messages` are the
 * service's own (both error shapes, or the text of an HTML page), with the token redacted.
 */
export type SendOutcome =
  | { ok: true; status: number; attempts: number; requestId: string }
  | {
      ok: false;
      kind: SendFailureKind;
      status?: number;
      messages: string[];
      attempts: number;
      requestId: string;
    };

type SendFailure = Extract<SendOutcome, { ok: false }>;
type AttemptResult = { ok: true; status: number } | Omit<SendFailure, 'attempts' | 'requestId'>;

const MAX_MESSAGES = 1000;
const MAX_MESSAGE_CHARS = 1000;
const REDACTED = '[redacted]';

/**
 * A client of the backdrop write API (the Performance Platform's): POST records to
 * `/data/<group>/<type>`, PUT `[]` to empty a data set.
 *
 * Retries 5xx, 429, timeouts and connection errors with full-jitter exponential backoff within
 * both `maxAttempts` and `totalTimeMs`; never retries 400, 401, 403, 404, 413 or other 4xx,
 * which would only repeat (backdropsend retried everything, the Python client only
 * 500/502/503). A retried POST is only idempotent when every record has an `_id`. Every
 * attempt of one call carries the same `Govuk-Request-Id`, so server logs line up.
 *
 * Never throws for what the service or the network does: every such case is a SendOutcome.
 * Throws only what `token` throws. Holds no state between calls.
 */
export class PerformancePlatformClient {
  readonly #options: PpClientOptions;
  readonly #fetch: typeof fetch;
  readonly #sleep: Sleep;
  readonly #now: () => number;
  readonly #requestId: () => string;
  readonly #gzipAboveBytes: number;

  constructor(options: PpClientOptions) {
    this.#options = { ...options, baseUrl: options.baseUrl.replace(/\/+$/, '') };
    this.#fetch = options.fetch ?? fetch;
    this.#sleep = options.sleep ?? realSleep;
    this.#now = options.now ?? Date.now;
    this.#requestId = options.requestId ?? randomUUID;
    this.#gzipAboveBytes = options.gzipAboveBytes ?? DEFAULT_GZIP_ABOVE_BYTES;
  }

  /**
   * Stores records: `body` is their JSON, already encoded (an array, or one object). A body
   * over 10 485 760 bytes is refused as 'too-large' without being sent: chunk it first.
   */
  async post(
    dataGroup: string,
    dataType: string,
    body: string,
    { deadline }: { deadline?: number } = {},
  ): Promise<SendOutcome> {
    return this.#send('POST', dataGroup, dataType, body, deadline);
  }

  /** Empties the data set (PUT `[]`, the only body backdrop accepts there). */
  async empty(
    dataGroup: string,
    dataType: string,
    { deadline }: { deadline?: number } = {},
  ): Promise<SendOutcome> {
    return this.#send('PUT', dataGroup, dataType, '[]', deadline);
  }

  async #send(
    method: 'POST' | 'PUT',
    dataGroup: string,
    dataType: string,
    body: string,
    deadline?: number,
  ): Promise<SendOutcome> {
    const requestId = this.#requestId();
    const bytes = Buffer.byteLength(body);
    if (bytes > MAX_INFLATED_BODY_BYTES) {
      return {
        ok: false,
        kind: 'too-large',
        messages: [
          `The body is ${bytes} bytes; the Performance Platform accepts at most ${MAX_INFLATED_BODY_BYTES} per request. Send fewer records per request.`,
        ],
        attempts: 0,
        requestId,
      };
    }
    const token = await this.#options.token(dataGroup, dataType);
    if (!/^[\x21-\x7e]+$/.test(token)) {
      return {
        ok: false,
        kind: 'unauthorised',
        messages: [
          `The token for ${dataGroup}/${dataType} is empty or holds characters a bearer token cannot (spaces, control or non-ASCII characters)`,
        ],
        attempts: 0,
        requestId,
      };
    }
    const zipped = bytes > this.#gzipAboveBytes;
    // Synchronous on purpose: zlib's callback form builds a stream per call and, measured on
    // 1 000 bodies of 17 kB, costs 2.3 times the CPU (bench/README.md, section 5); a 10 MiB body
    // blocks the loop for about 90 ms, which the chunks in flight can wait.
    const payload = zipped ? gzipSync(body) : body;
    const url = `${this.#options.baseUrl}/data/${encodeURIComponent(dataGroup)}/${encodeURIComponent(dataType)}`;
    const headers: Record<string, string> = {
      accept: 'application/json',
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      'govuk-request-id': requestId,
      'user-agent': 'govpub',
      ...(zipped ? { 'content-encoding': 'gzip' } : {}),
    };
    const { retry, timeoutMs } = this.#options;
    const started = this.#now();
    // A deadline (a caller waiting on HTTP) shortens the retry budget; it never lengthens it.
    const totalTimeMs =
      deadline === undefined ? retry.totalTimeMs : Math.min(retry.totalTimeMs, deadline - started);
    for (let attempt = 1; ; attempt++) {
      const elapsed = this.#now() - started;
      const attemptTimeout = Math.max(1, Math.min(timeoutMs, totalTimeMs - elapsed));
      const result = redact(
        await this.#attempt(url, { method, headers, body: payload }, attemptTimeout),
        token,
      );
      if (result.ok) return { ...result, attempts: attempt, requestId };
      const failure: SendFailure = { ...result, attempts: attempt, requestId };
      if (!retryable(result) || attempt >= retry.maxAttempts) return failure;
      const delay = backoffDelayMs(attempt, retry);
      const afterDelay = this.#now() - started + delay;
      // Without a deadline an attempt must fit whole in the budget; with one, it may be shortened.
      if (deadline === undefined ? afterDelay + timeoutMs > totalTimeMs : afterDelay >= totalTimeMs) {
        return failure;
      }
      await this.#sleep(delay);
    }
  }

  async #attempt(
    url: string,
    init: { method: string; headers: Record<string, string>; body: string | Buffer },
    timeoutMs: number,
  ): Promise<AttemptResult> {
    let response: Response;
    let text: string;
    try {
      response = await this.#fetch(url, {
        ...init,
        redirect: 'error',
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      return networkFailure(error, timeoutMs);
    }
    if (response.ok) return { ok: true, status: response.status };
    const status = response.status;
    const messages = parseMessages(text);
    return {
      ok: false,
      kind: kindOf(status),
      status,
      messages: messages.length > 0 ? messages : [`The Performance Platform answered HTTP ${status}`],
    };
  }
}

function kindOf(status: number): SendFailureKind {
  if (status === 401 || status === 403) return 'unauthorised';
  if (status === 400) return 'validation';
  if (status === 404) return 'not-found';
  if (status === 413) return 'too-large';
  return 'http';
}

function retryable(failure: Omit<SendFailure, 'attempts' | 'requestId'>): boolean {
  if (failure.kind === 'connection' || failure.kind === 'timeout') return true;
  return (
    failure.kind === 'http' &&
    failure.status !== undefined &&
    (failure.status >= 500 || failure.status === 429)
  );
}

function networkFailure(error: unknown, timeoutMs: number): AttemptResult {
  const cause = toError(error);
  if (cause.name === 'TimeoutError' || cause.name === 'AbortError') {
    return {
      ok: false,
      kind: 'timeout',
      messages: [`The Performance Platform did not answer within ${timeoutMs} ms`],
    };
  }
  const inner = cause.cause as { code?: unknown; message?: unknown } | undefined;
  if (typeof inner?.message === 'string' && /redirect/i.test(inner.message)) {
    // A redirect would repeat on every attempt, and following one could send the token elsewhere.
    return {
      ok: false,
      kind: 'http',
      messages: [
        'The Performance Platform answered with a redirect, which is not followed: check the base URL',
      ],
    };
  }
  const code = typeof inner?.code === 'string' ? inner.code : cause.name;
  return {
    ok: false,
    kind: 'connection',
    messages: [`The Performance Platform could not be reached (${code})`],
  };
}

/**
 * The messages in an error body: `{"status":"error","message":…}`, `{"messages":[…]}` or
 * `{"messages":"…"}` (backdrop uses all three), or the text of a non-JSON body such as the 413
 * HTML page. Bounded in count and length.
 */
export function parseMessages(text: string): string[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  let body: unknown;
  try {
    body = JSON.parse(trimmed);
  } catch {
    return [clip(htmlToText(trimmed))].filter((message) => message !== '');
  }
  const found: unknown[] = [];
  if (isRecord(body)) {
    if (Array.isArray(body.messages)) found.push(...body.messages);
    else if (body.messages !== undefined && body.messages !== null) found.push(body.messages);
    if (body.message !== undefined && body.message !== null) found.push(body.message);
  } else if (typeof body === 'string') {
    found.push(body);
  }
  if (found.length === 0) return [clip(trimmed)];
  const messages = found
    .slice(0, MAX_MESSAGES)
    .map((message) => clip(typeof message === 'string' ? message : JSON.stringify(message)));
  if (found.length > MAX_MESSAGES) messages.push(`… and ${found.length - MAX_MESSAGES} more messages`);
  return messages;
}

function htmlToText(text: string): string {
  if (!/^<|<\/?[a-z][^>]*>/i.test(text)) return text;
  return text
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}

function clip(message: string): string {
  return message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS)}…` : message;
}

/** Backdrop echoes a refused token in its 401 message; it must not travel further. */
function redact(result: AttemptResult, token: string): AttemptResult {
  if (result.ok || token === '') return result;
  return { ...result, messages: result.messages.map((message) => message.split(token).join(REDACTED)) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
