import type { Context } from 'aws-lambda';
import { createDynamoDbClient } from '../lib/aws-clients/dynamodb.js';
import { createEventBridgeClient } from '../lib/aws-clients/eventbridge.js';
import { createLambdaClient } from '../lib/aws-clients/lambda.js';
import { createS3Client } from '../lib/aws-clients/s3.js';
import { createSfnClient } from '../lib/aws-clients/sfn.js';
import { loadSettings, requireSettings } from '../lib/config.js';
import { DynamoDatasetLock } from '../lib/dataset-lock.js';
import { bundledDatasetDirectory } from '../lib/datasets.js';
import { DropBucket } from '../lib/drop-bucket.js';
import { isDroppedFile, isPerformanceKey } from '../lib/drop-key.js';
import { DynamoDropperRecords, recordDropper } from '../lib/dropped-by.js';
import { StepFunctionsExecutions } from '../lib/executions.js';
import { type Kicker, LambdaKicker } from '../lib/kicks.js';
import { lambdaHandler, metrics } from '../lib/lambda-handler.js';
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
export type UploadFunctionDeps = PumpDeps & {
  /** Files under incoming/performance/ belong to the Performance Platform forwarder. */
  forwarder: Kicker;
};

type UploadResult = PumpResult | { result: 'routed'; key: string };

export function makeUploadHandler(deps: () => UploadFunctionDeps) {
  return async (
    event: unknown,
    context?: Pick<Context, 'getRemainingTimeInMillis'>,
  ): Promise<UploadResult[]> => {
    const results: UploadResult[] = [];
    // A send is started only if it can finish in the time this invocation has left (timeToSend).
    const timeBudget = context
      ? { totalMs: context.getRemainingTimeInMillis(), leftMs: () => context.getRemainingTimeInMillis() }
      : undefined;
    const pumpDeps = (): PumpDeps => ({ ...deps(), ...(timeBudget ? { timeBudget } : {}) });
    for (const signal of uploadSignalsOf(event)) {
      // Before anything else: the run that publishes the file may be another, much later.
      if ('notice' in signal && signal.notice && isDroppedFile(signal.key)) {
        await recordDropper(deps(), signal.notice);
      }
      if ('key' in signal && isPerformanceKey(signal.key)) {
        await deps().forwarder.kick({
          source: 'govpub.kick',
          reason: 'route',
          bucket: signal.bucket,
          key: signal.key,
        });
        results.push({ result: 'routed', key: signal.key });
        continue;
      }
      logger.appendKeys({
        bucket: signal.bucket,
        ...('key' in signal ? { key: signal.key } : { datasetId: signal.datasetId }),
      });
      results.push(
        'key' in signal
          ? await handleDroppedKey(pumpDeps(), signal.bucket, signal.key)
          : await pumpDataset(pumpDeps(), signal.bucket, signal.datasetId),
      );
    }
    return results;
  };
}

const runtimeDeps = once((): UploadFunctionDeps => {
  const settings = loadSettings();
  const { LOCK_TABLE_NAME, STATE_MACHINE_ARN, FORWARDER_FUNCTION_NAME } = requireSettings(settings, [
    'LOCK_TABLE_NAME',
    'STATE_MACHINE_ARN',
    'FORWARDER_FUNCTION_NAME',
  ]);
  // Lambda names the running function; a hand-over invokes this same function again.
  const ownName = process.env.AWS_LAMBDA_FUNCTION_NAME ?? settings.UPLOAD_FUNCTION_NAME;
  const dynamoDb = createDynamoDbClient();
  const lambda = once(() => createLambdaClient());
  return {
    settings,
    log: logger,
    metrics,
    now: () => new Date(),
    datasets: bundledDatasetDirectory,
    bucket: new DropBucket(createS3Client()),
    dgs: createDataGovSgClient(settings),
    lock: new DynamoDatasetLock(dynamoDb, LOCK_TABLE_NAME),
    droppers: new DynamoDropperRecords(dynamoDb, LOCK_TABLE_NAME),
    events: new EventBridgeOutcomeEvents(createEventBridgeClient(), settings.EVENT_BUS_NAME),
    executions: new StepFunctionsExecutions(createSfnClient(), STATE_MACHINE_ARN),
    forwarder: new LambdaKicker(lambda, FORWARDER_FUNCTION_NAME),
    ...(ownName ? { handOver: new LambdaKicker(lambda, ownName) } : {}),
  };
});

export const handler = await lambdaHandler(makeUploadHandler(runtimeDeps));
