import { createLambdaClient } from '../lib/aws-clients/lambda.js';
import { createS3Client } from '../lib/aws-clients/s3.js';
import { loadSettings, requireSettings } from '../lib/config.js';
import { bundledDatasetDirectory } from '../lib/datasets.js';
import { DropBucket } from '../lib/drop-bucket.js';
import { type Kick, LambdaKicker } from '../lib/kicks.js';
import { lambdaHandler, metrics } from '../lib/lambda-handler.js';
import { logger } from '../lib/observability.js';
import { once } from '../lib/once.js';
import { type SweepDeps, sweepIncoming } from '../lib/publish/sweep.js';

/** Scheduled: kicks the upload function for files left in incoming/ past the bound. */
export function makeSweepHandler(deps: () => SweepDeps & { dropBucket: string }) {
  return async (): Promise<{ kicks: Kick[] }> => {
    const resolved = deps();
    return { kicks: await sweepIncoming(resolved, resolved.dropBucket) };
  };
}

const runtimeDeps = once(() => {
  const settings = loadSettings();
  const { DROP_BUCKET, UPLOAD_FUNCTION_NAME, FORWARDER_FUNCTION_NAME } = requireSettings(settings, [
    'DROP_BUCKET',
    'UPLOAD_FUNCTION_NAME',
    'FORWARDER_FUNCTION_NAME',
  ]);
  const lambda = once(() => createLambdaClient());
  return {
    settings,
    dropBucket: DROP_BUCKET,
    log: logger,
    metrics,
    now: () => new Date(),
    datasets: bundledDatasetDirectory,
    bucket: new DropBucket(createS3Client()),
    kicker: new LambdaKicker(lambda, UPLOAD_FUNCTION_NAME),
    forwarder: new LambdaKicker(lambda, FORWARDER_FUNCTION_NAME),
  };
});

export const handler = await lambdaHandler(makeSweepHandler(runtimeDeps));
