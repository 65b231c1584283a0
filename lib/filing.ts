import type { DropBucket, MoveResult } from './drop-bucket.js';
import { type Outcome, outcomeKey, reportKeyFor } from './drop-key.js';
import type { OutcomeDetailType, OutcomeEvents } from './outcome-events.js';

export interface FilingDeps {
  bucket: DropBucket;
  events: OutcomeEvents;
}

export interface Filing<R> {
  bucket: string;
  sourceKey: string;
  outcome: Outcome;
  /** Builds the report once the final keys are known; it is also the event's detail. */
  report: (keys: { fileKey: string; reportKey: string; notes: string[] }) => R;
  detailType: OutcomeDetailType;
  /** Only this version moves; a newer file dropped at the same key stays for its own turn. */
  expectedEtag?: string;
}

/**
 * Files what happened to a dropped file: writes `<processed|failed>/<rest>.report.json`, moves
 * the file beside it and sends the event. Each step is idempotent, so a retried filing completes
 * the job; the report comes first so that a moved file always has one.
 */
export async function fileReport<R extends object>(
  deps: FilingDeps,
  filing: Filing<R>,
): Promise<{ report: R; moved: MoveResult }> {
  const fileKey = outcomeKey(filing.sourceKey, filing.outcome);
  const current = await deps.bucket.head(filing.bucket, filing.sourceKey);
  const notes =
    filing.expectedEtag && current && current.etag !== filing.expectedEtag
      ? [
          'A new file was dropped at the same key while this one was handled; it stays in incoming/ and is handled on its own, and its report will replace this one.',
        ]
      : [];
  const report = filing.report({ fileKey, reportKey: reportKeyFor(fileKey), notes });
  await deps.bucket.putJson(filing.bucket, reportKeyFor(fileKey), report);
  const moved = await deps.bucket.move(filing.bucket, filing.sourceKey, fileKey, filing.expectedEtag);
  await deps.events.publish(filing.detailType, { ...report } as Record<string, unknown>);
  return { report, moved };
}
