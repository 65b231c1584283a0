import type { DataGovSgClient } from '../datagovsg/client.js';
import { verdictOfPublication } from './failure.js';
import { type FileOutcomeDeps, fileOutcome, type PublishReport } from './file-outcome.js';
import { type PublicationState, parseResumeState } from './publication.js';

/**
 * The state machine's last step: the outcome of a publication, from its poll state or error.
 * A `failures` list too large for the state is read again here, so the report has it whole. The
 * lock record tells whether a send was begun that the state does not know of (a re-upload that
 * died): then a failed re-upload may still have stored the file.
 */
export async function fileOutcomeOfPublication(
  deps: FileOutcomeDeps & { dgs: Pick<DataGovSgClient, 'ingestionStatus'> },
  state: PublicationState,
): Promise<PublishReport> {
  const { publication } = state;
  const poll = state.poll.failuresOmitted
    ? { ...state.poll, failures: (await deps.dgs.ingestionStatus(publication.datasetId)).failures }
    : state.poll;
  const held = state.error ? await deps.lock.get(publication.datasetId) : undefined;
  const begun = held?.token === publication.lockToken ? parseResumeState(held.resumeState) : undefined;
  const unrecordedSend =
    held?.token !== publication.lockToken ||
    (begun?.baseline !== undefined && begun.publication.uploads.length === publication.uploads.length);
  return fileOutcome(deps, {
    bucket: publication.bucket,
    sourceKey: publication.sourceKey,
    version: { etag: publication.etag, droppedAt: publication.droppedAt },
    publication,
    poll,
    lockToken: publication.lockToken,
    verdict: verdictOfPublication({ ...state, poll }, { unrecordedSend }),
  });
}
