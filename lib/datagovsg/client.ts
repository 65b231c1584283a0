import { DgsAuthError, DgsNotFoundError, DgsResponseError, DgsTransientError, toError } from '../errors.js';
import { type BackoffPolicy, type Sleep, withRetries } from '../retry.js';
import * as z from '../zod.js';
import { type PresignedUpload, parsePresignedUpload } from './presigned-url.js';
import { type IngestionStatus, normalizeStatus } from './status.js';

export interface DataGovSgClientOptions {
  baseUrl: string;
  /** Called per request so a rotated key is picked up; the value is never logged. */
  apiKey: () => Promise<string>;
  allowedUploadOrigins: readonly string[];
  timeoutMs: number;
  retry: BackoffPolicy;
  fetch?: typeof fetch;
  sleep?: Sleep;
}

export interface DatasetColumn {
  name: string;
  title: string;
  dataType: string;
  index: number;
}

export interface DatasetMetadata {
  datasetId: string;
  name: string | undefined;
  columns: DatasetColumn[];
}

const urlPayload = z.object({ url: z.string() });
const whoamiPayload = z.object({
  user: z.object({
    userId: z.pipe(z.union([z.string(), z.number()]), z.transform(String)),
    email: z.optional(z.string()),
  }),
});
const statusPayload = z.object({
  status: z.string(),
  version: z.nullish(z.number()),
  updatedAt: z.nullish(z.union([z.number(), z.string()])),
  failures: z.optional(z.unknown()),
});
const metadataPayload = z.object({
  name: z.optional(z.string()),
  columnMetadata: z.object({
    order: z.optional(z.array(z.string())),
    metaMapping: z.record(
      z.string(),
      z.object({
        name: z.string(),
        columnTitle: z.optional(z.string()),
        dataType: z.optional(z.string()),
        index: z.optional(z.union([z.number(), z.string()])),
      }),
    ),
  }),
});

const INTERNAL_COLUMNS = new Set(['_id', '_full_text']);
const REDACTED = '[redacted]';
const MIN_REDACTED_KEY_LENGTH = 8;

/**
 * The data.gov.sg Write API (and the public metadata endpoint). Both envelope shapes are read:
 * bare objects as in the guide, and `{code, data, errorMsg}` as the platform's own code uses.
 * Errors are typed; only DgsTransientError is retried, with backoff and jitter.
 */
export class DataGovSgClient {
  readonly #options: DataGovSgClientOptions;
  readonly #fetch: typeof fetch;
  /** The keys this client has sent (more than one across a rotation): redacted from every answer. */
  readonly #keysSent = new Set<string>();

  constructor(options: DataGovSgClientOptions) {
    this.#options = { ...options, baseUrl: options.baseUrl.replace(/\/+$/, '') };
    this.#fetch = options.fetch ?? fetch;
  }

  /** Checks the key (the guide's step 2). */
  async whoami(): Promise<{ userId: string; email: string | undefined }> {
    const payload = await this.#call('whoami', '/v2/admin/api/auth/whoami', { admin: true });
    const { user } = parseWith(whoamiPayload, payload, 'whoami');
    return { userId: user.userId, email: user.email };
  }

  /** A presigned PUT URL that replaces the whole dataset. */
  async uploadLink(datasetId: string): Promise<PresignedUpload> {
    const payload = await this.#call('upload-link', `/v2/admin/api/datasets/${datasetId}/upload-link`, {
      admin: true,
    });
    return parsePresignedUpload(
      parseWith(urlPayload, payload, 'upload-link').url,
      this.#options.allowedUploadOrigins,
    );
  }

  /** A presigned PUT URL that appends rows; `md5Base64` lets S3 check the body. */
  async appendLink(datasetId: string, md5Base64?: string): Promise<PresignedUpload> {
    const query = md5Base64 ? `?md5=${encodeURIComponent(md5Base64)}` : '';
    const payload = await this.#call(
      'append-link',
      `/v2/admin/api/datasets/${datasetId}/append-link${query}`,
      {
        admin: true,
      },
    );
    return parsePresignedUpload(
      parseWith(urlPayload, payload, 'append-link').url,
      this.#options.allowedUploadOrigins,
    );
  }

  async ingestionStatus(datasetId: string): Promise<IngestionStatus> {
    const payload = await this.#call(
      'ingestion-status',
      `/v2/admin/api/datasets/${datasetId}/ingestion-status`,
      {
        admin: true,
      },
    );
    const parsed = parseWith(statusPayload, payload, 'ingestion-status');
    return {
      status: normalizeStatus(parsed.status),
      rawStatus: parsed.status,
      version: parsed.version ?? null,
      updatedAt: toEpochMs(parsed.updatedAt),
      failures: parsed.failures ?? null,
    };
  }

  /** Column metadata from the public API (no key), internal columns dropped, in column order. */
  async metadata(datasetId: string): Promise<DatasetMetadata> {
    const payload = await this.#call('metadata', `/v2/public/api/datasets/${datasetId}/metadata`, {
      admin: false,
    });
    return metadataFromPayload(datasetId, payload);
  }

  async #call(endpoint: string, path: string, { admin }: { admin: boolean }): Promise<unknown> {
    return withRetries(() => this.#once(endpoint, path, admin), {
      policy: this.#options.retry,
      shouldRetry: (error) => error instanceof DgsTransientError,
      ...(this.#options.sleep ? { sleep: this.#options.sleep } : {}),
    });
  }

  /**
   * Removes the API key from a text that came from outside (an answer, an error, a URL), as
   * data.gov.sg or S3 may echo a request: such texts reach reports, events and logs.
   */
  redact(text: string): string {
    let redacted = text;
    for (const key of this.#keysSent) {
      // A string this short would match ordinary text (and break URLs); real keys are far longer.
      if (key.length < MIN_REDACTED_KEY_LENGTH) continue;
      redacted = redacted.split(key).join(REDACTED).split(JSON.stringify(key).slice(1, -1)).join(REDACTED);
    }
    return redacted;
  }

  async #once(endpoint: string, path: string, admin: boolean): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (admin) {
      const key = await this.#options.apiKey();
      if (!this.#keysSent.has(key)) {
        // Bounded: a long-lived warm container sees few rotations, but never let this grow.
        if (this.#keysSent.size >= 8) this.#keysSent.clear();
        this.#keysSent.add(key);
      }
      headers['x-dgs-admin-api-key'] = key;
    }
    let response: Response;
    let text: string;
    try {
      response = await this.#fetch(`${this.#options.baseUrl}${path}`, {
        headers,
        redirect: 'error',
        signal: AbortSignal.timeout(this.#options.timeoutMs),
      });
      text = this.redact(await response.text());
    } catch (error) {
      throw networkError(endpoint, error, this.#options.timeoutMs);
    }
    const body = parseJson(text);
    if (!response.ok) throw httpError(endpoint, response.status, body);
    return unwrapEnvelope(endpoint, body);
  }
}

function networkError(endpoint: string, error: unknown, timeoutMs: number): DgsTransientError {
  const cause = toError(error);
  if (cause.name === 'TimeoutError' || cause.name === 'AbortError') {
    return new DgsTransientError('timeout', `data.gov.sg ${endpoint} did not answer within ${timeoutMs} ms`, {
      cause,
    });
  }
  const code = (cause.cause as { code?: string } | undefined)?.code ?? cause.name;
  return new DgsTransientError('network', `data.gov.sg ${endpoint} could not be reached (${code})`, {
    cause,
  });
}

function httpError(endpoint: string, status: number, body: unknown): Error {
  const detail = errorDetail(body);
  const suffix = detail ? `: ${detail}` : '';
  if (status === 401 || status === 403) {
    return new DgsAuthError(
      `data.gov.sg refused the API key on ${endpoint} (HTTP ${status})${suffix}. Check the key is the current one for this environment (staging and production keys differ), not expired, and belongs to an admin of the dataset; regenerate it in the admin dashboard if needed.`,
    );
  }
  if (status === 404) {
    return new DgsNotFoundError(
      `data.gov.sg does not know this dataset, or this key may not manage it (${endpoint}, HTTP 404)${suffix}. Check the datasetId in the dataset's URL, and that the dataset exists, has data and is published.`,
    );
  }
  if (status === 429) {
    return new DgsTransientError('rate-limited', `data.gov.sg rate-limited ${endpoint} (HTTP 429)${suffix}`, {
      status,
    });
  }
  if (status === 409 || status === 423) {
    return new DgsTransientError(
      'busy',
      `data.gov.sg says the dataset is busy (${endpoint}, HTTP ${status})${suffix}`,
      {
        status,
      },
    );
  }
  if (status >= 500) {
    return new DgsTransientError('server', `data.gov.sg failed on ${endpoint} (HTTP ${status})${suffix}`, {
      status,
    });
  }
  return new DgsResponseError(`data.gov.sg rejected ${endpoint} (HTTP ${status})${suffix}`);
}

/**
 * A dataset's columns from what the public metadata endpoint answers (its envelope already
 * removed), internal columns dropped, in column order. Also reads a saved copy of that answer.
 */
export function metadataFromPayload(datasetId: string, payload: unknown): DatasetMetadata {
  const parsed = parseWith(metadataPayload, payload, 'metadata');
  const { order, metaMapping } = parsed.columnMetadata;
  const ids = order ?? Object.keys(metaMapping);
  const columns = ids
    .flatMap((id, position) => {
      const column = metaMapping[id];
      if (!column || INTERNAL_COLUMNS.has(column.name)) return [];
      return [
        {
          name: column.name,
          title: column.columnTitle ?? column.name,
          dataType: (column.dataType ?? 'UNKNOWN').toUpperCase(),
          index: Number(column.index ?? position),
        },
      ];
    })
    .sort((a, b) => a.index - b.index);
  return { datasetId, name: parsed.name, columns };
}

/** What an endpoint answered inside data.gov.sg's `{code, data}` envelope, if it has one. */
export function unwrapEnvelope(endpoint: string, body: unknown): unknown {
  if (!isRecord(body))
    throw new DgsResponseError(`data.gov.sg answered ${endpoint} with something that is not JSON`);
  if ('code' in body && body.code !== undefined && body.code !== 0 && body.code !== '0') {
    const message = `data.gov.sg answered ${endpoint} with code ${String(body.code)}: ${errorDetail(body) || 'no message'}`;
    if (endpoint === 'metadata') throw new DgsNotFoundError(message);
    throw new DgsResponseError(message);
  }
  return 'data' in body && body.data !== undefined && body.data !== null ? body.data : body;
}

function parseWith<S extends z.ZodMiniType>(schema: S, payload: unknown, endpoint: string): z.output<S> {
  const parsed = schema.safeParse(payload);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ');
    throw new DgsResponseError(`data.gov.sg answered ${endpoint} without the expected fields (${fields})`);
  }
  return parsed.data;
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

/** A short, printable reason from an error body; never echoes more than 200 characters. */
function errorDetail(body: unknown): string {
  if (!isRecord(body)) return '';
  const candidate = body.errorMsg ?? body.message ?? body.error;
  const text =
    typeof candidate === 'string' ? candidate : candidate === undefined ? '' : JSON.stringify(candidate);
  return text.slice(0, 200);
}

function toEpochMs(value: number | string | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return value;
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? null : parsed;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
