import { randomBytes } from 'node:crypto';
import { randomHex } from './http.js';
import type { SignableHeader, UploadMode } from './types.js';

export const UPLOAD_PATH_PREFIX = '/attachments.data.gov.sg/';
const REGION = 'ap-southeast-1';

export interface PresignedLink {
  datasetId: string;
  mode: UploadMode;
  /** base64 md5 given to append-link, if any */
  md5: string | undefined;
  pathname: string;
  signature: string;
  /** every query parameter except X-Amz-Signature, as issued */
  params: ReadonlyMap<string, string>;
  signedHeaders: readonly string[];
  expiresAt: number;
  used: boolean;
}

export interface LinkRequest {
  origin: string;
  datasetId: string;
  mode: UploadMode;
  md5: string | undefined;
  ttlSeconds: number;
  signedHeaders: readonly SignableHeader[];
  now: number;
}

/** Issues S3-looking presigned PUT urls and remembers what each one allows. */
export class LinkRegistry {
  readonly #bySignature = new Map<string, PresignedLink>();

  issue(request: LinkRequest): string {
    const issuedAt = Math.floor(request.now / 1000) * 1000;
    const signedHeaders = normaliseSignedHeaders(request.signedHeaders);
    const pathname = linkPath(request.datasetId);
    const signature = randomHex(32);
    const params = new Map<string, string>([
      ['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'],
      ['X-Amz-Content-Sha256', 'UNSIGNED-PAYLOAD'],
      [
        'X-Amz-Credential',
        `ASIA${randomAccessKeySuffix()}/${amzDate(issuedAt).slice(0, 8)}/${REGION}/s3/aws4_request`,
      ],
      ['X-Amz-Date', amzDate(issuedAt)],
      ['X-Amz-Expires', String(request.ttlSeconds)],
      ['X-Amz-Security-Token', randomBytes(240).toString('base64')],
      ['X-Amz-SignedHeaders', signedHeaders.join(';')],
      ['x-id', 'PutObject'],
    ]);
    this.#bySignature.set(signature, {
      datasetId: request.datasetId,
      mode: request.mode,
      md5: request.md5,
      pathname,
      signature,
      params,
      signedHeaders,
      expiresAt: issuedAt + request.ttlSeconds * 1000,
      used: false,
    });
    return `${request.origin}${pathname}?${buildQuery(params, signature)}`;
  }

  /** The link a request url was issued as, or undefined when its path or any parameter differs. */
  match(url: URL): PresignedLink | undefined {
    const link = this.#bySignature.get(url.searchParams.get('X-Amz-Signature') ?? '');
    if (!link || link.pathname !== url.pathname) return undefined;
    return sameParams(url.searchParams, link.params) ? link : undefined;
  }
}

function linkPath(datasetId: string): string {
  const folder = randomBytes(12).toString('base64url');
  return `${UPLOAD_PATH_PREFIX}c/6047/private/${datasetId}/${folder}/${datasetId}.csv`;
}

function normaliseSignedHeaders(headers: readonly SignableHeader[]): string[] {
  return [...new Set<string>(['host', ...headers])].sort();
}

// Parameter order follows the real presigned urls in the official guide.
function buildQuery(params: ReadonlyMap<string, string>, signature: string): string {
  const ordered: Array<[string, string]> = [];
  for (const [name, value] of params) {
    if (name === 'X-Amz-SignedHeaders') ordered.push(['X-Amz-Signature', signature]);
    ordered.push([name, value]);
  }
  return ordered.map(([name, value]) => `${name}=${encodeRfc3986(value)}`).join('&');
}

function sameParams(actual: URLSearchParams, issued: ReadonlyMap<string, string>): boolean {
  const names = [...actual.keys()].filter((name) => name !== 'X-Amz-Signature');
  if (names.length !== issued.size) return false;
  return names.every((name) => actual.getAll(name).length === 1 && actual.get(name) === issued.get(name));
}

function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

export function amzDate(ms: number): string {
  return `${new Date(ms).toISOString().replace(/[-:]/g, '').slice(0, 15)}Z`;
}

function randomAccessKeySuffix(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  return [...randomBytes(16)].map((byte) => alphabet[byte % alphabet.length]).join('');
}
