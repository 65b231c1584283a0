import { DROP_FOLDERS } from './drop-key.js';
import type { DropNotice } from './dropped-by.js';
import * as z from './zod.js';

const s3RecordSchema = z.object({
  eventName: z.optional(z.string()),
  eventTime: z.optional(z.string()),
  userIdentity: z.optional(z.object({ principalId: z.string() })),
  s3: z.object({
    bucket: z.object({ name: z.string().check(z.minLength(1)) }),
    object: z.object({
      key: z.string().check(z.minLength(1)),
      eTag: z.optional(z.string()),
      sequencer: z.optional(z.string()),
    }),
  }),
});

/** An S3 notification as Lambda receives it (only the fields we use). */
export const s3EventSchema = z.object({ Records: z.array(s3RecordSchema) });

/** S3 sends this once when a notification is configured; it names no object. */
export const s3TestEventSchema = z.object({ Event: z.literal('s3:TestEvent') });

const kickBase = {
  source: z.literal('govpub.kick'),
  reason: z.enum(['sweep', 'next', 'route', 'handover']),
  bucket: z.string().check(z.minLength(1)),
};
export const kickSchema = z.union([
  z.object({ ...kickBase, key: z.string().check(z.minLength(1)) }),
  z.object({ ...kickBase, datasetId: z.string().check(z.minLength(1)) }),
]);

/**
 * What the upload function is told to look at: one key, or one dataset's waiting files. An S3
 * event's key comes with who put it (`notice`), when the event names a principal.
 */
export type UploadSignal =
  | { bucket: string; key: string; notice?: DropNotice }
  | { bucket: string; datasetId: string };

/**
 * Turns any event the upload function receives into signals. S3 keys arrive URL-encoded with
 * spaces as '+', so they are decoded the way S3 encoded them.
 */
export function uploadSignalsOf(event: unknown): UploadSignal[] {
  if (s3TestEventSchema.safeParse(event).success) return [];
  const s3 = s3EventSchema.safeParse(event);
  if (s3.success) {
    return s3.data.Records.map((record) => {
      const bucket = record.s3.bucket.name;
      const key = decodeS3Key(record.s3.object.key);
      const { eTag, sequencer } = record.s3.object;
      const principalId = record.userIdentity?.principalId;
      return principalId && eTag && sequencer && record.eventTime
        ? {
            bucket,
            key,
            notice: { bucket, key, etag: eTag, sequencer, principalId, eventTime: record.eventTime },
          }
        : { bucket, key };
    });
  }
  const kick = kickSchema.safeParse(event);
  if (kick.success) {
    return 'key' in kick.data
      ? [{ bucket: kick.data.bucket, key: kick.data.key }]
      : [{ bucket: kick.data.bucket, datasetId: kick.data.datasetId }];
  }
  throw new TypeError(
    'The upload function received an event that is neither an S3 notification nor a govpub kick',
  );
}

export function decodeS3Key(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '));
}

export const PUBLISH_REQUESTED = 'Publish Dataset Requested';

/** An EventBridge request to publish an object of the drop bucket (detail-type Publish Dataset Requested). */
export const publishRequestedSchema = z.object({
  'detail-type': z.literal(PUBLISH_REQUESTED),
  id: z.optional(z.string()),
  detail: z.object({
    bucket: z.string().check(z.minLength(1)),
    key: z.string().check(z.minLength(1)),
    dataset: z.optional(z.string().check(z.minLength(1))),
    mode: z.optional(z.enum(DROP_FOLDERS)),
  }),
});

/** The `detail-type` of an EventBridge event, if the value is one. */
export function detailTypeOf(event: unknown): unknown {
  return typeof event === 'object' && event !== null
    ? (event as Record<string, unknown>)['detail-type']
    : undefined;
}

/** zod issues as one readable clause: `detail.records: expected array, received string; …`. */
export function describeIssues(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string {
  return issues
    .map((issue) => `${issue.path.map(String).join('.') || '(detail)'}: ${issue.message}`)
    .join('; ');
}
