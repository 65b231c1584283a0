import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbClient } from '../../../lib/aws-clients/dynamodb.js';
import {
  type DropNotice,
  type DropperRecords,
  DynamoDropperRecords,
  dropperOf,
  dropperRecordId,
  recordDropper,
  unknownDropperNote,
} from '../../../lib/dropped-by.js';
import { uploadSignalsOf } from '../../../lib/schemas.js';
import {
  ensureTable,
  type LocalDynamoDb,
  localDynamoClientConfig,
  startLocalDynamoDb,
} from '../../../local/aws/dynamodb.js';
import { recordingLog } from '../../fakes/recording-log.js';

const DROPPED_AT = new Date('2026-12-06T09:00:00.000Z');

function notice(overrides: Partial<DropNotice> = {}): DropNotice {
  return {
    bucket: 'drop',
    key: 'incoming/resident-population/replace/a.csv',
    etag: '0123456789abcdef0123456789abcdef',
    sequencer: '0055AED6DCD90281E5',
    principalId: 'AWS:AROAEXAMPLE:alice',
    eventTime: '2026-12-06T09:00:00.412Z',
    ...overrides,
  };
}

function versionOf(n: DropNotice, lastModified = DROPPED_AT) {
  return { bucket: n.bucket, key: n.key, etag: n.etag, lastModified };
}

describe('DynamoDropperRecords on dynalite', () => {
  let dynamo: LocalDynamoDb;
  let client: ReturnType<typeof createDynamoDbClient>;
  let records: DynamoDropperRecords;
  const clock = Date.parse('2026-12-06T09:00:01.000Z');

  beforeAll(async () => {
    dynamo = await startLocalDynamoDb();
    client = createDynamoDbClient(localDynamoClientConfig(dynamo.endpoint));
    await ensureTable(client, { tableName: 'locks', partitionKey: 'datasetId' });
    records = new DynamoDropperRecords(client, 'locks', () => clock);
  });
  afterAll(async () => dynamo.close());

  it("finds the principal of a version's event, in an item that the table's TTL expires", async () => {
    // Prepare
    const dropped = notice({ key: 'incoming/d/replace/ttl.csv' });
    // Act
    await records.record(dropped);
    // Assess
    expect(await records.find(versionOf(dropped))).toBe('AWS:AROAEXAMPLE:alice');
    const item = (
      await client.send(
        new GetItemCommand({ TableName: 'locks', Key: { datasetId: { S: dropperRecordId(dropped) } } }),
      )
    ).Item;
    expect(item?.datasetId?.S).toBe(`dropped:${dropped.etag}:drop/incoming/d/replace/ttl.csv`);
    expect(Number(item?.expiresAt?.N)).toBe(clock / 1000 + 30 * 86_400);
  });

  it('keeps the latest event of a version, whatever order the events arrive in', async () => {
    const key = 'incoming/d/replace/order.csv';
    // Sequencers of different lengths compare right-padded: 0055AED6DCD90281E6 is later than 0055AED6DCD90281E5F.
    await records.record(notice({ key, sequencer: '0055AED6DCD90281E6', principalId: 'AWS:AIDABOB' }));
    await records.record(notice({ key, sequencer: '0055AED6DCD90281E5F', principalId: 'AWS:AIDAALICE' }));
    await records.record(notice({ key, sequencer: '0055AED6DCD90281E5', principalId: 'AWS:AIDAALICE' }));
    expect(await records.find(versionOf(notice({ key })))).toBe('AWS:AIDABOB');
    await records.record(notice({ key, sequencer: '0055AED6DCD90281E7', principalId: 'AWS:AIDACAROL' }));
    expect(await records.find(versionOf(notice({ key })))).toBe('AWS:AIDACAROL');
  });

  it('names nobody for a version no event was recorded of: another ETag, another key, another bucket', async () => {
    const dropped = notice({ key: 'incoming/d/replace/other.csv' });
    await records.record(dropped);
    expect(
      await records.find(versionOf({ ...dropped, etag: 'fedcba9876543210fedcba9876543210' })),
    ).toBeNull();
    expect(await records.find(versionOf({ ...dropped, key: 'incoming/d/replace/other2.csv' }))).toBeNull();
    expect(await records.find(versionOf({ ...dropped, bucket: 'another' }))).toBeNull();
  });

  it('names nobody for the same bytes dropped again later, whose own event was lost', async () => {
    // Prepare: the first drop's event was recorded; the second drop (same ETag) came a minute later.
    const first = notice({ key: 'incoming/d/replace/again.csv' });
    await records.record(first);
    // Act
    const secondDrop = await records.find(versionOf(first, new Date('2026-12-06T09:01:00.000Z')));
    // Assess: the first event is older than the version, so it is not this version's.
    expect(secondDrop).toBeNull();
    // S3's Last-Modified is truncated to the second and its clocks may differ a little.
    expect(await records.find(versionOf(first, new Date('2026-12-06T09:00:01.000Z')))).toBe(
      first.principalId,
    );
  });
});

describe('recording who dropped a file, best effort', () => {
  const failing: DropperRecords = {
    record: async () => {
      throw Object.assign(new Error('connect ECONNREFUSED'), { name: 'TimeoutError' });
    },
    find: async () => {
      throw Object.assign(new Error('connect ECONNREFUSED'), { name: 'TimeoutError' });
    },
  };

  it('logs a failure to record and goes on', async () => {
    const log = recordingLog();
    await expect(recordDropper({ droppers: failing, log }, notice())).resolves.toBeUndefined();
    expect(log.lines).toEqual([
      {
        level: 'warn',
        message: 'DROPPED_BY_NOT_RECORDED',
        fields: { key: notice().key, error: 'TimeoutError' },
      },
    ]);
  });

  it('answers null when the record cannot be read, and logs it', async () => {
    const log = recordingLog();
    expect(await dropperOf({ droppers: failing, log }, versionOf(notice()))).toBeNull();
    expect(log.lines).toEqual([
      { level: 'warn', message: 'DROPPED_BY_NOT_READ', fields: { key: notice().key, error: 'TimeoutError' } },
    ]);
  });

  it('says where to look when nobody is known: the access logs, their bucket and prefix, the key and time', () => {
    const note = unknownDropperNote('incoming/d/replace/a.csv', '2026-12-06T09:00:00.000Z');
    expect(note).toContain('droppedBy is null');
    expect(note).toContain('S3 server access logs');
    expect(note).toContain('AccessLogBucketName');
    expect(note).toContain('drop-bucket/');
    expect(note).toContain('incoming/d/replace/a.csv at 2026-12-06T09:00:00.000Z');
  });
});

describe("the upload function's reading of an S3 event", () => {
  const record = {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    eventTime: '2026-12-06T09:00:00.412Z',
    eventName: 'ObjectCreated:Put',
    userIdentity: { principalId: 'AWS:AROAEXAMPLE:alice' },
    requestParameters: { sourceIPAddress: '203.0.113.7' },
    s3: {
      bucket: { name: 'drop' },
      object: {
        key: 'incoming/d/replace/2023+population.csv',
        eTag: '0123456789abcdef0123456789abcdef',
        sequencer: '0055AED6DCD90281E5',
      },
    },
  };

  it('carries who put the object with its key', () => {
    expect(uploadSignalsOf({ Records: [record] })).toEqual([
      {
        bucket: 'drop',
        key: 'incoming/d/replace/2023 population.csv',
        notice: {
          bucket: 'drop',
          key: 'incoming/d/replace/2023 population.csv',
          etag: '0123456789abcdef0123456789abcdef',
          sequencer: '0055AED6DCD90281E5',
          principalId: 'AWS:AROAEXAMPLE:alice',
          eventTime: '2026-12-06T09:00:00.412Z',
        },
      },
    ]);
  });

  it('still reads the key of an event that names no principal', () => {
    const { userIdentity: _, ...anonymous } = record;
    expect(uploadSignalsOf({ Records: [anonymous] })).toEqual([
      { bucket: 'drop', key: 'incoming/d/replace/2023 population.csv' },
    ]);
  });
});
