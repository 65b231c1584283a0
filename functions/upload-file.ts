import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { z } from 'zod';
import {
  createDynamoDbClient,
  createEventBridgeClient,
  createLambdaClient,
  createS3Client,
  createSfnClient,
} from '../lib/aws-clients.js';
import { loadSettings, requireSettings } from '../lib/config.js';
import { DynamoDatasetLock } from '../lib/dataset-lock.js';
import { bundledDatasetDirectory } from '../lib/datasets.js';
import { DropBucket } from '../lib/drop-bucket.js';
import { isPerformanceKey } from '../lib/drop-key.js';
import { DropRejectedError } from '../lib/errors.js';
import { StepFunctionsExecutions } from '../lib/executions.js';
import { type Kicker, LambdaKicker } from '../lib/kicks.js';
import { logger } from '../lib/observability.js';
import { EventBridgeOutcomeEvents } from '../lib/outcome-events.js';
import {
  handleDroppedKey,
  type PumpDeps,
  type PumpResult,
  pumpDataset,
} from '../lib/publish/pump-dataset.js';
import { requestPublication } from '../lib/publish/request-publication.js';
import { createDataGovSgClient, once } from '../lib/runtime.js';
import { publishRequestedSchema, uploadSignalsOf } from '../lib/schemas.js';

/**
 * The upload function: S3 ObjectCreated events on incoming/, and kicks from the sweep and from
 * the state machine when a dataset's file is done. Errors are rethrown so that Lambda's async
 * retries and the on-failure destination see them.
 */
export type UploadFunctionDeps = PumpDeps & {
  /** The drop bucket: the only bucket a Publish Dataset Requested event may name. */
  dropBucket: string;
  /** Files under incoming/performance/ belong to the Performance Platform forwarder. */
  forwarder: Kicker;
};

type UploadResult = PumpResult | { result: 'routed' | 'requested' | 'refused'; key: string };

export function makeUploadHandler(deps: () => UploadFunctionDeps) {
  return async (event: unknown): Promise<UploadResult[]> => {
    const requested = publishRequestedSchema.safeParse(event);
    if (requested.success) return [await onPublishRequested(deps(), requested.data.detail)];
    const results: UploadResult[] = [];
    for (const signal of uploadSignalsOf(event)) {
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
          ? await handleDroppedKey(deps(), signal.bucket, signal.key)
          : await pumpDataset(deps(), signal.bucket, signal.datasetId),
      );
    }
    return results;
  };
}

/**
 * A `Publish Dataset Requested` event: an object of the drop bucket, under incoming/ or elsewhere
 * (then copied into the dataset's incoming folder, whose S3 event does the rest).
 */
async function onPublishRequested(
  deps: UploadFunctionDeps,
  detail: z.infer<typeof publishRequestedSchema>['detail'],
): Promise<UploadResult> {
  try {
    if (detail.bucket !== deps.dropBucket) {
      throw new DropRejectedError(
        'KEY_LAYOUT',
        `Only objects of the drop bucket ${deps.dropBucket} can be published.`,
      );
    }
    const result = await requestPublication(deps, {
      bucket: detail.bucket,
      key: detail.key,
      ...(detail.dataset ? { datasetRef: detail.dataset } : {}),
      ...(detail.mode ? { mode: detail.mode } : {}),
    });
    if (result.action === 'kick') return handleDroppedKey(deps, detail.bucket, result.key);
    return { result: 'requested', key: result.key };
  } catch (error) {
    if (!(error instanceof DropRejectedError)) throw error;
    // Nothing to file (no file of ours moved): the requester is told by an event.
    await deps.events.publish('Dataset Publish Failed', {
      request: detail,
      error: { code: error.code, message: error.message },
    });
    deps.log.warn('PUBLISH_REQUEST_REFUSED', { key: detail.key, errorCode: error.code });
    return { result: 'refused', key: detail.key };
  }
}

const runtimeDeps = once((): UploadFunctionDeps => {
  const settings = loadSettings();
  const { LOCK_TABLE_NAME, STATE_MACHINE_ARN, FORWARDER_FUNCTION_NAME, DROP_BUCKET } = requireSettings(
    settings,
    ['LOCK_TABLE_NAME', 'STATE_MACHINE_ARN', 'FORWARDER_FUNCTION_NAME', 'DROP_BUCKET'],
  );
  return {
    dropBucket: DROP_BUCKET,
    settings,
    log: logger,
    now: () => new Date(),
    datasets: bundledDatasetDirectory,
    bucket: new DropBucket(createS3Client()),
    dgs: createDataGovSgClient(settings),
    lock: new DynamoDatasetLock(createDynamoDbClient(), LOCK_TABLE_NAME),
    events: new EventBridgeOutcomeEvents(createEventBridgeClient(), settings.EVENT_BUS_NAME),
    executions: new StepFunctionsExecutions(createSfnClient(), STATE_MACHINE_ARN),
    forwarder: new LambdaKicker(createLambdaClient(), FORWARDER_FUNCTION_NAME),
  };
});

export const handler = middy(makeUploadHandler(runtimeDeps)).use(
  injectLambdaContext(logger, { resetKeys: true }),
);
