import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type Exchange, headersWithoutSecrets, randomHex, reply, singleHeader } from './http.js';
import type { LinkRegistry, PresignedLink } from './presigned-links.js';
import type { ReceivedUpload } from './types.js';

const MAX_SINGLE_PUT_BYTES = 5 * 1024 ** 3;
// The content type the platform would sign when it signs one (the guide tells uploaders to send it).
const SIGNED_CONTENT_TYPE = 'text/csv';

export interface S3Error {
  status: number;
  code: string;
  message: string;
  details?: Record<string, string>;
}

export interface PutTarget {
  links: LinkRegistry;
  storageDir: string;
  now(): number;
  /** Called once the body is stored and every check passed, before the 200 is sent. */
  accept(upload: ReceivedUpload): void;
}

interface AcceptedPreflight {
  link: PresignedLink;
  contentLength: number;
  contentMd5: string | undefined;
}

interface StoredBody {
  partPath: string;
  bytes: number;
  md5: Buffer;
}

export async function handlePresignedPut(exchange: Exchange, target: PutTarget): Promise<void> {
  const preflight = checkBeforeBody(exchange, target);
  if ('code' in preflight) {
    exchange.req.resume();
    replyS3Error(exchange, preflight);
    return;
  }
  const stored = await storeBody(exchange, target.storageDir, preflight.link.datasetId);
  if (!stored) return;
  const failure = checkAfterBody(preflight, stored);
  if (failure) {
    await rm(stored.partPath, { force: true });
    replyS3Error(exchange, failure);
    return;
  }
  preflight.link.used = true;
  const upload = await recordUpload(exchange, target, preflight.link, stored);
  target.accept(upload);
  reply(exchange, 200, '', {
    ...s3Headers(),
    etag: `"${upload.md5Hex}"`,
    'x-amz-server-side-encryption': 'AES256',
  });
}

export function replyS3Error(exchange: Exchange, error: S3Error, headers: Record<string, string> = {}): void {
  reply(exchange, error.status, s3ErrorXml(error), {
    ...s3Headers(),
    'content-type': 'application/xml',
    ...headers,
  });
}

export function s3ErrorXml(error: S3Error): string {
  const details = Object.entries(error.details ?? {})
    .map(([name, value]) => `<${name}>${escapeXml(value)}</${name}>`)
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${error.code}</Code><Message>${escapeXml(error.message)}</Message>${details}` +
    `<RequestId>${randomHex(8).toUpperCase()}</RequestId><HostId>${randomBytes(48).toString('base64')}</HostId></Error>`
  );
}

function checkBeforeBody(exchange: Exchange, target: PutTarget): S3Error | AcceptedPreflight {
  const { req, url } = exchange;
  if (req.method !== 'PUT') return methodNotAllowed(req.method ?? '');
  if (/\bchunked\b/i.test(singleHeader(req, 'transfer-encoding') ?? '')) return chunkedNotImplemented();
  const contentLengthHeader = singleHeader(req, 'content-length');
  if (contentLengthHeader === undefined) return missingContentLength();
  const link = target.links.match(url);
  if (!link) return signatureDoesNotMatch();
  if (target.now() > link.expiresAt) return requestExpired(link, target.now());
  const headerFailure = checkHeaders(exchange, link);
  if (headerFailure) return headerFailure;
  const contentLength = Number(contentLengthHeader);
  if (contentLength > MAX_SINGLE_PUT_BYTES) return entityTooLarge(contentLength);
  if (link.used) return accessDenied('Access Denied');
  return { link, contentLength, contentMd5: singleHeader(req, 'content-md5') };
}

function checkHeaders(exchange: Exchange, link: PresignedLink): S3Error | undefined {
  const { req } = exchange;
  const missing = link.signedHeaders.filter((name) => singleHeader(req, name) === undefined);
  if (missing.length > 0) return signatureDoesNotMatch();
  if (
    link.signedHeaders.includes('content-type') &&
    singleHeader(req, 'content-type') !== SIGNED_CONTENT_TYPE
  ) {
    return signatureDoesNotMatch();
  }
  const contentMd5 = singleHeader(req, 'content-md5');
  if (link.signedHeaders.includes('content-md5') && link.md5 !== undefined && contentMd5 !== link.md5) {
    return signatureDoesNotMatch();
  }
  const unsigned = Object.keys(req.headers).filter(
    (name) => (name === 'content-md5' || name.startsWith('x-amz-')) && !link.signedHeaders.includes(name),
  );
  if (unsigned.length > 0) return headersNotSigned(unsigned);
  if (contentMd5 !== undefined && !isMd5Base64(contentMd5)) return invalidDigest(contentMd5);
  if (link.md5 !== undefined && !isMd5Base64(link.md5)) return invalidDigest(link.md5);
  return undefined;
}

function checkAfterBody(preflight: AcceptedPreflight, stored: StoredBody): S3Error | undefined {
  const calculated = stored.md5.toString('base64');
  for (const expected of [preflight.contentMd5, preflight.link.md5]) {
    if (expected !== undefined && expected !== calculated) return badDigest(expected, calculated);
  }
  if (preflight.link.used) return accessDenied('Access Denied');
  return undefined;
}

/** Streams the body to disk while hashing it; undefined when the client went away before the end. */
async function storeBody(
  exchange: Exchange,
  storageDir: string,
  datasetId: string,
): Promise<StoredBody | undefined> {
  const directory = join(storageDir, datasetId);
  await mkdir(directory, { recursive: true });
  const partPath = join(directory, `upload-${randomHex(8)}.part`);
  const hash = createHash('md5');
  let bytes = 0;
  try {
    await pipeline(
      exchange.req,
      async function* hashing(source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          hash.update(chunk);
          bytes += chunk.length;
          yield chunk;
        }
      },
      createWriteStream(partPath),
    );
  } catch {
    await rm(partPath, { force: true });
    return undefined;
  }
  if (!exchange.req.complete) {
    await rm(partPath, { force: true });
    return undefined;
  }
  return { partPath, bytes, md5: hash.digest() };
}

async function recordUpload(
  exchange: Exchange,
  target: PutTarget,
  link: PresignedLink,
  stored: StoredBody,
): Promise<ReceivedUpload> {
  const path = stored.partPath.replace(/\.part$/, `-${link.mode}.csv`);
  await rename(stored.partPath, path);
  return {
    datasetId: link.datasetId,
    mode: link.mode,
    bytes: stored.bytes,
    md5Base64: stored.md5.toString('base64'),
    md5Hex: stored.md5.toString('hex'),
    contentType: singleHeader(exchange.req, 'content-type'),
    receivedAt: target.now(),
    path,
    headers: headersWithoutSecrets(exchange.req),
    fate: 'pending',
    arrivedDuring: null,
  };
}

function isMd5Base64(value: string): boolean {
  return /^[A-Za-z0-9+/]{22}==$/.test(value);
}

function s3Headers(): Record<string, string> {
  return {
    server: 'AmazonS3',
    'x-amz-request-id': randomHex(8).toUpperCase(),
    'x-amz-id-2': randomBytes(48).toString('base64'),
  };
}

function escapeXml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function methodNotAllowed(method: string): S3Error {
  return {
    status: 405,
    code: 'MethodNotAllowed',
    message: 'The specified method is not allowed against this resource.',
    details: { Method: method, ResourceType: 'OBJECT' },
  };
}

function chunkedNotImplemented(): S3Error {
  return {
    status: 501,
    code: 'NotImplemented',
    message: 'A header you provided implies functionality that is not implemented',
    details: { Header: 'Transfer-Encoding' },
  };
}

function missingContentLength(): S3Error {
  return {
    status: 411,
    code: 'MissingContentLength',
    message: 'You must provide the Content-Length HTTP header.',
  };
}

function signatureDoesNotMatch(): S3Error {
  return {
    status: 403,
    code: 'SignatureDoesNotMatch',
    message:
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  };
}

function requestExpired(link: PresignedLink, now: number): S3Error {
  return {
    status: 403,
    code: 'AccessDenied',
    message: 'Request has expired',
    details: {
      'X-Amz-Expires': link.params.get('X-Amz-Expires') ?? '',
      Expires: new Date(link.expiresAt).toISOString(),
      ServerTime: new Date(now).toISOString(),
    },
  };
}

function headersNotSigned(names: string[]): S3Error {
  return {
    status: 403,
    code: 'AccessDenied',
    message: 'There were headers present in the request which were not signed',
    details: { HeadersNotSigned: names.join(', ') },
  };
}

function accessDenied(message: string): S3Error {
  return { status: 403, code: 'AccessDenied', message };
}

function invalidDigest(value: string): S3Error {
  return {
    status: 400,
    code: 'InvalidDigest',
    message: 'The Content-MD5 you specified was invalid.',
    details: { 'Content-MD5': value },
  };
}

function badDigest(expected: string, calculated: string): S3Error {
  return {
    status: 400,
    code: 'BadDigest',
    message: 'The Content-MD5 you specified did not match what we received.',
    details: { ExpectedDigest: expected, CalculatedDigest: calculated },
  };
}

function entityTooLarge(size: number): S3Error {
  return {
    status: 400,
    code: 'EntityTooLarge',
    message: 'Your proposed upload exceeds the maximum allowed size',
    details: { ProposedSize: String(size), MaxSizeAllowed: String(MAX_SINGLE_PUT_BYTES) },
  };
}
