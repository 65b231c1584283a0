import { createDynamoDbClient } from '../aws-clients/dynamodb.js';
import { createEventBridgeClient } from '../aws-clients/eventbridge.js';
import { createS3Client } from '../aws-clients/s3.js';
import { type DatasetLock, DynamoDatasetLock } from '../dataset-lock.js';
import { DropBucket } from '../drop-bucket.js';
import { type DropperRecords, DynamoDropperRecords } from '../dropped-by.js';
import { EventBridgeOutcomeEvents, type OutcomeEvents } from '../outcome-events.js';

/**
 * What the forwarder keeps and tells outside the write API: the drop bucket, file leases and
 * droppers in the lock table, the outcome events. Only the file and event paths, the HTTP route's
 * queueing of a large body and its PUT (which sends an event) use them, so the forwarder's handler
 * imports this module on first use: the HTTP route's usual path (a POST of up to
 * PP_HTTP_SYNC_MAX_RECORDS records) then loads none of their SDK clients.
 */
export interface ForwarderStores {
  bucket: DropBucket;
  /** File leases (lib/performance-platform/forward-file.ts), in the dataset lock table. */
  lock: DatasetLock;
  /** Who dropped which file (lib/dropped-by.ts), recorded by the upload function. */
  droppers: DropperRecords;
  events: OutcomeEvents;
}

/** The stores in AWS: one DynamoDB client for the lock table's two uses. */
export function createForwarderStores(lockTableName: string, eventBusName: string): ForwarderStores {
  const dynamoDb = createDynamoDbClient();
  return {
    bucket: new DropBucket(createS3Client()),
    lock: new DynamoDatasetLock(dynamoDb, lockTableName),
    droppers: new DynamoDropperRecords(dynamoDb, lockTableName),
    events: new EventBridgeOutcomeEvents(createEventBridgeClient(), eventBusName),
  };
}
