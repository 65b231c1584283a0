import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createLambdaClient } from '../lib/aws-clients/lambda.js';
import { createS3Client } from '../lib/aws-clients/s3.js';
import { loadSettings, requireSettings } from '../lib/config.js';
import { bundledDatasetDirectory, type DatasetDirectory } from '../lib/datasets.js';
import { DropBucket } from '../lib/drop-bucket.js';
import { DROP_FOLDERS } from '../lib/drop-key.js';
import { DropRejectedError } from '../lib/errors.js';
import {
  callerArnOf,
  httpFailure,
  type JsonHttpEvent,
  jsonHttpHandler,
  jsonResponse,
} from '../lib/http-responses.js';
import { type Kicker, LambdaKicker } from '../lib/kicks.js';
import { lambdaHandler } from '../lib/lambda-handler.js';
import { type Log, logger } from '../lib/observability.js';
import { once } from '../lib/once.js';
import type { OutcomeEvents } from '../lib/outcome-events.js';
import { describeDataset } from '../lib/publish/dataset-view.js';
import { createUploadLink, requestPublication } from '../lib/publish/request-publication.js';
import type { ViewStores } from '../lib/publish/view-stores.js';
import { describeIssues, detailTypeOf, PUBLISH_REQUESTED, publishRequestedSchema } from '../lib/schemas.js';
import * as z from '../lib/zod.js';

export interface PublishRequestsDeps {
  bucket: DropBucket;
  dropBucket: string;
  /**
   * The dataset lock and data.gov.sg, for `GET /datasets/{dataset}` only: made on its first call
   * (the same each call), so the POST routes start without their clients (lib/publish/view-stores.ts).
   */
  view: () => Promise<ViewStores>;
  datasets: DatasetDirectory;
  /** Where objects outside incoming/ may be published from (COPY_SOURCE_PREFIX). */
  copySourcePrefix: string;
  /** The upload function, kicked to publish an object already under incoming/. */
  kicker: Kicker;
  /** The event bus, for a refused request event only: made on first use. */
  events: () => Promise<OutcomeEvents>;
  log: Log;
  now: () => Date;
}

const uploadsBody = z.union([
  z.strictObject({ mode: z.enum(DROP_FOLDERS), name: z.optional(z.string()) }),
  z.strictObject({ key: z.string().check(z.minLength(1)), mode: z.optional(z.enum(DROP_FOLDERS)) }),
]);

/**
 * Requests to publish, from outside the bucket's own events: the HTTP API
 * (`POST /datasets/{dataset}/uploads` for a presigned upload link or to publish a key already in
 * the bucket; `GET /datasets/{dataset}` for what waits, what is in flight, the last outcome and
 * data.gov.sg's status) and the EventBridge `Publish Dataset Requested` event.
 */
export function makePublishRequestsHandler(deps: () => PublishRequestsDeps) {
  const http = jsonHttpHandler(
    {
      log: () => deps().log,
      bodyMethods: ['POST'],
      unsupportedMediaType: 'Send a JSON body, with Content-Type: application/json.',
      malformedJson: UPLOADS_BODY_HELP,
      checkPath: (event) => datasetOf(deps(), event),
    },
    (event) => onHttp(deps(), event),
  );
  return async (event: unknown): Promise<unknown> => {
    if (detailTypeOf(event) === PUBLISH_REQUESTED) {
      const requested = publishRequestedSchema.safeParse(event);
      if (requested.success) {
        return onPublishRequested(deps(), requested.data.detail, eventSenderOf(event));
      }
      const problems = describeIssues(requested.error.issues);
      await (await deps().events()).publish('Dataset Publish Failed', {
        request: (event as { detail?: unknown }).detail ?? null,
        error: { code: 'BAD_EVENT', message: `The event's detail is not usable: ${problems}.` },
      });
      deps().log.warn('PUBLISH_REQUEST_REFUSED', { errorCode: 'BAD_EVENT' });
      return { result: 'refused', problems };
    }
    return http(event as APIGatewayProxyEventV2);
  };
}

const UPLOADS_BODY_HELP =
  'The body must be {"mode": "replace"|"append", "name"?: "<file>.csv"} or {"key": "<key in the bucket>", "mode"?: …}.';

/** The dataset of the path; a 404 answer when it names none. */
function datasetOf(
  deps: Pick<PublishRequestsDeps, 'datasets'>,
  event: Pick<APIGatewayProxyEventV2, 'pathParameters'>,
): { datasetRef: string; datasetId: string } {
  const datasetRef = event.pathParameters?.dataset ?? '';
  const datasetId = deps.datasets.resolve(datasetRef);
  if (!datasetId) {
    throw httpFailure(
      404,
      `"${datasetRef}" is neither a datasetId (d_ and 32 hex digits) nor a known alias.`,
    );
  }
  return { datasetRef, datasetId };
}

async function onHttp(
  resolved: PublishRequestsDeps,
  event: JsonHttpEvent,
): Promise<APIGatewayProxyStructuredResultV2> {
  const { datasetRef, datasetId } = datasetOf(resolved, event);
  if (event.requestContext.http.method === 'GET') {
    const view = { ...resolved, ...(await resolved.view()) };
    return jsonResponse(200, await describeDataset(view, resolved.dropBucket, datasetId));
  }
  const parsed = uploadsBody.safeParse(event.body);
  if (!parsed.success) throw httpFailure(400, UPLOADS_BODY_HELP);
  try {
    if ('key' in parsed.data) {
      const result = await requestPublication(resolved, {
        bucket: resolved.dropBucket,
        key: parsed.data.key,
        datasetRef,
        requestedBy: callerArnOf(event),
        ...(parsed.data.mode ? { mode: parsed.data.mode } : {}),
      });
      return jsonResponse(202, { accepted: true, key: result.key });
    }
    const link = await createUploadLink(resolved, {
      bucket: resolved.dropBucket,
      datasetRef,
      requestedBy: callerArnOf(event),
      mode: parsed.data.mode,
      ...(parsed.data.name ? { name: parsed.data.name } : {}),
    });
    return jsonResponse(201, link);
  } catch (error) {
    if (error instanceof DropRejectedError) throw httpFailure(400, error.message, { code: error.code });
    throw error;
  }
}

/**
 * Who sent an event, as EventBridge tells it: its `source` and account (an event carries no IAM
 * principal; CloudTrail's PutEvents record has it).
 */
function eventSenderOf(event: unknown): string | null {
  const { source, account } = (event ?? {}) as { source?: unknown; account?: unknown };
  if (typeof source !== 'string' || source === '') return null;
  return `events:${source}${typeof account === 'string' && account !== '' ? ` (account ${account})` : ''}`;
}

/**
 * A `Publish Dataset Requested` event: an object of the drop bucket, under incoming/ (handled at
 * once) or elsewhere (copied into the dataset's incoming folder, whose S3 event does the rest).
 * A request that cannot be met is answered with a `Dataset Publish Failed` event.
 */
async function onPublishRequested(
  deps: PublishRequestsDeps,
  detail: z.infer<typeof publishRequestedSchema>['detail'],
  requestedBy: string | null,
): Promise<{ result: 'accepted' | 'refused'; key: string }> {
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
      requestedBy,
    });
    return { result: 'accepted', key: result.key };
  } catch (error) {
    if (!(error instanceof DropRejectedError)) throw error;
    await (await deps.events()).publish('Dataset Publish Failed', {
      request: detail,
      error: { code: error.code, message: error.message },
    });
    deps.log.warn('PUBLISH_REQUEST_REFUSED', { key: detail.key, errorCode: error.code });
    return { result: 'refused', key: detail.key };
  }
}

const runtimeDeps = once((): PublishRequestsDeps => {
  const settings = loadSettings();
  const { DROP_BUCKET, LOCK_TABLE_NAME, UPLOAD_FUNCTION_NAME } = requireSettings(settings, [
    'DROP_BUCKET',
    'LOCK_TABLE_NAME',
    'UPLOAD_FUNCTION_NAME',
  ]);
  return {
    bucket: new DropBucket(createS3Client()),
    dropBucket: DROP_BUCKET,
    view: once(async () =>
      (await import('../lib/publish/view-stores.js')).createViewStores(settings, LOCK_TABLE_NAME),
    ),
    datasets: bundledDatasetDirectory,
    copySourcePrefix: settings.COPY_SOURCE_PREFIX,
    kicker: new LambdaKicker(
      once(() => createLambdaClient()),
      UPLOAD_FUNCTION_NAME,
    ),
    events: once(async () => {
      const { createEventBridgeClient } = await import('../lib/aws-clients/eventbridge.js');
      const { EventBridgeOutcomeEvents } = await import('../lib/outcome-events.js');
      return new EventBridgeOutcomeEvents(createEventBridgeClient(), settings.EVENT_BUS_NAME);
    }),
    log: logger,
    now: () => new Date(),
  };
});

export const handler = await lambdaHandler(makePublishRequestsHandler(runtimeDeps));
