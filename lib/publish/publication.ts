import { CSV_PROBLEM_CODES } from '../csv-check/types.js';
import * as z from '../zod.js';

const baselineSchema = z.object({
  status: z.string(),
  version: z.nullable(z.number()),
  updatedAt: z.nullable(z.number()),
});

const csvProblemSchema = z.object({
  severity: z.enum(['error', 'warning']),
  code: z.enum(CSV_PROBLEM_CODES),
  row: z.optional(z.number()),
  column: z.optional(z.string()),
  value: z.optional(z.string()),
  message: z.string(),
});

/** What the in-flight CSV check found (lib/csv-check); its problem list is bounded. */
export const csvCheckSchema = z.object({
  passed: z.boolean(),
  bytes: z.number(),
  rows: z.number(),
  columns: z.array(z.string()),
  errors: z.number(),
  warnings: z.number(),
  problems: z.array(csvProblemSchema),
  incomplete: z.boolean(),
  metadata: z.enum(['compared', 'not-compared']),
  metadataNote: z.optional(z.string()),
});

const uploadAttemptSchema = z.object({
  startedAt: z.string(),
  finishedAt: z.string(),
  baseline: baselineSchema,
  /** How many presigned links this upload needed (a new one after an expired link or a broken connection). */
  links: z.number().check(z.int(), z.positive()),
  /** The whole body went out but S3's answer was lost; the status decides whether it arrived. */
  unconfirmed: z._default(z.boolean(), false),
  /** The in-flight check of this send, when one ran (the first send of a file). */
  check: z.optional(csvCheckSchema),
});

/** One file's publication: what was dropped, and each time it was sent to data.gov.sg. */
export const publicationSchema = z.object({
  publicationId: z.string().check(z.minLength(1)),
  lockToken: z.string().check(z.minLength(1)),
  bucket: z.string().check(z.minLength(1)),
  sourceKey: z.string().check(z.minLength(1)),
  datasetRef: z.string().check(z.minLength(1)),
  datasetId: z.string().check(z.regex(/^d_[0-9a-f]{32}$/)),
  mode: z.enum(['replace', 'append']),
  /** Dropped under `replace-new-columns/`: its columns may differ from the dataset's, on purpose. */
  newColumns: z._default(z.boolean(), false),
  size: z.number().check(z.int(), z.nonnegative()),
  etag: z.string(),
  md5Hex: z.string(),
  md5Base64: z.string(),
  droppedAt: z.string(),
  /** Who asked for it through the HTTP API or an event (the object's metadata); null for a plain drop. */
  requestedBy: z._default(z.nullable(z.string()), null),
  /**
   * Who put the object, as its S3 event named them (lib/dropped-by.ts), read when the file was
   * chosen; null when no event of this version was recorded. Publications begun before it
   * existed read as null.
   */
  droppedBy: z._default(z.nullable(z.string()), null),
  uploads: z.array(uploadAttemptSchema),
});

const statusSeenSchema = z.object({
  status: z.string(),
  rawStatus: z.string(),
  version: z.nullable(z.number()),
  updatedAt: z.nullable(z.number()),
  /** False for the previous upload's status, still shown right after ours was sent. */
  ofThisUpload: z.boolean(),
  firstSeenAt: z.string(),
  lastSeenAt: z.string(),
  polls: z.number().check(z.int(), z.positive()),
});

export const pollResultSchema = z.enum([
  'published',
  'validation-failed',
  'ingestion-failed',
  'deadline-passed',
  'not-arrived',
  /** The status could not be read (an outage) until the deadline. */
  'no-answer',
]);

/** Status checks failing for a reason that may pass: the publication waits at the backoff cap. */
const outageSchema = z.object({
  since: z.string(),
  failedChecks: z.number().check(z.int(), z.positive()),
  /** The last error's name and message (texts from outside are redacted by the clients). */
  lastError: z.string(),
});

export const pollStateSchema = z.object({
  startedAt: z.string(),
  deadlineAt: z.string(),
  nextWaitSeconds: z.number().check(z.int(), z.positive()),
  polls: z.number().check(z.int(), z.nonnegative()),
  statuses: z.array(statusSeenSchema),
  decision: z.enum(['wait', 'reupload', 'file']),
  result: z.optional(pollResultSchema),
  failures: z.optional(z.unknown()),
  /** True when `failures` was too large for the state; the outcome step reads it again. */
  failuresOmitted: z.optional(z.boolean()),
  /** Set while status checks fail; cleared by the next answer. */
  outage: z.optional(outageSchema),
});

/** A Step Functions `Catch` result: `Cause` is the message, or a Lambda error as JSON. */
const caughtErrorSchema = z.object({ Error: z.string(), Cause: z.optional(z.string()) });

/** The state the publish state machine carries from task to task. */
export const publicationStateSchema = z.object({
  publication: publicationSchema,
  poll: pollStateSchema,
  error: z.optional(caughtErrorSchema),
});

/**
 * What the dataset lock records about a publication, so that a take-over or a retried task can
 * go on from it. `baseline` is set from just before a send's first byte until the send is
 * recorded in `publication.uploads`: while it is there, that send may have reached data.gov.sg.
 */
export const resumeStateSchema = z.object({
  publication: publicationSchema,
  baseline: z.optional(baselineSchema),
});

/** The lock record's resume state, or undefined when there is none or it cannot be read. */
export function parseResumeState(text: string | undefined): ResumeState | undefined {
  if (!text) return undefined;
  try {
    const parsed = resumeStateSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export type ResumeState = z.infer<typeof resumeStateSchema>;
export type Publication = z.infer<typeof publicationSchema>;
export type UploadAttempt = z.infer<typeof uploadAttemptSchema>;
export type StatusSeen = z.infer<typeof statusSeenSchema>;
export type PollResult = z.infer<typeof pollResultSchema>;
export type PollState = z.infer<typeof pollStateSchema>;
export type CaughtError = z.infer<typeof caughtErrorSchema>;
export type PublicationState = z.infer<typeof publicationStateSchema>;
