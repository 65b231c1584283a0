import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { createS3Client } from '../aws-clients/s3.js';
import type { Output } from './output.js';

/**
 * The CLI's S3 client: with `endpoint` (the local run's s3rver), path-style requests and s3rver's
 * keys; otherwise the default AWS credential chain and AWS_REGION. The SDK's own log lines go
 * where lib/'s go (--debug).
 */
export function cliS3Client(out: Output, endpoint: string | undefined): S3Client {
  quietNodeAdvisory(out);
  return createS3Client({ ...s3Config(endpoint), logger: sdkLogger(out) });
}

/**
 * The SDK's advisory about Node 20, not about the command (README: supported Node versions);
 * --debug shows it. Called before any SDK client of the CLI is created.
 */
export function quietNodeAdvisory(out: Pick<Output, 'debug'>): void {
  if (!out.debug) process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

/** The SDK warns on the console unless given a logger. */
function sdkLogger(out: Output) {
  const { log } = out;
  const line =
    (write: (message: string) => void) =>
    (...content: unknown[]) =>
      write(content.map(String).join(' '));
  return {
    debug: line((message) => log.debug(message)),
    info: line((message) => log.info(message)),
    warn: line((message) => log.warn(message)),
    error: line((message) => log.error(message)),
  };
}

function s3Config(endpoint: string | undefined): S3ClientConfig {
  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!endpoint) return { followRegionRedirects: true, ...(region ? { region } : {}) };
  return {
    endpoint,
    region: region ?? 'ap-southeast-1',
    forcePathStyle: true,
    // s3rver accepts only its own keys.
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  };
}
