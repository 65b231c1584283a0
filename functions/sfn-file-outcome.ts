import { createDynamoDbClient } from '../lib/aws-clients/dynamodb.js';
import { createEventBridgeClient } from '../lib/aws-clients/eventbridge.js';
import { createS3Client } from '../lib/aws-clients/s3.js';
import { loadSettings, requireSettings } from '../lib/config.js';
import { DynamoDatasetLock } from '../lib/dataset-lock.js';
import { DropBucket } from '../lib/drop-bucket.js';
import { lambdaHandler, metrics } from '../lib/lambda-handler.js';
import { logger } from '../lib/observability.js';
import { once } from '../lib/once.js';
import { EventBridgeOutcomeEvents } from '../lib/outcome-events.js';
import type { PublishReport } from '../lib/publish/file-outcome.js';
import { fileOutcomeOfPublication } from '../lib/publish/file-outcome-task.js';
import { publicationStateSchema } from '../lib/publish/publication.js';
import * as z from '../lib/zod.js';

/** What the state machine keeps of a filed outcome (the report itself is in S3). */
export interface FiledOutcome {
  outcome: PublishReport['outcome'];
  fileKey: string;
  reportKey: string;
  errorCode: string | null;
}

/** State machine task: files the report, moves the file, sends the event, frees the dataset. */
export type FileOutcomeTaskDeps = Parameters<typeof fileOutcomeOfPublication>[0];

export function makeFileOutcomeHandler(deps: () => FileOutcomeTaskDeps) {
  return async (input: unknown): Promise<FiledOutcome> => {
    const state = z.parse(publicationStateSchema, input);
    logger.appendKeys({ datasetId: state.publication.datasetId, key: state.publication.sourceKey });
    const report = await fileOutcomeOfPublication(deps(), state);
    return {
      outcome: report.outcome,
      fileKey: report.fileKey,
      reportKey: report.reportKey,
      errorCode: report.error?.code ?? null,
    };
  };
}

const runtimeDeps = once((): FileOutcomeTaskDeps => {
  const settings = loadSettings();
  const { LOCK_TABLE_NAME } = requireSettings(settings, ['LOCK_TABLE_NAME']);
  const dataGovSg = once(async () => (await import('../lib/runtime.js')).createDataGovSgClient(settings));
  return {
    log: logger,
    metrics,
    now: () => new Date(),
    bucket: new DropBucket(createS3Client()),
    lock: new DynamoDatasetLock(createDynamoDbClient(), LOCK_TABLE_NAME),
    events: new EventBridgeOutcomeEvents(createEventBridgeClient(), settings.EVENT_BUS_NAME),
    // data.gov.sg is asked only for a failures list too long for the state: its client, and SSM's
    // for the key, are loaded then, not at every cold start.
    dgs: { ingestionStatus: async (datasetId) => (await dataGovSg()).ingestionStatus(datasetId) },
  };
});

export const handler = await lambdaHandler(makeFileOutcomeHandler(runtimeDeps));
