import { basename } from 'node:path';
import { CopyObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { DatasetDirectory } from '../datasets.js';
import { type DropBucket, REQUESTED_BY_METADATA } from '../drop-bucket.js';
import { type DropFolder, INCOMING_PREFIX, parseDropKey } from '../drop-key.js';
import { DropRejectedError } from '../errors.js';
import type { Kicker } from '../kicks.js';
import { OUTCOME_PREFIX, OUTCOMES } from '../outcome-keys.js';

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._ -]{0,200}\.csv$/;

export interface UploadLink {
  method: 'PUT';
  url: string;
  key: string;
  /** Headers the PUT must carry (they were signed). */
  headers: Record<string, string>;
  expiresAt: string;
}

/**
 * A presigned PUT into the drop bucket at the right key, so a client without AWS credentials can
 * drop a file (up to 5 GB in one PUT). The file then flows through the pipeline like any drop.
 */
export async function createUploadLink(
  deps: { bucket: DropBucket; now: () => Date },
  request: {
    bucket: string;
    datasetRef: string;
    mode: DropFolder;
    name?: string;
    expiresInSeconds?: number;
    /** The caller, carried by the object (signed into the link) to its report and event. */
    requestedBy?: string | null;
  },
): Promise<UploadLink> {
  const name = request.name ?? `upload-${deps.now().toISOString().replace(/[:.]/g, '-')}.csv`;
  if (!FILE_NAME.test(name)) {
    throw new DropRejectedError(
      'NOT_CSV',
      `"${name}" is not a usable file name: use letters, digits, ".", "_", "-" or spaces, ending in .csv, without folders.`,
    );
  }
  const key = `${INCOMING_PREFIX}${request.datasetRef}/${request.mode}/${name}`;
  const expiresIn = request.expiresInSeconds ?? 3600;
  const metadata = request.requestedBy ? { [REQUESTED_BY_METADATA]: request.requestedBy } : undefined;
  const url = await getSignedUrl(
    deps.bucket.s3,
    new PutObjectCommand({
      Bucket: request.bucket,
      Key: key,
      ContentType: 'text/csv',
      ...(metadata ? { Metadata: metadata } : {}),
    }),
    // The metadata is signed as a header, so the link works only with it.
    {
      expiresIn,
      ...(metadata ? { unhoistableHeaders: new Set([`x-amz-meta-${REQUESTED_BY_METADATA}`]) } : {}),
    },
  );
  return {
    method: 'PUT',
    url,
    key,
    headers: {
      'content-type': 'text/csv',
      ...(metadata ? { [`x-amz-meta-${REQUESTED_BY_METADATA}`]: String(request.requestedBy) } : {}),
    },
    expiresAt: new Date(deps.now().getTime() + expiresIn * 1000).toISOString(),
  };
}

export type PublicationRequestResult = { action: 'kicked' | 'copied'; key: string };

/**
 * Publishes an object already in the drop bucket. A key under incoming/ for this dataset is
 * handed to the upload function now; a key under `<copySourcePrefix><dataset>/` is copied into
 * the dataset's incoming folder (and its S3 event does the rest), which needs a mode. Any other
 * key, another dataset's, and a key with no object all get the same answer, so that a caller
 * learns nothing of objects it may not publish.
 */
export async function requestPublication(
  deps: { bucket: DropBucket; datasets: DatasetDirectory; kicker: Kicker; copySourcePrefix: string },
  request: {
    bucket: string;
    key: string;
    datasetRef?: string;
    mode?: DropFolder;
    /** Who asked: recorded on the copy, for its report and event. */
    requestedBy?: string | null;
  },
): Promise<PublicationRequestResult> {
  if (OUTCOMES.some((outcome) => request.key.startsWith(OUTCOME_PREFIX[outcome]))) {
    throw new DropRejectedError(
      'KEY_LAYOUT',
      `${request.key} was already handled; publishing it again could add its rows twice. Copy it into incoming/ yourself if that is what you want.`,
    );
  }
  const unavailable = () =>
    new DropRejectedError(
      'KEY_LAYOUT',
      `There is no object ${request.key} that ${request.datasetRef ?? 'this request'} may publish: from outside incoming/, only objects under ${deps.copySourcePrefix}<dataset>/ are published.`,
    );
  if (request.key.startsWith(INCOMING_PREFIX)) {
    // The key is checked before the bucket is asked, so that its answer says nothing of objects.
    const drop = parseDropKey(request.key, deps.datasets);
    if (request.datasetRef && deps.datasets.resolve(request.datasetRef) !== drop.datasetId) {
      throw unavailable();
    }
    if (!(await deps.bucket.head(request.bucket, request.key))) throw unavailable();
    await deps.kicker.kick({
      source: 'govpub.kick',
      reason: 'route',
      bucket: request.bucket,
      key: request.key,
    });
    return { action: 'kicked', key: request.key };
  }
  if (!request.datasetRef || !request.mode) {
    throw new DropRejectedError(
      'KEY_LAYOUT',
      `${request.key} is outside incoming/: say which dataset and mode ("replace" or "append") to publish it to.`,
    );
  }
  const key = `${INCOMING_PREFIX}${request.datasetRef}/${request.mode}/${basename(request.key)}`;
  const { datasetId } = parseDropKey(key, deps.datasets);
  const sources = deps.datasets.refsFor(datasetId).map((ref) => `${deps.copySourcePrefix}${ref}/`);
  if (!sources.some((prefix) => request.key.startsWith(prefix)) || hasDotSegment(request.key)) {
    throw unavailable();
  }
  if (!(await deps.bucket.head(request.bucket, request.key))) throw unavailable();
  await deps.bucket.s3.send(
    new CopyObjectCommand({
      Bucket: request.bucket,
      Key: key,
      CopySource: `${request.bucket}/${request.key.split('/').map(encodeURIComponent).join('/')}`,
      ...(request.requestedBy
        ? {
            MetadataDirective: 'REPLACE',
            Metadata: { [REQUESTED_BY_METADATA]: request.requestedBy },
            ContentType: 'text/csv',
          }
        : {}),
    }),
  );
  return { action: 'copied', key };
}

/** S3 keys are not paths, but tools that map them to paths would resolve `sources/d/../e/`. */
function hasDotSegment(key: string): boolean {
  return key.split('/').some((segment) => segment === '.' || segment === '..');
}
