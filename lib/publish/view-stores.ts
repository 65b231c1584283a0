import { createDynamoDbClient } from '../aws-clients/dynamodb.js';
import type { Settings } from '../config.js';
import type { DataGovSgClient } from '../datagovsg/client.js';
import { type DatasetLock, DynamoDatasetLock } from '../dataset-lock.js';
import { createDataGovSgClient } from '../runtime.js';

/**
 * What `GET /datasets/{dataset}` reads besides the bucket: the dataset lock and data.gov.sg's
 * status. publishRequests imports this module on that route's first call, so its POST routes
 * (an upload link, a key to publish: S3 and a kick only) start without the DynamoDB and SSM
 * clients.
 */
export interface ViewStores {
  lock: DatasetLock;
  dgs: Pick<DataGovSgClient, 'ingestionStatus'>;
}

export function createViewStores(settings: Settings, lockTableName: string): ViewStores {
  return {
    lock: new DynamoDatasetLock(createDynamoDbClient(), lockTableName),
    dgs: createDataGovSgClient(settings),
  };
}
