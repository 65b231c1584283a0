import { randomUUID } from 'node:crypto';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { LockLostError, LockStoreUnavailableError, toError } from './errors.js';

export type LockPhase = 'selecting' | 'uploading' | 'polling';

/** The record that holds a dataset for one file, from link request to filed outcome. */
export interface DatasetLockRecord {
  datasetId: string;
  token: string;
  phase: LockPhase;
  holderKey: string | undefined;
  /** The ETag of the version of `holderKey` being published. */
  holderEtag: string | undefined;
  /** How many times runs holding this file died and were taken over. */
  takeovers: number;
  acquiredAt: number;
  leaseExpiresAt: number;
  /** What a take-over needs to resume this file's publication (JSON of the publication). */
  resumeState: string | undefined;
}

export type AcquireResult =
  | {
      acquired: true;
      token: string /** A stale record that was taken over, if any. */;
      previous: DatasetLockRecord | undefined;
    }
  | { acquired: false; current: DatasetLockRecord | undefined };

export interface LockUpdate {
  phase?: LockPhase;
  holderKey?: string;
  holderEtag?: string;
  takeovers?: number;
  /** null removes it: the file it described is done with. */
  resumeState?: string | null;
  leaseMs: number;
}

/**
 * One file per dataset at a time. A holder keeps the lock alive by renewing its lease; a lease
 * that ran out belongs to a crashed run and may be taken over, so a crash never blocks a dataset
 * for longer than one lease.
 */
export interface DatasetLock {
  acquire(datasetId: string, leaseMs: number): Promise<AcquireResult>;
  /** Renews the lease and records progress; throws LockLostError if the token no longer holds it. */
  update(datasetId: string, token: string, update: LockUpdate): Promise<void>;
  /** Releases the lock if this token still holds it; returns whether it did. */
  release(datasetId: string, token: string): Promise<boolean>;
  get(datasetId: string): Promise<DatasetLockRecord | undefined>;
}

/** DatasetLock on a DynamoDB table keyed by `datasetId`, with conditional writes. */
export class DynamoDatasetLock implements DatasetLock {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  async acquire(datasetId: string, leaseMs: number): Promise<AcquireResult> {
    const now = this.now();
    const token = randomUUID();
    const item: Record<string, AttributeValue> = {
      datasetId: { S: datasetId },
      token: { S: token },
      phase: { S: 'selecting' },
      acquiredAt: { N: String(now) },
      leaseExpiresAt: { N: String(now + leaseMs) },
      // DynamoDB TTL removes long-dead records; a day after the lease is far past any use.
      expiresAt: { N: String(Math.ceil((now + leaseMs) / 1000) + 86_400) },
    };
    try {
      const output = await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(datasetId) OR leaseExpiresAt < :now',
          ExpressionAttributeValues: { ':now': { N: String(now) } },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return { acquired: true, token, previous: output.Attributes ? toRecord(output.Attributes) : undefined };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        return { acquired: false, current: await this.get(datasetId) };
      }
      throw unavailable('acquire', error);
    }
  }

  async update(datasetId: string, token: string, update: LockUpdate): Promise<void> {
    const leaseExpiresAt = this.now() + update.leaseMs;
    const names: Record<string, string> = {
      '#token': 'token',
      '#lease': 'leaseExpiresAt',
      '#ttl': 'expiresAt',
    };
    const values: Record<string, AttributeValue> = {
      ':token': { S: token },
      ':lease': { N: String(leaseExpiresAt) },
      ':ttl': { N: String(Math.ceil(leaseExpiresAt / 1000) + 86_400) },
    };
    const sets = ['#lease = :lease', '#ttl = :ttl'];
    for (const field of ['phase', 'holderKey', 'holderEtag', 'resumeState', 'takeovers'] as const) {
      const value = update[field];
      if (value === undefined || value === null) continue;
      names[`#${field}`] = field;
      values[`:${field}`] = typeof value === 'number' ? { N: String(value) } : { S: value };
      sets.push(`#${field} = :${field}`);
    }
    let remove = '';
    if (update.resumeState === null) {
      names['#resumeState'] = 'resumeState';
      remove = ' REMOVE #resumeState';
    }
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { datasetId: { S: datasetId } },
          UpdateExpression: `SET ${sets.join(', ')}${remove}`,
          ConditionExpression: '#token = :token',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new LockLostError(`The lock on ${datasetId} is no longer held by this run (its lease ran out)`);
      }
      throw unavailable('update', error);
    }
  }

  async release(datasetId: string, token: string): Promise<boolean> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: { datasetId: { S: datasetId } },
          ConditionExpression: '#token = :token',
          ExpressionAttributeNames: { '#token': 'token' },
          ExpressionAttributeValues: { ':token': { S: token } },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw unavailable('release', error);
    }
  }

  async get(datasetId: string): Promise<DatasetLockRecord | undefined> {
    try {
      const output = await this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { datasetId: { S: datasetId } },
          ConsistentRead: true,
        }),
      );
      return output.Item ? toRecord(output.Item) : undefined;
    } catch (error) {
      throw unavailable('read', error);
    }
  }
}

function toRecord(item: Record<string, AttributeValue>): DatasetLockRecord {
  return {
    datasetId: item.datasetId?.S ?? '',
    token: item.token?.S ?? '',
    phase: (item.phase?.S ?? 'selecting') as LockPhase,
    holderKey: item.holderKey?.S,
    holderEtag: item.holderEtag?.S,
    takeovers: Number(item.takeovers?.N ?? 0),
    acquiredAt: Number(item.acquiredAt?.N ?? 0),
    leaseExpiresAt: Number(item.leaseExpiresAt?.N ?? 0),
    resumeState: item.resumeState?.S,
  };
}

function unavailable(operation: string, error: unknown): LockStoreUnavailableError {
  const cause = toError(error);
  return new LockStoreUnavailableError(`The dataset lock store failed to ${operation} (${cause.name})`, {
    cause,
  });
}
