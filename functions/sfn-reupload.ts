import { createDynamoDbClient } from '../lib/aws-clients/dynamodb.js';
import { createS3Client } from '../lib/aws-clients/s3.js';
import { loadSettings, requireSettings } from '../lib/config.js';
import { DynamoDatasetLock } from '../lib/dataset-lock.js';
import { DropBucket } from '../lib/drop-bucket.js';
import { lambdaHandler, metrics } from '../lib/lambda-handler.js';
import { logger } from '../lib/observability.js';
import { type PublicationState, publicationStateSchema } from '../lib/publish/publication.js';
import { reuploadPublication } from '../lib/publish/reupload-task.js';
import { createDataGovSgClient, once } from '../lib/runtime.js';
import * as z from '../lib/zod.js';

export type ReuploadDeps = Parameters<typeof reuploadPublication>[0];

/** State machine task: sends the file again after data.gov.sg answered Ingestion Failed. */
export function makeReuploadHandler(deps: () => ReuploadDeps) {
  return async (input: unknown): Promise<PublicationState> => {
    const state = z.parse(publicationStateSchema, input);
    logger.appendKeys({ datasetId: state.publication.datasetId, key: state.publication.sourceKey });
    return reuploadPublication(deps(), state);
  };
}

const runtimeDeps = once((): ReuploadDeps => {
  const settings = loadSettings();
  const { LOCK_TABLE_NAME } = requireSettings(settings, ['LOCK_TABLE_NAME']);
  return {
    settings,
    log: logger,
    metrics,
    now: () => new Date(),
    bucket: new DropBucket(createS3Client()),
    dgs: createDataGovSgClient(settings),
    lock: new DynamoDatasetLock(createDynamoDbClient(), LOCK_TABLE_NAME),
  };
});

export const handler = await lambdaHandler(makeReuploadHandler(runtimeDeps));
