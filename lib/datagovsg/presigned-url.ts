import { UploadUrlNotAllowedError } from '../errors.js';
import { isLoopbackHost } from '../loopback.js';

/** A presigned S3 PUT URL that passed the allow list, with the headers it signed. */
export interface PresignedUpload {
  url: URL;
  signedHeaders: ReadonlySet<string>;
  /** Safe to log or report: the signature, token and credential are masked. */
  redacted: string;
}

/**
 * Masks the signature, security token and credential of a presigned URL (and of any URL in a
 * text), so that it can appear in logs, errors and reports.
 */
export function redactUrl(url: string): string {
  return url.replace(
    /([?&](?:X-Amz-Signature|X-Amz-Security-Token|X-Amz-Credential)=)[^&\s"']*/gi,
    '$1REDACTED',
  );
}

/**
 * Checks that a URL returned by data.gov.sg is an https URL on an allowed origin before anything
 * is sent to it. An allowed entry is `scheme://host[:port]`, optionally with a path prefix
 * ending in "/" (`https://s3…/attachments.data.gov.sg/`: that bucket only); `*.` matches one or
 * more leading host labels. Plain http is accepted only for loopback hosts (the local stand-in).
 */
export function parsePresignedUpload(raw: string, allowedOrigins: readonly string[]): PresignedUpload {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UploadUrlNotAllowedError('data.gov.sg returned an upload link that is not a valid URL.');
  }
  const redacted = redactUrl(url.toString());
  const loopback = isLoopbackHost(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new UploadUrlNotAllowedError(
      `Refusing to upload over ${url.protocol} to ${url.origin}: only https is allowed.`,
    );
  }
  if (url.username || url.password || !allowedOrigins.some((pattern) => originMatches(url, pattern))) {
    throw new UploadUrlNotAllowedError(
      `Refusing to upload to ${url.origin}${firstSegment(url)}: it is not on the allowed list (UPLOAD_ALLOWED_ORIGINS: ${allowedOrigins.join(', ')}).`,
    );
  }
  return { url, signedHeaders: signedHeadersOf(url), redacted };
}

function originMatches(url: URL, pattern: string): boolean {
  const match = /^(https?):\/\/(\*\.)?([^/:]+)(?::(\d+))?(\/.*)?$/.exec(pattern.trim());
  if (!match) return false;
  const [, scheme = '', wildcard, host = '', port, pathPrefix = '/'] = match;
  if (url.protocol !== `${scheme.toLowerCase()}:`) return false;
  if ((url.port || defaultPort(url.protocol)) !== (port ?? defaultPort(url.protocol))) return false;
  const hostname = url.hostname.toLowerCase();
  const lowerHost = host.toLowerCase();
  const hostMatches = wildcard ? hostname.endsWith(`.${lowerHost}`) : hostname === lowerHost;
  // URL has already resolved "." and ".." segments (%2e too), so a prefix cannot be walked out of.
  return hostMatches && url.pathname.startsWith(pathPrefix);
}

/** The path's first segment (a path-style bucket), to say where a refused link pointed. */
function firstSegment(url: URL): string {
  return /^\/[^/]*\//.exec(url.pathname)?.[0] ?? '';
}

function defaultPort(protocol: string): string {
  return protocol === 'https:' ? '443' : '80';
}

function signedHeadersOf(url: URL): ReadonlySet<string> {
  for (const [name, value] of url.searchParams) {
    if (name.toLowerCase() === 'x-amz-signedheaders') {
      return new Set(
        value
          .toLowerCase()
          .split(';')
          .map((header) => header.trim())
          .filter(Boolean),
      );
    }
  }
  return new Set(['host']);
}
