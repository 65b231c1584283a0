import type { Readable } from 'node:stream';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { z } from 'zod';
import { createDynamoDbClient, createEventBridgeClient, createS3Client } from '../lib/aws-clients.js';
import { loadSettings, requireSettings, type Settings } from '../lib/config.js';
import { type DatasetLock, DynamoDatasetLock } from '../lib/dataset-lock.js';
import { DropBucket } from '../lib/drop-bucket.js';
import { PpTokenMissingError } from '../lib/errors.js';
import {
  bodyText,
  clientError,
  isJsonContentType,
  jsonResponse,
  serverError,
} from '../lib/http-responses.js';
import { type Log, logger } from '../lib/observability.js';
import { EventBridgeOutcomeEvents, type OutcomeEvents } from '../lib/outcome-events.js';
import type { PerformancePlatformClient } from '../lib/performance-platform/client.js';
import { createPpClient } from '../lib/performance-platform/create-client.js';
import {
  emptyDataSet,
  type ForwardResult,
  forwardRecords,
  forwardStream,
} from '../lib/performance-platform/forward.js';
import { forwardDroppedFile, PpForwardDeferredError } from '../lib/performance-platform/forward-file.js';
import { problemSummary } from '../lib/performance-platform/problems.js';
import { ppTokenProvider } from '../lib/performance-platform/tokens.js';
import { once } from '../lib/runtime.js';
import { describeIssues, detailTypeOf, kickSchema } from '../lib/schemas.js';

export const RECORDS_SUBMITTED = 'Performance Records Submitted';
const GROUP_OR_TYPE = /^[a-z0-9-]+$/;

export interface ForwarderDeps {
  client: Pick<PerformancePlatformClient, 'post' | 'empty'>;
  bucket: DropBucket;
  /** File leases (lib/performance-platform/forward-file.ts), in the dataset lock table. */
  lock: DatasetLock;
  events: OutcomeEvents;
  log: Log;
  now: () => Date;
  settings: Pick<
    Settings,
    'PP_CHUNK_SIZE' | 'PP_GENERATE_IDS' | 'PP_MAX_JSON_BYTES' | 'MAX_WAIT_SECONDS' | 'PP_FILE_LEASE_SECONDS'
  >;
}

const submittedSchema = z.object({
  'detail-type': z.literal(RECORDS_SUBMITTED),
  id: z.string().optional(),
  detail: z.object({
    dataGroup: z.string().regex(GROUP_OR_TYPE),
    dataType: z.string().regex(GROUP_OR_TYPE),
    records: z.array(z.unknown()),
  }),
});

/**
 * The Performance Platform forwarder. Three ways in, one use case: the HTTP API
 * (`POST|PUT /performance/{dataGroup}/{dataType}`), an EventBridge `Performance Records Submitted`
 * event, and files under `incoming/performance/` (kicked by the upload function and the sweep).
 */
export function makeForwarderHandler(deps: () => ForwarderDeps) {
  return async (event: unknown): Promise<unknown> => {
    if (isHttpEvent(event)) return onHttp(deps(), event);
    if (detailTypeOf(event) === RECORDS_SUBMITTED) {
      const submitted = submittedSchema.safeParse(event);
      if (submitted.success) return onSubmitted(deps(), submitted.data);
      // Retrying cannot fix a malformed detail: tell the sender instead of failing the invocation.
      const problems = describeIssues(submitted.error.issues);
      const raw = event as { id?: unknown; detail?: { dataGroup?: unknown; dataType?: unknown } };
      await deps().events.publish('Performance Records Forward Failed', {
        sourceEventId: typeof raw.id === 'string' ? raw.id : null,
        dataGroup: typeof raw.detail?.dataGroup === 'string' ? raw.detail.dataGroup : null,
        dataType: typeof raw.detail?.dataType === 'string' ? raw.detail.dataType : null,
        outcome: 'invalid',
        error: { code: 'BAD_EVENT', message: `The event's detail is not usable: ${problems}.` },
      });
      deps().log.warn('PP_EVENT_REFUSED', { problems });
      return { outcome: 'invalid', problems };
    }
    const kick = kickSchema.safeParse(event);
    if (kick.success && 'key' in kick.data) {
      const report = await forwardDroppedFile(fileDeps(deps()), kick.data.bucket, kick.data.key);
      if (report === 'held') return { outcome: 'held', reportKey: null };
      return { outcome: report?.outcome ?? 'gone', reportKey: report?.reportKey ?? null };
    }
    throw new TypeError('The forwarder received an event it does not handle');
  };
}

function isHttpEvent(event: unknown): event is APIGatewayProxyEventV2 {
  return typeof event === 'object' && event !== null && 'requestContext' in event && 'routeKey' in event;
}

async function onHttp(
  deps: ForwarderDeps,
  event: APIGatewayProxyEventV2,
): Promise<APIGatewayProxyStructuredResultV2> {
  const { dataGroup = '', dataType = '' } = event.pathParameters ?? {};
  if (!GROUP_OR_TYPE.test(dataGroup) || !GROUP_OR_TYPE.test(dataType)) {
    return clientError(400, 'The data group and data type are lower-case letters, digits and "-".');
  }
  if (!isJsonContentType(event.headers)) {
    return clientError(415, 'Send the records as JSON, with Content-Type: application/json.');
  }
  let body: unknown;
  try {
    body = JSON.parse(bodyText(event));
  } catch {
    return clientError(400, 'The body is not valid JSON.');
  }
  try {
    if (event.requestContext.http.method === 'PUT') {
      if (!Array.isArray(body) || body.length > 0) {
        return clientError(400, 'PUT only empties a data set, with the body []. Use POST to add records.');
      }
      const emptied = await emptyDataSet({ client: deps.client, log: deps.log }, dataGroup, dataType);
      return emptied.ok
        ? jsonResponse(200, { message: `${dataGroup}/${dataType} now contains 0 records` })
        : failureResponse(dataGroup, dataType, emptied.error?.kind ?? 'http', []);
    }
    if (typeof body !== 'object' || body === null) {
      return clientError(400, 'The body must be a JSON object (one record) or an array of records.');
    }
    const result = await forwardRecords(
      { client: deps.client, log: deps.log },
      {
        dataGroup,
        dataType,
        records: Array.isArray(body) ? body : [body],
        chunkSize: deps.settings.PP_CHUNK_SIZE,
        generateIds: deps.settings.PP_GENERATE_IDS,
      },
    );
    return resultResponse(result);
  } catch (error) {
    if (error instanceof PpTokenMissingError) {
      return clientError(404, `No Performance Platform token is configured for ${dataGroup}/${dataType}.`);
    }
    return serverError(deps.log, error);
  }
}

function resultResponse(result: ForwardResult): APIGatewayProxyStructuredResultV2 {
  // The failed chunk's cause (kind, status, the service's messages, token already redacted)
  // tells the caller whether sending again can help.
  const chunks = result.chunks.map(({ index, from, to, status, error }) => ({
    index,
    from,
    to,
    status,
    ...(error ? { error } : {}),
  }));
  if (result.outcome === 'forwarded' || result.outcome === 'empty') {
    return jsonResponse(200, {
      outcome: result.outcome,
      records: result.records,
      chunks,
      requestIds: result.requestIds,
    });
  }
  if (result.outcome === 'invalid') {
    // Each error has a plain-English message and backdrop's own text (backdropMessage).
    return clientError(400, `${problemSummary(result)}; nothing was sent.`, {
      errors: result.errors,
      errorCount: result.errorCount ?? result.errors.length,
      recordsWithProblems: result.recordsWithProblems ?? 0,
    });
  }
  const failed = result.chunks.find((chunk) => chunk.status === 'failed');
  return failureResponse(result.dataGroup, result.dataType, failed?.error?.kind ?? 'http', chunks);
}

function failureResponse(
  dataGroup: string,
  dataType: string,
  kind: string,
  chunks: unknown[],
): APIGatewayProxyStructuredResultV2 {
  if (kind === 'not-found')
    return clientError(404, `The Performance Platform has no data set ${dataGroup}/${dataType}.`);
  if (kind === 'unauthorised') {
    return jsonResponse(502, {
      message: 'The Performance Platform refused the token configured for this data set.',
      chunks,
    });
  }
  if (kind === 'validation' || kind === 'too-large') {
    return jsonResponse(502, {
      message: 'The Performance Platform rejected a chunk that passed our checks.',
      chunks,
    });
  }
  return jsonResponse(503, {
    message:
      'The Performance Platform did not store every chunk. Send the same request again: records have stable ids, so nothing is duplicated.',
    chunks,
  });
}

async function onSubmitted(
  deps: ForwarderDeps,
  event: z.infer<typeof submittedSchema>,
): Promise<ForwardResult> {
  const { dataGroup, dataType, records } = event.detail;
  const result = await forwardRecords(
    { client: deps.client, log: deps.log },
    {
      dataGroup,
      dataType,
      records,
      chunkSize: deps.settings.PP_CHUNK_SIZE,
      generateIds: deps.settings.PP_GENERATE_IDS,
    },
  );
  const ok = result.outcome === 'forwarded' || result.outcome === 'empty';
  const passing =
    !ok &&
    result.outcome !== 'invalid' &&
    result.chunks.some((c) => c.status === 'failed' && isPassing(c.error?.kind));
  if (passing) {
    // Thrown so that Lambda's asynchronous retries send it again; stable ids make that safe.
    throw new PpForwardDeferredError(
      `The Performance Platform did not store every chunk for ${dataGroup}/${dataType}`,
    );
  }
  await deps.events.publish(ok ? 'Performance Records Forwarded' : 'Performance Records Forward Failed', {
    sourceEventId: event.id ?? null,
    ...result,
  });
  return result;
}

function isPassing(kind: string | undefined): boolean {
  return kind === 'http' || kind === 'connection' || kind === 'timeout' || kind === 'token';
}

function fileDeps(deps: ForwarderDeps) {
  return {
    ...deps,
    forward: (request: {
      dataGroup: string;
      dataType: string;
      open: () => Promise<Readable>;
      format: 'json' | 'ndjson';
    }) =>
      forwardStream(
        { client: deps.client, log: deps.log },
        {
          ...request,
          chunkSize: deps.settings.PP_CHUNK_SIZE,
          generateIds: deps.settings.PP_GENERATE_IDS,
          maxJsonBytes: deps.settings.PP_MAX_JSON_BYTES,
        },
      ),
  };
}

const runtimeDeps = once((): ForwarderDeps => {
  const settings = loadSettings();
  const { LOCK_TABLE_NAME } = requireSettings(settings, ['LOCK_TABLE_NAME']);
  return {
    settings,
    lock: new DynamoDatasetLock(createDynamoDbClient(), LOCK_TABLE_NAME),
    log: logger,
    now: () => new Date(),
    client: createPpClient(settings, ppTokenProvider(settings)),
    bucket: new DropBucket(createS3Client()),
    events: new EventBridgeOutcomeEvents(createEventBridgeClient(), settings.EVENT_BUS_NAME),
  };
});

export const handler = middy(makeForwarderHandler(runtimeDeps)).use(
  injectLambdaContext(logger, { resetKeys: true }),
);
