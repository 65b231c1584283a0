import type { Settings } from '../config.js';
import type { DataGovSgClient } from '../datagovsg/client.js';
import { belongsToUpload } from '../datagovsg/status.js';
import type { DatasetLock } from '../dataset-lock.js';
import type { DropBucket } from '../drop-bucket.js';
import { LockLostError, SourceChangedError } from '../errors.js';
import { checkOptionsFor } from './check-options.js';
import { initialPoll, type PollSettings } from './poll.js';
import {
  type PublicationState,
  parseResumeState,
  type ResumeState,
  type UploadAttempt,
} from './publication.js';
import { objectSource, type SendDeps, type SendSettings, sendFile } from './send-file.js';

/**
 * The state machine's re-upload after Ingestion Failed (or after a send that never arrived): the
 * same object, pinned to the same ETag, sent again under the lock the publication already holds;
 * polling starts afresh and keeps the statuses seen so far. Never sends twice: a send an earlier
 * try of this task recorded in the lock is polled; one it began (its baseline is still in the
 * lock record) may have arrived, so it is polled as an unconfirmed upload; a send whose answer
 * was lost is checked again first.
 */
export async function reuploadPublication(
  deps: SendDeps & {
    dgs: Pick<DataGovSgClient, 'metadata'>;
    bucket: DropBucket;
    lock: DatasetLock;
    settings: PollSettings &
      SendSettings &
      Pick<Settings, 'LOCK_UPLOAD_LEASE_SECONDS' | 'CSV_CHECK' | 'CSV_CHECK_MAX_PROBLEMS'>;
  },
  state: PublicationState,
): Promise<PublicationState> {
  const { publication } = state;
  const { datasetId, lockToken } = publication;
  const held = await deps.lock.get(datasetId);
  if (held?.token !== lockToken) {
    throw new LockLostError(`The lock on ${datasetId} is no longer held by this publication`);
  }
  const begun = parseResumeState(held.resumeState);
  if (begun && begun.publication.uploads.length > publication.uploads.length) {
    // An earlier try of this task sent the file and recorded it, then died before answering.
    deps.log.warn('REUPLOAD_ALREADY_SENT', { datasetId, uploads: begun.publication.uploads.length });
    return {
      publication: { ...begun.publication, lockToken },
      poll: initialPoll(deps.settings, deps.now(), state.poll.statuses),
    };
  }
  if (begun?.baseline && begun.publication.uploads.length === publication.uploads.length) {
    deps.log.warn('REUPLOAD_MAY_HAVE_ARRIVED', { datasetId, uploads: publication.uploads.length });
    const at = deps.now().toISOString();
    return startedPolling(deps, state, {
      startedAt: at,
      finishedAt: at,
      baseline: begun.baseline,
      links: 1,
      unconfirmed: true,
    });
  }
  const last = publication.uploads.at(-1);
  if (last?.unconfirmed) {
    // Checked again right before sending: if the lost send did arrive after all, keep polling it,
    // unless what arrived already failed its ingestion (then sending again is what the poll decided).
    // The deadline stays the one this upload had, so that a status flipping between reads cannot
    // keep the publication between this task and the check for ever.
    const current = await deps.dgs.ingestionStatus(datasetId);
    if (belongsToUpload(current, last.baseline) && current.status !== 'INGESTION_FAILED') {
      deps.log.warn('UNCONFIRMED_UPLOAD_ARRIVED_LATE', { datasetId, status: current.status });
      const poll = initialPoll(deps.settings, deps.now(), state.poll.statuses);
      return { publication, poll: { ...poll, deadlineAt: state.poll.deadlineAt } };
    }
  }
  const object = await deps.bucket.head(publication.bucket, publication.sourceKey);
  if (!object || object.etag !== publication.etag) {
    throw new SourceChangedError(
      `${publication.sourceKey} changed or disappeared before it could be sent again`,
    );
  }
  // A file whose earlier sends all stopped short (a run killed mid-send, a lost send that never
  // arrived) was never checked whole: check it now, or a bad file would go out unchecked.
  const check =
    deps.settings.CSV_CHECK && !publication.uploads.some((upload) => upload.check)
      ? await checkOptionsFor(
          deps.dgs,
          datasetId,
          publication.mode,
          deps.settings.CSV_CHECK_MAX_PROBLEMS,
          publication.newColumns,
        )
      : undefined;
  let attempt: UploadAttempt;
  try {
    attempt = await sendFile(
      {
        ...deps,
        // As the first upload does: the lease covers a whole send, and a take-over after a crash
        // (or a retry of this task) can tell from the baseline whether this send arrived.
        onSending: (baseline) =>
          deps.lock.update(datasetId, lockToken, {
            phase: 'uploading',
            resumeState: JSON.stringify({ publication, baseline } satisfies ResumeState),
            leaseMs: deps.settings.LOCK_UPLOAD_LEASE_SECONDS * 1000,
          }),
      },
      {
        source: objectSource(deps.bucket, object),
        datasetId,
        mode: publication.mode,
        md5Base64: publication.md5Base64,
        ...(check ? { check } : {}),
      },
    );
  } catch (error) {
    // sendFile throws only when this send stored nothing: forget its baseline, so that a retry
    // of this task sends instead of waiting for a send that never happened.
    await deps.lock
      .update(datasetId, lockToken, {
        phase: 'polling',
        resumeState: JSON.stringify({ publication } satisfies ResumeState),
        leaseMs: deps.settings.LOCK_POLL_LEASE_SECONDS * 1000,
      })
      .catch((cleanup: unknown) =>
        deps.log.warn('SEND_INTENT_NOT_CLEARED', { datasetId, error: errorName(cleanup) }),
      );
    throw error;
  }
  return startedPolling(deps, state, attempt);
}

/** Records a send in the publication and the lock, and starts polling for it. */
async function startedPolling(
  deps: { lock: DatasetLock; settings: PollSettings; log: SendDeps['log']; now: () => Date },
  state: PublicationState,
  attempt: UploadAttempt,
): Promise<PublicationState> {
  const { datasetId, lockToken } = state.publication;
  const sent = { ...state.publication, uploads: [...state.publication.uploads, attempt] };
  try {
    await deps.lock.update(datasetId, lockToken, {
      phase: 'polling',
      resumeState: JSON.stringify({ publication: sent } satisfies ResumeState),
      leaseMs: deps.settings.LOCK_POLL_LEASE_SECONDS * 1000,
    });
  } catch (error) {
    // The send is done: failing the task now would lose it. The record keeps the baseline, so a
    // retry or take-over treats the send as one that may have arrived; the next check renews the lease.
    if (error instanceof LockLostError) throw error;
    deps.log.warn('SEND_NOT_RECORDED_IN_LOCK', { datasetId, error: errorName(error) });
  }
  return { publication: sent, poll: initialPoll(deps.settings, deps.now(), state.poll.statuses) };
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'unknown';
}
