import { isLoopbackUrl } from '../loopback.js';
import { dataGovSgIsLocal } from './common.js';
import { CliError, EXIT } from './exit.js';
import { findLocalRun } from './local-run.js';
import type { Output } from './output.js';

/** Where a command finds the drop bucket: its name, and an S3 endpoint for a local one. */
export interface BucketLocation {
  bucket: string;
  endpoint: string | undefined;
  /** Found from the running npm start, not named by the user. */
  local?: boolean;
  /**
   * The pipeline behind the bucket publishes to the local data.gov.sg stand-in, whose sample
   * aliases it knows: the running npm start says so, or the stand-in is configured here, or the
   * bucket is a local one named by the user.
   */
  sampleAliases: boolean;
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
  if (named) {
    const sampleAliases = dataGovSgIsLocal() || isLoopbackUrl(options.endpoint);
    return { bucket: named, endpoint: options.endpoint, sampleAliases };
  }
  const local = findLocalRun();
  if (!local) return undefined;
  // On stderr: stdout is the command's own output, which may be read by a script.
  out.warn(`Using the local run started by npm start: s3://${local.bucket} at ${local.s3Endpoint}.`);
  return {
    bucket: local.bucket,
    endpoint: options.endpoint ?? local.s3Endpoint,
    local: true,
    sampleAliases: dataGovSgIsLocal() || local.dataGovSgIsLocal,
  };
}
