import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import {
  createDynamoDbClient,
  createEventBridgeClient,
  createS3Client,
  createSfnClient,
} from '../lib/aws-clients.js';
import { loadSettings, requireSettings } from '../lib/config.js';
import { DynamoDatasetLock } from '../lib/dataset-lock.js';
import { bundledDatasetDirectory } from '../lib/datasets.js';
import { DropBucket } from '../lib/drop-bucket.js';
import { StepFunctionsExecutions } from '../lib/executions.js';
import { logger } from '../lib/observability.js';
import { EventBridgeOutcomeEvents } from '../lib/outcome-events.js';
import {
  handleDroppedKey,
  type PumpDeps,
  type PumpResult,
  pumpDataset,
} from '../lib/publish/pump-dataset.js';
import { createDataGovSgClient, once } from '../lib/runtime.js';
import { uploadSignalsOf } from '../lib/schemas.js';

/**
 * The upload function: S3 ObjectCreated events on incoming/, and kicks from the sweep and from
 * the state machine when a dataset's file is done. Errors are rethrown so that Lambda's async
 * retries and the on-failure destination see them.
 */
export function makeUploadHandler(deps: () => PumpDeps) {
  return async (event: unknown): Promise<PumpResult[]> => {
    const results: PumpResult[] = [];
    for (const signal of uploadSignalsOf(event)) {
      logger.appendKeys({
        bucket: signal.bucket,
        ...('key' in signal ? { key: signal.key } : { datasetId: signal.datasetId }),
      });
      results.push(
        'key' in signal
          ? await handleDroppedKey(deps(), signal.bucket, signal.key)
          : await pumpDataset(deps(), signal.bucket, signal.datasetId),
      );
    }
    return results;
  };
}

const runtimeDeps = once((): PumpDeps => {
  const settings = loadSettings();
  const { LOCK_TABLE_NAME, STATE_MACHINE_ARN } = requireSettings(settings, [
    'LOCK_TABLE_NAME',
    'STATE_MACHINE_ARN',
  ]);
  return {
    settings,
    log: logger,
    now: () => new Date(),
    datasets: bundledDatasetDirectory,
    bucket: new DropBucket(createS3Client()),
    dgs: createDataGovSgClient(settings),
    lock: new DynamoDatasetLock(createDynamoDbClient(), LOCK_TABLE_NAME),
    events: new EventBridgeOutcomeEvents(createEventBridgeClient(), settings.EVENT_BUS_NAME),
    executions: new StepFunctionsExecutions(createSfnClient(), STATE_MACHINE_ARN),
  };
});

export const handler = middy(makeUploadHandler(runtimeDeps)).use(
  injectLambdaContext(logger, { resetKeys: true }),
);
