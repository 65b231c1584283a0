import type { DataGovSgClient } from '../datagovsg/client.js';
import { belongsToUpload } from '../datagovsg/status.js';
import type { DatasetLock } from '../dataset-lock.js';
import type { DropBucket } from '../drop-bucket.js';
import { SourceChangedError } from '../errors.js';
import { failureFromCaught, failureFromPoll } from './failure.js';
import { type FileOutcomeDeps, fileOutcome, type PublishReport } from './file-outcome.js';
import { initialPoll, type PollSettings } from './poll.js';
import type { PublicationState } from './publication.js';
import { objectSource, type SendDeps, type SendSettings, sendFile } from './send-file.js';

/**
 * The state machine's re-upload after Ingestion Failed: the same object, pinned to the same
 * ETag, sent again under the lock the publication already holds; polling starts afresh and
 * keeps the statuses seen so far.
 */
export async function reuploadPublication(
  deps: SendDeps & {
    bucket: DropBucket;
    lock: DatasetLock;
    settings: PollSettings & SendSettings & { LOCK_UPLOAD_LEASE_SECONDS: number };
  },
  state: PublicationState,
): Promise<PublicationState> {
  const { publication } = state;
  const { datasetId, lockToken } = publication;
  const last = publication.uploads.at(-1);
  if (last?.unconfirmed) {
    // Checked again right before sending: if the lost send did arrive after all, keep polling it.
    const current = await deps.dgs.ingestionStatus(datasetId);
    if (belongsToUpload(current, last.baseline)) {
      deps.log.warn('UNCONFIRMED_UPLOAD_ARRIVED_LATE', { datasetId });
      return { publication, poll: initialPoll(deps.settings, deps.now(), state.poll.statuses) };
    }
  }
  const object = await deps.bucket.head(publication.bucket, publication.sourceKey);
  if (!object || object.etag !== publication.etag) {
    throw new SourceChangedError(
      `${publication.sourceKey} changed or disappeared before it could be sent again`,
    );
  }
  const attempt = await sendFile(
    {
      ...deps,
      // As the first upload does: the lease covers a whole send, and a take-over after a crash
      // can tell from the baseline whether this send arrived.
      onSending: (baseline) =>
        deps.lock.update(datasetId, lockToken, {
          phase: 'uploading',
          resumeState: JSON.stringify({ publication, baseline }),
          leaseMs: deps.settings.LOCK_UPLOAD_LEASE_SECONDS * 1000,
        }),
    },
    {
      source: objectSource(deps.bucket, object),
      datasetId,
      mode: publication.mode,
      md5Base64: publication.md5Base64,
    },
  );
  const sent = { ...publication, uploads: [...publication.uploads, attempt] };
  await deps.lock.update(datasetId, lockToken, {
    phase: 'polling',
    resumeState: JSON.stringify({ publication: sent }),
    leaseMs: deps.settings.LOCK_POLL_LEASE_SECONDS * 1000,
  });
  return { publication: sent, poll: initialPoll(deps.settings, deps.now(), state.poll.statuses) };
}

/**
 * The state machine's last step: the outcome of a publication, from its poll state or error.
 * A `failures` list too large for the state is read again here, so the report has it whole.
 */
export async function fileOutcomeOfPublication(
  deps: FileOutcomeDeps & { dgs: Pick<DataGovSgClient, 'ingestionStatus'> },
  state: PublicationState,
): Promise<PublishReport> {
  const { publication, error } = state;
  const poll = state.poll.failuresOmitted
    ? { ...state.poll, failures: (await deps.dgs.ingestionStatus(publication.datasetId)).failures }
    : state.poll;
  const failure = error ? failureFromCaught(error) : failureFromPoll(poll, publication.uploads.length);
  return fileOutcome(deps, {
    bucket: publication.bucket,
    sourceKey: publication.sourceKey,
    publication,
    poll,
    lockToken: publication.lockToken,
    expectedEtag: publication.etag,
    ...(failure ? { failure } : {}),
  });
}
