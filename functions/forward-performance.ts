import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { loadSettings, requireSettings, type Settings } from '../lib/config.js';
import { PERFORMANCE_PREFIX, REQUESTED_BY_METADATA } from '../lib/drop-key.js';
import { PpForwardDeferredError, PpTokenMissingError } from '../lib/errors.js';
import {
  callerArnOf,
  httpFailure,
  type JsonHttpEvent,
  jsonHttpHandler,
  jsonResponse,
} from '../lib/http-responses.js';
import { lambdaHandler, metrics } from '../lib/lambda-handler.js';
import type { Metrics } from '../lib/metrics.js';
import { type Log, logger } from '../lib/observability.js';
import { once } from '../lib/once.js';
import type { PerformancePlatformClient } from '../lib/performance-platform/client.js';
import { createPpClient } from '../lib/performance-platform/create-client.js';
import {
  emptyDataSet,
  type ForwardResult,
  forwardRecords,
  forwardStream,
  invalidRecords,
} from '../lib/performance-platform/forward.js';
import { failureResponse, resultResponse } from '../lib/performance-platform/http-answers.js';
import type { ForwarderStores } from '../lib/performance-platform/stores.js';
import { ppTokenProvider } from '../lib/performance-platform/tokens.js';
import { describeIssues, detailTypeOf, kickSchema } from '../lib/schemas.js';
import * as z from '../lib/zod.js';

export const RECORDS_SUBMITTED = 'Performance Records Submitted';
const GROUP_OR_TYPE = /^[a-z0-9-]+$/;

export interface ForwarderDeps {
  client: Pick<PerformancePlatformClient, 'post' | 'empty'>;
  /**
   * The drop bucket, lock table and event bus, made on first use (the same each call): the HTTP
   * route's usual path needs none of them (lib/performance-platform/stores.ts).
   */
  stores: () => Promise<ForwarderStores>;
  log: Log;
  metrics: Metrics;
  now: () => Date;
  settings: Pick<
    Settings,
    | 'PP_CHUNK_SIZE'
    | 'PP_CONCURRENCY'
    | 'PP_GENERATE_IDS'
    | 'PP_MAX_JSON_BYTES'
    | 'MAX_WAIT_SECONDS'
    | 'PP_FILE_LEASE_SECONDS'
    | 'PP_HTTP_BUDGET_MS'
    | 'PP_HTTP_SYNC_MAX_RECORDS'
  >;
  /** The drop bucket, where a request too large to forward within the HTTP budget is queued as a file. */
  dropBucket: string;
}

const submittedSchema = z.object({
  'detail-type': z.literal(RECORDS_SUBMITTED),
  id: z.optional(z.string()),
  detail: z.object({
    dataGroup: z.string().check(z.regex(GROUP_OR_TYPE)),
    dataType: z.string().check(z.regex(GROUP_OR_TYPE)),
    records: z.array(z.unknown()),
  }),
});

/**
 * The Performance Platform forwarder. Three ways in, one use case: the HTTP API
 * (`POST|PUT /performance/{dataGroup}/{dataType}`), an EventBridge `Performance Records Submitted`
 * event, and files under `incoming/performance/` (kicked by the upload function and the sweep).
 */
export function makeForwarderHandler(deps: () => ForwarderDeps) {
  const http = jsonHttpHandler(
    {
      log: () => deps().log,
      bodyMethods: ['POST', 'PUT'],
      unsupportedMediaType: 'Send the records as JSON, with Content-Type: application/json.',
      malformedJson: 'The body is not valid JSON.',
      checkPath: dataSetOf,
    },
    (event) => onHttp(deps(), event),
  );
  return async (event: unknown): Promise<unknown> => {
    if (isHttpEvent(event)) return http(event);
    if (detailTypeOf(event) === RECORDS_SUBMITTED) {
      const submitted = submittedSchema.safeParse(event);
      if (submitted.success) return onSubmitted(deps(), submitted.data);
      // Retrying cannot fix a malformed detail: tell the sender instead of failing the invocation.
      const problems = describeIssues(submitted.error.issues);
      const raw = event as { id?: unknown; detail?: { dataGroup?: unknown; dataType?: unknown } };
      await (await deps().stores()).events.publish('Performance Records Forward Failed', {
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
      // The file path's code, like its stores, is loaded when a file first comes.
      const { forwardDroppedFile } = await import('../lib/performance-platform/forward-file.js');
      const report = await forwardDroppedFile(
        fileDeps(deps(), await deps().stores()),
        kick.data.bucket,
        kick.data.key,
      );
      if (report === 'held') return { outcome: 'held', reportKey: null };
      return { outcome: report?.outcome ?? 'gone', reportKey: report?.reportKey ?? null };
    }
    throw new TypeError('The forwarder received an event it does not handle');
  };
}

function isHttpEvent(event: unknown): event is APIGatewayProxyEventV2 {
  return typeof event === 'object' && event !== null && 'requestContext' in event && 'routeKey' in event;
}

/** The data set of the path; a 400 answer when it cannot be one. */
function dataSetOf(event: Pick<APIGatewayProxyEventV2, 'pathParameters'>): {
  dataGroup: string;
  dataType: string;
} {
  const { dataGroup = '', dataType = '' } = event.pathParameters ?? {};
  if (!GROUP_OR_TYPE.test(dataGroup) || !GROUP_OR_TYPE.test(dataType)) {
    throw httpFailure(400, 'The data group and data type are lower-case letters, digits and "-".');
  }
  return { dataGroup, dataType };
}

async function onHttp(deps: ForwarderDeps, event: JsonHttpEvent): Promise<APIGatewayProxyStructuredResultV2> {
  const { dataGroup, dataType } = dataSetOf(event);
  const { body } = event;
  // API Gateway gives up at 30 s: every attempt and retry fits in the budget, what does not is
  // reported not stored (send again: ids are stable).
  const deadline = deps.now().getTime() + deps.settings.PP_HTTP_BUDGET_MS;
  const clock = {
    client: deps.client,
    log: deps.log,
    metrics: deps.metrics,
    now: () => deps.now().getTime(),
  };
  try {
    if (event.requestContext.http.method === 'PUT') {
      if (!Array.isArray(body) || body.length > 0) {
        throw httpFailure(400, 'PUT only empties a data set, with the body []. Use POST to add records.');
      }
      const emptied = await emptyDataSet(clock, dataGroup, dataType, { deadline });
      if (!emptied.ok) return failureResponse(dataGroup, dataType, emptied.error?.kind ?? 'http', []);
      // Emptying destroys data: who asked is logged and announced.
      const requestedBy = callerArnOf(event);
      deps.log.warn('PP_DATA_SET_EMPTIED', {
        dataGroup,
        dataType,
        requestedBy,
        requestId: emptied.requestId,
      });
      await (await deps.stores()).events.publish('Performance Data Set Emptied', {
        dataGroup,
        dataType,
        requestedBy,
        requestId: emptied.requestId,
        emptiedAt: deps.now().toISOString(),
      });
      return jsonResponse(200, { message: `${dataGroup}/${dataType} now contains 0 records` });
    }
    if (typeof body !== 'object' || body === null) {
      throw httpFailure(400, 'The body must be a JSON object (one record) or an array of records.');
    }
    const records = Array.isArray(body) ? body : [body];
    if (records.length > deps.settings.PP_HTTP_SYNC_MAX_RECORDS) {
      // Checked now, so that the caller hears of invalid records at once, and nothing is queued.
      const refused = invalidRecords({ dataGroup, dataType, records });
      if (refused) return resultResponse(refused);
      return jsonResponse(
        202,
        await queueAsFile(
          deps,
          dataGroup,
          dataType,
          records,
          event.requestContext.requestId,
          callerArnOf(event),
        ),
      );
    }
    const result = await forwardRecords(clock, {
      dataGroup,
      dataType,
      records,
      chunkSize: deps.settings.PP_CHUNK_SIZE,
      concurrency: deps.settings.PP_CONCURRENCY,
      generateIds: deps.settings.PP_GENERATE_IDS,
      deadline,
    });
    return resultResponse(result);
  } catch (error) {
    if (error instanceof PpTokenMissingError) {
      throw httpFailure(404, `No Performance Platform token is configured for ${dataGroup}/${dataType}.`);
    }
    throw error;
  }
}

/**
 * More records than one HTTP request can forward in time: put into the drop bucket as a file
 * (incoming/performance/…), whose forwarding files a report and sends an event, as for any file.
 */
async function queueAsFile(
  deps: ForwarderDeps,
  dataGroup: string,
  dataType: string,
  records: unknown[],
  requestId: string | undefined,
  requestedBy: string | null,
): Promise<Record<string, unknown>> {
  const stamp = deps.now().toISOString().replace(/[-:.]/g, '');
  const name = `http-${stamp}-${(requestId ?? randomUUID()).replace(/[^A-Za-z0-9-]/g, '')}.json`;
  const key = `${PERFORMANCE_PREFIX}${dataGroup}/${dataType}/${name}`;
  // The caller rides on the object to the file's report, as an upload link's caller does.
  await (await deps.stores()).bucket.putJson(
    deps.dropBucket,
    key,
    records,
    requestedBy ? { [REQUESTED_BY_METADATA]: requestedBy } : undefined,
  );
  deps.log.info('PP_HTTP_QUEUED', { dataGroup, dataType, key, records: records.length });
  return {
    outcome: 'queued',
    records: records.length,
    key,
    message: `More than ${deps.settings.PP_HTTP_SYNC_MAX_RECORDS} records: forwarded as the file ${key}; its report will be under processed/performance/ or failed/performance/ (and a "Performance Records Forwarded" or "… Forward Failed" event is sent).`,
  };
}

async function onSubmitted(
  deps: ForwarderDeps,
  event: z.infer<typeof submittedSchema>,
): Promise<ForwardResult> {
  const { dataGroup, dataType, records } = event.detail;
  const result = await forwardRecords(
    { client: deps.client, log: deps.log, metrics: deps.metrics },
    {
      dataGroup,
      dataType,
      records,
      chunkSize: deps.settings.PP_CHUNK_SIZE,
      concurrency: deps.settings.PP_CONCURRENCY,
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
  await (await deps.stores()).events.publish(
    ok ? 'Performance Records Forwarded' : 'Performance Records Forward Failed',
    {
      sourceEventId: event.id ?? null,
      ...result,
    },
  );
  return result;
}

function isPassing(kind: string | undefined): boolean {
  return kind === 'http' || kind === 'connection' || kind === 'timeout' || kind === 'token';
}

function fileDeps(deps: ForwarderDeps, stores: ForwarderStores) {
  return {
    ...deps,
    ...stores,
    forward: (request: {
      dataGroup: string;
      dataType: string;
      open: () => Promise<Readable>;
      format: 'json' | 'ndjson';
    }) =>
      forwardStream(
        { client: deps.client, log: deps.log, metrics: deps.metrics },
        {
          ...request,
          chunkSize: deps.settings.PP_CHUNK_SIZE,
          concurrency: deps.settings.PP_CONCURRENCY,
          generateIds: deps.settings.PP_GENERATE_IDS,
          maxJsonBytes: deps.settings.PP_MAX_JSON_BYTES,
        },
      ),
  };
}

const runtimeDeps = once((): ForwarderDeps => {
  const settings = loadSettings();
  const { LOCK_TABLE_NAME, DROP_BUCKET } = requireSettings(settings, ['LOCK_TABLE_NAME', 'DROP_BUCKET']);
  return {
    settings,
    dropBucket: DROP_BUCKET,
    stores: once(async () => {
      const { createForwarderStores } = await import('../lib/performance-platform/stores.js');
      return createForwarderStores(LOCK_TABLE_NAME, settings.EVENT_BUS_NAME);
    }),
    log: logger,
    metrics,
    now: () => new Date(),
    client: createPpClient(settings, ppTokenProvider(settings)),
  };
});

export const handler = await lambdaHandler(makeForwarderHandler(runtimeDeps));
