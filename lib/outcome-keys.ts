import { createHash } from 'node:crypto';
import { INCOMING_PREFIX } from './drop-key.js';

/**
 * Where a dropped file ends: `processed/` (published or forwarded), `failed/` (nothing was
 * published: fix and drop again), `unconfirmed/` (sent, but its outcome could not be confirmed).
 */
export const OUTCOMES = ['processed', 'failed', 'unconfirmed'] as const;
export type Outcome = (typeof OUTCOMES)[number];
export const OUTCOME_PREFIX: Readonly<Record<Outcome, string>> = {
  processed: 'processed/',
  failed: 'failed/',
  unconfirmed: 'unconfirmed/',
};
export const REPORT_SUFFIX = '.report.json';

/** The version of a dropped file that an outcome is filed for. */
export interface FiledVersion {
  /** The object's LastModified. */
  droppedAt: Date | string;
  etag: string;
}

/** S3's key limit. */
const MAX_KEY_BYTES = 1024;
const EXTENSION = /\.[A-Za-z0-9]{1,10}$/;
/** `20261205T214607Z-3f2a9c1b`, as versionStamp writes it. */
const STAMP = '\\d{8}T\\d{6}Z-[0-9a-z]{8}';
const STAMP_LENGTH_SAMPLE = '20261205T214607Z-3f2a9c1b';

/**
 * What tells two drops at one key apart, in the order they were dropped: the drop time to the
 * second (all S3 keeps) and the start of the ETag. Both are fixed for a version, so a retried
 * filing computes the same key.
 */
export function versionStamp(version: FiledVersion): string {
  const at = new Date(version.droppedAt).toISOString();
  const time = `${at.slice(0, 4)}${at.slice(5, 7)}${at.slice(8, 10)}T${at.slice(11, 13)}${at.slice(14, 16)}${at.slice(17, 19)}Z`;
  const etag = version.etag.toLowerCase().replace(/[^0-9a-z]/g, '');
  return `${time}-${etag.padEnd(8, '0').slice(0, 8)}`;
}

/**
 * The key a dropped file is filed at: the rest of its key under the outcome's folder, with the
 * version stamp before the extension (`incoming/d/append/jan.csv` →
 * `processed/d/append/jan.20261205T214607Z-3f2a9c1b.csv`), so a file dropped again at the same
 * key never overwrites an earlier outcome. `.` and `..` segments are escaped, since tools that map
 * keys to paths (and s3rver) would resolve them out of the folder; a key too long to file with its
 * report beside it is filed under `long-keys/` by its hash (the report keeps the original key).
 */
export function outcomeKey(sourceKey: string, outcome: Outcome, version: FiledVersion): string {
  const { head, extension } = filedName(sourceKey, outcome);
  return `${head}${versionStamp(version)}${extension}`;
}

/** An outcome key without its stamp: `head` (ending in `.`) and `extension`. */
function filedName(sourceKey: string, outcome: Outcome): { head: string; extension: string } {
  const rest = (sourceKey.startsWith(INCOMING_PREFIX) ? sourceKey.slice(INCOMING_PREFIX.length) : sourceKey)
    .split('/')
    .map((segment) => (segment === '.' || segment === '..' ? segment.replaceAll('.', '%2E') : segment))
    .join('/');
  const { base, extension } = splitExtension(rest);
  const head = `${OUTCOME_PREFIX[outcome]}${base}.`;
  if (Buffer.byteLength(`${head}${STAMP_LENGTH_SAMPLE}${extension}${REPORT_SUFFIX}`) <= MAX_KEY_BYTES) {
    return { head, extension };
  }
  return {
    head: `${OUTCOME_PREFIX[outcome]}long-keys/${keyHash(sourceKey)}.`,
    extension: splitExtension(sourceKey).extension,
  };
}

export function reportKeyFor(fileKey: string): string {
  return `${fileKey}${REPORT_SUFFIX}`;
}

/** A filed outcome found by listing: its file key, outcome and version stamp. */
export interface FiledOutcome {
  fileKey: string;
  outcome: Outcome;
  stamp: string;
}

/**
 * Where to list, and what to keep, to find every outcome filed for a source key: one prefix per
 * outcome folder, and a pattern that takes only this key's stamped names (a listing of `a.` also
 * returns `a.b.<stamp>.csv`, which belongs to `a.b.csv`).
 */
export function outcomeSearchFor(
  sourceKey: string,
): Array<{ prefix: string; parse: (reportKey: string) => FiledOutcome | undefined }> {
  return OUTCOMES.map((outcome) => {
    const { head, extension } = filedName(sourceKey, outcome);
    const pattern = new RegExp(
      `^${escapeRegExp(head)}(${STAMP})${escapeRegExp(`${extension}${REPORT_SUFFIX}`)}$`,
    );
    return {
      prefix: head,
      parse: (reportKey: string) => {
        const stamp = pattern.exec(reportKey)?.[1];
        return stamp ? { fileKey: reportKey.slice(0, -REPORT_SUFFIX.length), outcome, stamp } : undefined;
      },
    };
  });
}

function splitExtension(key: string): { base: string; extension: string } {
  const extension = EXTENSION.exec(key)?.[0] ?? '';
  return { base: key.slice(0, key.length - extension.length), extension };
}

function keyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
