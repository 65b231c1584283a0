import { CliError, EXIT } from './exit.js';
import { findLocalRun } from './local-run.js';
import type { Output } from './output.js';

/** Where a command finds the drop bucket: its name, and an S3 endpoint for a local one. */
export interface BucketLocation {
  bucket: string;
  endpoint: string | undefined;
  /** Found from the running npm start, not named by the user. */
  local?: boolean;
}

/**
 * `--bucket`, else DROP_BUCKET, else the running `npm start` (its bucket and s3rver endpoint), so
 * that a first try on a laptop needs no setting; told on stderr when the local run is used.
 */
export function resolveBucket(
  out: Output,
  options: { bucket?: string; endpoint?: string },
  dropBucket: string | undefined,
): BucketLocation {
  const found = findBucket(out, options, dropBucket);
  if (found) return found;
  throw new CliError(
    EXIT.usage,
    'Say which bucket: --bucket or DROP_BUCKET (or start the local run: npm start).',
  );
}

/** As resolveBucket, for commands that also work without a bucket (`status`). */
export function findBucket(
  out: Output,
  options: { bucket?: string; endpoint?: string },
  dropBucket: string | undefined,
): BucketLocation | undefined {
  const named = options.bucket ?? dropBucket;
  if (named) return { bucket: named, endpoint: options.endpoint };
  const local = findLocalRun();
  if (!local) return undefined;
  out.info(`Using the local run started by npm start: s3://${local.bucket} at ${local.s3Endpoint}.`);
  return { bucket: local.bucket, endpoint: options.endpoint ?? local.s3Endpoint, local: true };
}
