import { createDynamoDbClient } from '../lib/aws-clients/dynamodb.js';
import { loadSettings, requireSettings } from '../lib/config.js';
import { DynamoDatasetLock } from '../lib/dataset-lock.js';
import { lambdaHandler } from '../lib/lambda-handler.js';
import { logger } from '../lib/observability.js';
import { checkIngestion, type PollDeps } from '../lib/publish/poll.js';
import { type PollState, publicationStateSchema } from '../lib/publish/publication.js';
import { createDataGovSgClient, once } from '../lib/runtime.js';
import * as z from '../lib/zod.js';

/** State machine task: one ingestion-status check and the decision that follows. */
export function makeCheckStatusHandler(deps: () => PollDeps) {
  return async (input: unknown): Promise<PollState> => {
    const state = z.parse(publicationStateSchema, input);
    logger.appendKeys({ datasetId: state.publication.datasetId, key: state.publication.sourceKey });
    return checkIngestion(deps(), state);
  };
}

const runtimeDeps = once((): PollDeps => {
  const settings = loadSettings();
  const { LOCK_TABLE_NAME } = requireSettings(settings, ['LOCK_TABLE_NAME']);
  return {
    settings,
    log: logger,
    now: () => new Date(),
    dgs: createDataGovSgClient(settings),
    lock: new DynamoDatasetLock(createDynamoDbClient(), LOCK_TABLE_NAME),
  };
});

export const handler = await lambdaHandler(makeCheckStatusHandler(runtimeDeps));
