import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { Log } from './observability.js';

/** What an S3 ObjectCreated event says about who put one version of a key. */
export interface DropNotice {
  bucket: string;
  key: string;
  etag: string;
  /** S3's order of the events on one key (hex, of varying length). */
  sequencer: string;
  /** The event's principal: `AWS:AROA…:<session>` for a role session, `AWS:AIDA…` for a user. */
  principalId: string;
  /** The event's time (ISO 8601). */
  eventTime: string;
}

/** A version of a dropped file, as listed or headed. */
export interface DroppedVersion {
  bucket: string;
  key: string;
  etag: string;
  lastModified: Date;
}

/**
 * Who dropped which version of a file, from its S3 event to its report. The event reaches only
 * the upload function, while the file may be published by another run, much later (the pump takes
 * the oldest file, the sweep re-kicks files, a take-over resumes one), so the event's principal
 * is kept apart from the event.
 */
export interface DropperRecords {
  /** Keeps the notice, unless a later event (by sequencer) of the same version is kept already. */
  record(notice: DropNotice): Promise<void>;
  /** The principal of the latest event recorded for this version, or null when there is none. */
  find(version: DroppedVersion): Promise<string | null>;
}

/** Long enough for any file to leave incoming/ (MAX_WAIT_SECONDS is a day by default). */
const RECORD_DAYS = 30;

/**
 * S3's clocks may differ a little; a recorded event this much older than the object's
 * Last-Modified (which S3 truncates to the second) still counts as its own.
 */
const CLOCK_SKEW_MS = 2_000;

/**
 * Sequencers are compared right-padded with zeros (S3's rule for values of different lengths);
 * padded to one length, DynamoDB's string comparison orders them.
 */
const SEQUENCER_LENGTH = 40;

/**
 * DropperRecords as items of the dataset lock table (its key attribute is `datasetId`), beside
 * the dataset locks (`d_…`) and the file leases (`file:…`), expired by the table's TTL.
 */
export class DynamoDropperRecords implements DropperRecords {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  async record(notice: DropNotice): Promise<void> {
    const sequencer = padSequencer(notice.sequencer);
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            datasetId: { S: dropperRecordId(notice) },
            principalId: { S: notice.principalId },
            eventTime: { S: notice.eventTime },
            sequencer: { S: sequencer },
            expiresAt: { N: String(Math.ceil(this.now() / 1000) + RECORD_DAYS * 86_400) },
          },
          // Events arrive in any order and more than once: the latest put of the version wins.
          ConditionExpression: 'attribute_not_exists(datasetId) OR sequencer < :sequencer',
          ExpressionAttributeValues: { ':sequencer': { S: sequencer } },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return;
      throw error;
    }
  }

  async find(version: DroppedVersion): Promise<string | null> {
    const output = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { datasetId: { S: dropperRecordId(version) } },
        ConsistentRead: true,
      }),
    );
    const principalId = output.Item?.principalId?.S;
    const eventTime = Date.parse(output.Item?.eventTime?.S ?? '');
    if (!principalId || Number.isNaN(eventTime)) return null;
    // The same bytes dropped again at the key have the same ETag: an event from before this
    // version was created belongs to an earlier drop, whose dropper may be someone else.
    if (eventTime < version.lastModified.getTime() - CLOCK_SKEW_MS) return null;
    return principalId;
  }
}

/** The record's key: the ETag first (it holds no `:`), so that no key can be read as another's. */
export function dropperRecordId(version: Pick<DroppedVersion, 'bucket' | 'key' | 'etag'>): string {
  return `dropped:${version.etag}:${version.bucket}/${version.key}`;
}

function padSequencer(sequencer: string): string {
  return sequencer.toUpperCase().padEnd(SEQUENCER_LENGTH, '0');
}

/**
 * Records who dropped a file. Best effort: attribution must never hold up or fail a publication,
 * so a failure is logged (the report then says droppedBy null and where to look).
 */
export async function recordDropper(
  deps: { droppers: DropperRecords; log: Log },
  notice: DropNotice,
): Promise<void> {
  try {
    await deps.droppers.record(notice);
  } catch (error) {
    deps.log.warn('DROPPED_BY_NOT_RECORDED', { key: notice.key, error: errorName(error) });
  }
}

/** Who dropped this version, or null when not known (never throws: see recordDropper). */
export async function dropperOf(
  deps: { droppers: DropperRecords; log: Log },
  version: DroppedVersion,
): Promise<string | null> {
  try {
    return await deps.droppers.find(version);
  } catch (error) {
    deps.log.warn('DROPPED_BY_NOT_READ', { key: version.key, error: errorName(error) });
    return null;
  }
}

/**
 * The report's note when droppedBy is null: the S3 server access logs name the requester of
 * every PUT and copy, for as long as accessLogRetentionDays.
 */
export function unknownDropperNote(sourceKey: string, droppedAt: string): string {
  return `Who dropped this file is not known (droppedBy is null): no S3 event of this version was recorded before it was handled (the event was lost and the sweep found the file, or recording it failed). The drop bucket's S3 server access logs (in the bucket the stack output AccessLogBucketName names, under drop-bucket/) name the requester of the PUT or copy of ${sourceKey} at ${droppedAt}.`;
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'unknown';
}
