import type { DatasetLock } from '../dataset-lock.js';
import type { DropBucket } from '../drop-bucket.js';
import { SourceChangedError } from '../errors.js';
import { failureFromCaught, failureFromPoll } from './failure.js';
import { type FileOutcomeDeps, fileOutcome, type PublishReport } from './file-outcome.js';
import { initialPoll, type PollSettings } from './poll.js';
import type { PublicationState } from './publication.js';
import { type SendDeps, sendFile } from './send-file.js';

/**
 * The state machine's re-upload after Ingestion Failed: the same object, pinned to the same
 * ETag, sent again under the lock the publication already holds; polling starts afresh and
 * keeps the statuses seen so far.
 */
export async function reuploadPublication(
  deps: SendDeps & {
    bucket: DropBucket;
    lock: DatasetLock;
    settings: PollSettings & { UPLOAD_MAX_ATTEMPTS: number; LOCK_UPLOAD_LEASE_SECONDS: number };
  },
  state: PublicationState,
): Promise<PublicationState> {
  const { publication } = state;
  // A long upload may outlast the polling lease: hold the dataset for as long as a send may take.
  await deps.lock.update(publication.datasetId, publication.lockToken, {
    phase: 'polling',
    leaseMs: deps.settings.LOCK_UPLOAD_LEASE_SECONDS * 1000,
  });
  const object = await deps.bucket.head(publication.bucket, publication.sourceKey);
  if (!object || object.etag !== publication.etag) {
    throw new SourceChangedError(
      `${publication.sourceKey} changed or disappeared before it could be sent again`,
    );
  }
  const attempt = await sendFile(deps, {
    object,
    datasetId: publication.datasetId,
    mode: publication.mode,
    md5Base64: publication.md5Base64,
  });
  return {
    publication: { ...publication, uploads: [...publication.uploads, attempt] },
    poll: initialPoll(deps.settings, deps.now(), state.poll.statuses),
  };
}

/** The state machine's last step: the outcome of a publication, from its poll state or error. */
export async function fileOutcomeOfPublication(
  deps: FileOutcomeDeps,
  state: PublicationState,
): Promise<PublishReport> {
  const { publication, poll, error } = state;
  const failure = error ? failureFromCaught(error) : failureFromPoll(poll, publication.uploads.length);
  return fileOutcome(deps, {
    bucket: publication.bucket,
    sourceKey: publication.sourceKey,
    publication,
    poll,
    lockToken: publication.lockToken,
    ...(failure ? { failure } : {}),
  });
}
