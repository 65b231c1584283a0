import type { DropBucket, MoveResult } from './drop-bucket.js';
import type { OutcomeDetailType, OutcomeEvents } from './outcome-events.js';
import {
  type FiledOutcome,
  type FiledVersion,
  type Outcome,
  outcomeKey,
  outcomeSearchFor,
  reportKeyFor,
  versionStamp,
} from './outcome-keys.js';

export interface FilingDeps {
  bucket: DropBucket;
  events: OutcomeEvents;
}

export interface Filing<R> {
  bucket: string;
  sourceKey: string;
  /** The version handled: only it moves, and its stamp names the outcome's keys. */
  version: FiledVersion;
  outcome: Outcome;
  /** Builds the report once the final keys are known; it is also the event's detail. */
  report: (keys: { fileKey: string; reportKey: string; notes: string[] }) => R;
  detailType: OutcomeDetailType;
}

/**
 * Files what happened to a dropped file: writes its report, moves the file beside it and sends
 * the event. The keys carry the version's stamp, so each drop at a key keeps its own file and
 * report; the notes name the outcome filed before at the same key. Each step is idempotent, so a
 * retried filing completes the job; the report comes first so that a moved file always has one.
 */
export async function fileReport<R extends object>(
  deps: FilingDeps,
  filing: Filing<R>,
): Promise<{ report: R; moved: MoveResult }> {
  const fileKey = outcomeKey(filing.sourceKey, filing.outcome, filing.version);
  const earlier = await earlierOutcome(deps.bucket, filing);
  const notes = earlier
    ? [
        `A file dropped earlier at ${filing.sourceKey} was filed as ${earlier.fileKey}; it and its report are kept.`,
      ]
    : [];
  const reportKey = reportKeyFor(fileKey);
  const report = filing.report({ fileKey, reportKey, notes });
  await deps.bucket.putJson(filing.bucket, reportKey, report);
  return moveAndAnnounce(deps, filing, { fileKey, reportKey, notes }, report);
}

/**
 * Completes a filing that a run began for this very version (its report is written) but may not
 * have finished: moves the file beside the report and sends the event again, so that at least one
 * goes out. The report written decides the outcome: a later look at data.gov.sg never files the
 * version a second time, with another verdict.
 */
export async function finishFiling<R extends { notes: string[] }>(
  deps: FilingDeps,
  filing: Pick<Filing<R>, 'bucket' | 'sourceKey' | 'version' | 'detailType'>,
  filed: { fileKey: string; report: R },
): Promise<{ report: R; moved: MoveResult }> {
  const { notes } = filed.report;
  return moveAndAnnounce(
    deps,
    { ...filing, report: ({ notes: withMet }) => ({ ...filed.report, notes: withMet }) },
    { fileKey: filed.fileKey, reportKey: reportKeyFor(filed.fileKey), notes },
    filed.report,
  );
}

/** Moves the file beside its written report and sends the event; what the move met is noted. */
async function moveAndAnnounce<R extends object>(
  deps: FilingDeps,
  filing: Pick<Filing<R>, 'bucket' | 'sourceKey' | 'version' | 'detailType' | 'report'>,
  keys: { fileKey: string; reportKey: string; notes: string[] },
  written: R,
): Promise<{ report: R; moved: MoveResult }> {
  const moved = await deps.bucket.move(filing.bucket, filing.sourceKey, keys.fileKey, filing.version.etag);
  // What the move met at the key (rare) goes into the report too, written again, unless the
  // report of a filing being finished has it already.
  const met = MOVE_NOTES[moved]?.(filing.sourceKey, keys.fileKey);
  let report = written;
  if (met !== undefined && !keys.notes.includes(met)) {
    report = filing.report({ ...keys, notes: [met, ...keys.notes] });
    await deps.bucket.putJson(filing.bucket, keys.reportKey, report);
  }
  await deps.events.publish(filing.detailType, { ...report } as Record<string, unknown>);
  return { report, moved };
}

const MOVE_NOTES: Partial<Record<MoveResult, (sourceKey: string, fileKey: string) => string>> = {
  'source-replaced': (_, fileKey) =>
    `A new file was dropped at the same key while this one was handled: it stays in incoming/ and is handled on its own, with a report of its own. It replaced this one in incoming/, so this file is not kept at ${fileKey} (with bucket versioning on, S3 keeps it as the key's previous version).`,
  'copied-newer-kept': () =>
    'A new file was dropped at the same key while this one was filed: it stays in incoming/ and is handled on its own, with a report of its own.',
  missing: (sourceKey) =>
    `The file was deleted from ${sourceKey} before it could be filed: only this report is kept.`,
};

/** The outcome filed for this very version, if a run filed it (or began to: its report is written). */
export async function filedOutcomeOf(
  bucket: DropBucket,
  filing: Pick<Filing<unknown>, 'bucket' | 'sourceKey' | 'version'>,
): Promise<FiledOutcome | undefined> {
  const ours = versionStamp(filing.version);
  return (await filedOutcomes(bucket, filing)).find((outcome) => outcome.stamp === ours);
}

/**
 * The latest outcome filed for another drop at the same key, dropped no later than this one (to
 * the second: S3 keeps no finer time, so two drops in one second are told apart by ETag only).
 */
async function earlierOutcome(
  bucket: DropBucket,
  filing: Filing<unknown>,
): Promise<FiledOutcome | undefined> {
  const ours = versionStamp(filing.version);
  const time = (stamp: string) => stamp.slice(0, stamp.indexOf('-'));
  return (await filedOutcomes(bucket, filing))
    .filter((outcome) => outcome.stamp !== ours && time(outcome.stamp) <= time(ours))
    .sort((a, b) => (a.stamp < b.stamp ? 1 : -1))[0];
}

/** Every outcome filed for drops at a key, in any outcome folder. */
async function filedOutcomes(
  bucket: DropBucket,
  filing: Pick<Filing<unknown>, 'bucket' | 'sourceKey'>,
): Promise<FiledOutcome[]> {
  const found = await Promise.all(
    outcomeSearchFor(filing.sourceKey).map(async ({ prefix, parse }) =>
      (await bucket.listReports(filing.bucket, prefix)).flatMap((object) => parse(object.key) ?? []),
    ),
  );
  return found.flat();
}
