import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  S3Event,
  S3EventRecord,
} from 'aws-lambda';
import {
  type ForwarderDeps,
  makeForwarderHandler,
  RECORDS_SUBMITTED,
} from '../functions/forward-performance.js';
import { makePublishRequestsHandler, type PublishRequestsDeps } from '../functions/publish-requests.js';
import { makeCheckStatusHandler } from '../functions/sfn-check-status.js';
import { makeFileOutcomeHandler } from '../functions/sfn-file-outcome.js';
import { makeReuploadHandler } from '../functions/sfn-reupload.js';
import { makeSweepHandler } from '../functions/sweep-incoming.js';
import { makeUploadHandler, type UploadFunctionDeps } from '../functions/upload-file.js';
import {
  createDynamoDbClient,
  createEventBridgeClient,
  createLambdaClient,
  createS3Client,
  createSfnClient,
} from '../lib/aws-clients.js';
import { loadSettings, type Settings } from '../lib/config.js';
import { DynamoDatasetLock } from '../lib/dataset-lock.js';
import { bundledDatasetDirectory, type DatasetDirectory } from '../lib/datasets.js';
import { localDatasetDirectory } from '../lib/datasets-local.js';
import { DropBucket } from '../lib/drop-bucket.js';
import { INCOMING_PREFIX } from '../lib/drop-key.js';
import { StepFunctionsExecutions } from '../lib/executions.js';
import { type Kick, LambdaKicker } from '../lib/kicks.js';
import { isLoopbackUrl } from '../lib/loopback.js';
import { type Metrics, noMetrics } from '../lib/metrics.js';
import { type Log, logger } from '../lib/observability.js';
import { EventBridgeOutcomeEvents } from '../lib/outcome-events.js';
import { outcomeSearchFor, reportKeyFor } from '../lib/outcome-keys.js';
import { createPpClient } from '../lib/performance-platform/create-client.js';
import { ppTokenProvider } from '../lib/performance-platform/tokens.js';
import type { PublishReport } from '../lib/publish/file-outcome.js';
import type { PumpDeps } from '../lib/publish/pump-dataset.js';
import { realSleep, type Sleep } from '../lib/retry.js';
import { apiKeyProvider, createDataGovSgClient } from '../lib/runtime.js';
import { decodeS3Key, PUBLISH_REQUESTED } from '../lib/schemas.js';
import { LOCAL_REGION, localCredentials } from './aws/common.js';
import { ensureTable, localDynamoClientConfig, startLocalDynamoDb } from './aws/dynamodb.js';
import {
  type LocalEventBridge,
  localEventBridgeClientConfig,
  startLocalEventBridge,
  toEventBridgeEnvelope,
} from './aws/eventbridge.js';
import { type LocalHttpApi, startLocalHttpApi } from './aws/http-api.js';
import { type LocalFunction, type LocalLambda, startLocalLambda } from './aws/lambda.js';
import { type LocalS3, localS3ClientConfig, startLocalS3, toS3Event } from './aws/s3.js';
import { type LocalSsm, localSsmClientConfig, startLocalSsm } from './aws/ssm.js';
import {
  type LocalStepFunctions,
  loadAslForLocalRun,
  localSfnClientConfig,
  startLocalStepFunctions,
  type TaskHandler,
} from './aws/step-functions.js';
import {
  type LocalDataGovSg,
  type LocalDataGovSgOptions,
  SAMPLE_DATASETS,
  startLocalDataGovSg,
} from './datagovsg/server.js';
import {
  type LocalDataSetConfig,
  type LocalPerformancePlatform,
  loadDataSetsConfig,
  startLocalPerformancePlatform,
} from './performance-platform/server.js';

export const LOCAL_BUCKET = 'govpub-local-drop';
export const LOCAL_TABLE = 'govpub-local-locks';
export const LOCAL_MACHINE = 'govpub-local-publish-dataset';
export const LOCAL_API_KEY = 'local-dev-key';
/** Where the local run keeps the API key when it reads it from SSM, as a deployed stage does. */
export const LOCAL_API_KEY_PARAMETER = '/govpub/local/dgs-api-key';
export const UPLOAD_FUNCTION = 'upload';
export const FORWARDER_FUNCTION = 'forwarder';
export const REQUESTS_FUNCTION = 'publishRequests';
const PP_CONFIG_PATH = new URL('../config/performance-platform-local.json', import.meta.url);

/** The data sets (and tokens) of the local Performance Platform, from config/performance-platform-local.json. */
export function localPpDataSets(): LocalDataSetConfig[] {
  return loadDataSetsConfig(fileURLToPath(PP_CONFIG_PATH));
}
const ASL_PATH = new URL('../statemachines/publish-dataset.asl.json', import.meta.url);

/** What a function talks to, as PipelineInterceptor.beforeCall names it. */
export type CallTarget = 's3' | 'dynamodb' | 'sfn' | 'events' | 'lambda' | 'ssm' | 'datagovsg';

/**
 * Test hooks around the functions, for faults no stand-in can script: a process killed at any
 * point of its work (a call that never returns, a body cut mid-stream, an invocation that ends in
 * Sandbox.Timedout), a lock store that fails. `invocation` runs every function invocation and
 * state machine task; `beforeCall` runs before every call a function makes and may throw or never
 * settle; `body` wraps every object body read from the drop bucket. The hooks see calls made
 * outside any invocation too (a test's own reads): telling them apart is theirs to do.
 */
export interface PipelineInterceptor {
  invocation<T>(name: string, run: () => Promise<T>): Promise<T>;
  beforeCall(target: CallTarget, operation: string): Promise<void> | undefined;
  body?(body: Readable, key: string): Readable;
}

export interface LocalPipelineOptions {
  /** Settings as environment variables (POLL_*, DGS_*, …) over the local defaults. */
  env?: Record<string, string | undefined>;
  /** Switches of the local data.gov.sg; ignored when `env.DGS_API_BASE_URL` points elsewhere. */
  dataGovSg?: Partial<LocalDataGovSgOptions>;
  /** Milliseconds each Wait state and retry interval lasts instead of the real one; real waits when omitted. */
  fastWaitMs?: number;
  datasets?: DatasetDirectory;
  s3Port?: number;
  /** Port of the local HTTP API (`POST|PUT /performance/{dataGroup}/{dataType}`); 0 = any. */
  httpPort?: number;
  /** Data sets of the local Performance Platform; default config/performance-platform-local.json. */
  ppDataSets?: LocalDataSetConfig[];
  /** Whether S3 events reach the upload function (false simulates lost events). */
  deliverEvents?: boolean;
  /**
   * Read the API key from a local SSM stand-in (as in AWS: a SecureString, with SSM's failures)
   * instead of DGS_API_KEY. Ignored when `env.DGS_API_BASE_URL` points elsewhere.
   */
  apiKeyFromSsm?: boolean;
  /** The upload function's time limit, given to it as Lambda's context does (default: none). */
  uploadTimeoutMs?: number;
  /** The clock of every function (default: the machine's); tests move it to expire leases. */
  now?: () => Date;
  interceptor?: PipelineInterceptor;
  /** Lambda's retries of failed asynchronous invocations (default: none, so failures show at once). */
  asyncRetries?: { attempts: number; delayMs: number };
  log?: Log;
  /**
   * What the functions measure (lib/metrics.ts). Default: nothing, so the console shows the
   * readable lines only; tests pass recordingMetrics() to check what would reach CloudWatch.
   */
  metrics?: Metrics;
  onProgress?: PumpDeps['onProgress'];
}

export interface LocalPipeline {
  bucket: string;
  s3: S3Client;
  settings: Settings;
  dataGovSg: LocalDataGovSg | undefined;
  /** The local backdrop-compatible write API, unless PP_BASE_URL points elsewhere. */
  performancePlatform: LocalPerformancePlatform | undefined;
  /** The Performance Platform data sets and tokens the forwarder was given. */
  ppDataSets: LocalDataSetConfig[];
  httpApi: LocalHttpApi;
  localS3: LocalS3;
  /** The SSM stand-in holding the API key, when `apiKeyFromSsm` is set. */
  ssm: LocalSsm | undefined;
  eventBridge: LocalEventBridge;
  stepFunctions: LocalStepFunctions;
  lambda: LocalLambda;
  lock: DynamoDatasetLock;
  /** What the upload function runs with, for tests that play a crashed run's part. */
  deps: UploadFunctionDeps;
  /** What the forwarder runs with. */
  forwarderDeps: ForwarderDeps;
  /** What the publish-requests function runs with. */
  publishRequestsDeps: PublishRequestsDeps;
  /** Puts an object into the drop bucket; its event reaches the upload function as in AWS. */
  drop(key: string, body: string | Buffer): Promise<void>;
  /** Delivers an ObjectCreated event for a key again (S3 delivers at least once). */
  redeliver(key: string): Promise<void>;
  /** The ObjectCreated event S3 sent for a key, as the upload function receives it. */
  s3Event(key: string): S3Event;
  /**
   * The deployed upload function's environment (serverless.yml), pointed at these stand-ins through
   * the SDK's AWS_ENDPOINT_URL_* variables, so that the real handler module can run in a process of
   * its own (tests kill one mid-upload). `env` settings are included.
   */
  uploadFunctionEnvironment(): Record<string, string>;
  /** Runs the scheduled sweep once. */
  sweep(): Promise<Kick[]>;
  /** Resolves once no function, execution or event delivery is in progress. */
  whenIdle(): Promise<void>;
  keys(prefix: string): Promise<string[]>;
  report(fileKey: string): Promise<PublishReport | undefined>;
  /**
   * The environment the govpub CLI needs to work against this run (no secret of the write API:
   * its tokens are in config/performance-platform-local.json); with shortened waits, the CLI's
   * own waits are short too.
   */
  cliEnvironment(): Record<string, string>;
  /** Every report filed for files dropped at `sourceKey`, oldest drop first (any outcome folder). */
  outcomes(sourceKey: string): Promise<PublishReport[]>;
  close(): Promise<void>;
}

/**
 * The whole pipeline on one machine: the real handlers, wired as serverless.yml wires them in
 * AWS, talking through the real SDK clients to local stand-ins that speak the AWS protocols
 * (s3rver, dynalite, a Step Functions endpoint executing statemachines/publish-dataset.asl.json,
 * EventBridge and Lambda endpoints) and to the local data.gov.sg unless a real one is configured.
 */
export async function startLocalPipeline(options: LocalPipelineOptions = {}): Promise<LocalPipeline> {
  const started: Closable[] = [];
  try {
    return await assemblePipeline(options, (part) => {
      started.push(part);
      return part;
    });
  } catch (error) {
    // A part that could not start (a port in use) leaves none running, nor s3rver's directory.
    await Promise.allSettled(started.reverse().map((part) => part.close()));
    throw error;
  }
}

interface Closable {
  close(): Promise<unknown>;
}

async function assemblePipeline(
  options: LocalPipelineOptions,
  track: <T extends Closable>(part: T) => T,
): Promise<LocalPipeline> {
  // Blank variables mean "unset" (as in loadSettings), so they never hide a local default.
  const env = Object.fromEntries(Object.entries(options.env ?? {}).filter(([, value]) => value)) as Record<
    string,
    string
  >;
  const external = Boolean(env.DGS_API_BASE_URL);
  const ppDataSets = options.ppDataSets ?? localPpDataSets();
  const performancePlatform = env.PP_BASE_URL
    ? undefined
    : track(await startLocalPerformancePlatform({ dataSets: ppDataSets }));
  const dataGovSg = external
    ? undefined
    : track(
        await startLocalDataGovSg({
          apiKeys: [LOCAL_API_KEY],
          datasets: SAMPLE_DATASETS,
          ...options.dataGovSg,
        }),
      );
  const ssm = options.apiKeyFromSsm && !external ? track(await startLocalSsm()) : undefined;
  ssm?.put(LOCAL_API_KEY_PARAMETER, LOCAL_API_KEY);
  const settings = loadSettings({
    ...(ssm ? { DGS_API_KEY_PARAMETER: LOCAL_API_KEY_PARAMETER } : { DGS_API_KEY: LOCAL_API_KEY }),
    LOCK_TABLE_NAME: LOCAL_TABLE,
    DROP_BUCKET: LOCAL_BUCKET,
    UPLOAD_FUNCTION_NAME: UPLOAD_FUNCTION,
    FORWARDER_FUNCTION_NAME: FORWARDER_FUNCTION,
    ...(dataGovSg
      ? { DGS_API_BASE_URL: dataGovSg.baseUrl, UPLOAD_ALLOWED_ORIGINS: dataGovSg.uploadOrigin }
      : {}),
    ...(performancePlatform ? { PP_BASE_URL: performancePlatform.baseUrl } : {}),
    ...env,
  });

  const localS3 = track(
    await startLocalS3({
      buckets: [LOCAL_BUCKET],
      ...(options.s3Port ? { port: options.s3Port } : {}),
    }),
  );
  const dynamo = track(await startLocalDynamoDb());
  const eventBridge = track(await startLocalEventBridge());
  const hooks = options.interceptor;
  const s3 = intercepted(createS3Client(localS3ClientConfig(localS3.endpoint)), 's3', hooks);
  const dynamoClient = intercepted(
    createDynamoDbClient(localDynamoClientConfig(dynamo.endpoint)),
    'dynamodb',
    hooks,
  );
  await ensureTable(dynamoClient, { tableName: LOCAL_TABLE, partitionKey: 'datasetId' });

  const log = options.log ?? logger;
  const metrics = options.metrics ?? noMetrics;
  const now = options.now ?? (() => new Date());
  // The stand-in's sample aliases only where data.gov.sg is a stand-in on this machine: against a
  // real one, a sample alias could name a real dataset.
  const samples = !external || isLoopbackUrl(env.DGS_API_BASE_URL);
  const datasets = options.datasets ?? (samples ? localDatasetDirectory : bundledDatasetDirectory);
  const bucket = new DropBucket(s3);
  const lock = new DynamoDatasetLock(dynamoClient, LOCAL_TABLE, () => now().getTime());
  const fast = options.fastWaitMs;
  // With shortened waits, every wait in the functions (retry backoff, the idle confirmation) is shortened too.
  const sleep: Sleep = fast === undefined ? realSleep : () => realSleep(fast);
  const ssmProvider = ssm
    ? new SSMProvider({
        awsSdkV3Client: intercepted(
          new SSMClient({ ...localSsmClientConfig(ssm.endpoint), maxAttempts: 2 }),
          'ssm',
          hooks,
        ),
      })
    : undefined;
  const dgs = createDataGovSgClient(
    settings,
    ssmProvider ? apiKeyProvider(settings, () => ssmProvider) : apiKeyProvider(settings),
    {
      sleep,
      ...(hooks
        ? {
            fetch: async (input: string | URL | Request, init?: RequestInit) => {
              await hooks.beforeCall('datagovsg', new URL(String(input)).pathname);
              return fetch(input, init);
            },
          }
        : {}),
    },
  );
  const events = new EventBridgeOutcomeEvents(
    intercepted(createEventBridgeClient(localEventBridgeClientConfig(eventBridge.endpoint)), 'events', hooks),
    settings.EVENT_BUS_NAME,
  );
  const task = (name: string, handler: TaskHandler): TaskHandler =>
    hooks ? (input) => hooks.invocation(`task:${name}`, () => handler(input)) : handler;

  // The Lambda endpoint needs the upload handler, which needs the Step Functions endpoint,
  // whose machine needs the Lambda endpoint to start the next file: bind late through this.
  let lambdaClient: LambdaClient | undefined;
  const invokeAsync = async (functionName: string, payload: unknown) => {
    if (!lambdaClient) throw new Error('local Lambda endpoint not started');
    await lambdaClient.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'Event',
        Payload: JSON.stringify(payload),
      }),
    );
  };

  const stepFunctions = track(
    await startLocalStepFunctions({
      machines: [
        {
          name: LOCAL_MACHINE,
          definition: loadAslForLocalRun(JSON.parse(readFileSync(ASL_PATH, 'utf8'))),
          taskHandlers: {
            CheckIngestionStatus: task(
              'CheckIngestionStatus',
              makeCheckStatusHandler(() => ({ settings, log, now, dgs, lock })),
            ),
            Reupload: task(
              'Reupload',
              makeReuploadHandler(() => ({ settings, log, metrics, now, bucket, dgs, lock, sleep })),
            ),
            FileOutcome: task(
              'FileOutcome',
              makeFileOutcomeHandler(() => ({ log, metrics, now, bucket, lock, events, dgs })),
            ),
            StartNextFile: async (input) => {
              const { FunctionName, Payload } = input as { FunctionName: string; Payload: unknown };
              await invokeAsync(FunctionName, Payload);
              return {};
            },
          },
          ...(fast === undefined
            ? {}
            : {
                waitTimeOverrides: { WaitForIngestion: fast, WaitBeforeReupload: fast },
                retryIntervalOverrides: {
                  CheckIngestionStatus: fast,
                  Reupload: fast,
                  FileOutcome: fast,
                  StartNextFile: fast,
                },
              }),
        },
      ],
    }),
  );

  const lambdaConfig = () => ({
    endpoint: lambda.endpoint,
    region: LOCAL_REGION,
    credentials: localCredentials(),
  });
  const kicker = (functionName: string) => ({
    kick: (kick: Kick) =>
      new LambdaKicker(intercepted(createLambdaClient(lambdaConfig()), 'lambda', hooks), functionName).kick(
        kick,
      ),
  });
  const uploadDeps: UploadFunctionDeps = {
    settings,
    log,
    metrics,
    now,
    datasets,
    bucket,
    dgs,
    lock,
    events,
    executions: new StepFunctionsExecutions(
      intercepted(createSfnClient(localSfnClientConfig(stepFunctions.endpoint)), 'sfn', hooks),
      stepFunctions.stateMachineArn(LOCAL_MACHINE),
    ),
    forwarder: kicker(FORWARDER_FUNCTION),
    handOver: kicker(UPLOAD_FUNCTION),
    sleep,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  };
  const localTokens = Object.fromEntries(
    ppDataSets.map((d) => [`${d.dataGroup}/${d.dataType}`, d.bearerToken]),
  );
  const forwarderDeps: ForwarderDeps = {
    settings,
    dropBucket: LOCAL_BUCKET,
    log,
    metrics,
    now,
    bucket,
    lock,
    events,
    client: createPpClient(settings, ppTokenProvider(settings, localTokens)),
  };
  const forwarder = makeForwarderHandler(() => forwarderDeps);
  const publishRequestsDeps: PublishRequestsDeps = {
    bucket,
    dropBucket: LOCAL_BUCKET,
    lock,
    dgs,
    datasets,
    copySourcePrefix: settings.COPY_SOURCE_PREFIX,
    kicker: kicker(UPLOAD_FUNCTION),
    events,
    log,
    now,
  };
  const publishRequests = makePublishRequestsHandler(() => publishRequestsDeps);
  const fn = (name: string, handler: LocalFunction): LocalFunction =>
    hooks ? (event, context) => hooks.invocation(name, () => handler(event, context)) : handler;
  const lambda = track(
    await startLocalLambda({
      ...(options.uploadTimeoutMs ? { timeoutsMs: { [UPLOAD_FUNCTION]: options.uploadTimeoutMs } } : {}),
      ...(options.asyncRetries ? { asyncRetries: options.asyncRetries } : {}),
      functions: {
        [UPLOAD_FUNCTION]: fn(
          UPLOAD_FUNCTION,
          makeUploadHandler(() => uploadDeps),
        ),
        [FORWARDER_FUNCTION]: fn(FORWARDER_FUNCTION, forwarder),
        [REQUESTS_FUNCTION]: fn(REQUESTS_FUNCTION, publishRequests),
      },
    }),
  );
  lambdaClient = createLambdaClient(lambdaConfig());
  const sweepHandler = makeSweepHandler(() => ({
    settings,
    log,
    metrics,
    now,
    datasets,
    bucket,
    dropBucket: LOCAL_BUCKET,
    kicker: kicker(UPLOAD_FUNCTION),
    forwarder: kicker(FORWARDER_FUNCTION),
  }));
  const httpApi = track(
    await startLocalHttpApi({
      ...(options.httpPort !== undefined ? { port: options.httpPort } : {}),
      routes: [
        ...['POST', 'PUT'].map((method) => ({
          method,
          path: '/performance/{dataGroup}/{dataType}',
          handler: async (event: APIGatewayProxyEventV2) =>
            (await forwarder(event)) as APIGatewayProxyStructuredResultV2,
        })),
        { method: 'POST', path: '/datasets/{dataset}/uploads' },
        { method: 'GET', path: '/datasets/{dataset}' },
      ].map((route) => ({
        handler: async (event: APIGatewayProxyEventV2) =>
          (await publishRequests(event)) as APIGatewayProxyStructuredResultV2,
        ...route,
      })),
    }),
  );
  // As serverless.yml's EventBridge rules: each detail type goes to its function.
  const eventTargets: Record<string, string> = {
    [RECORDS_SUBMITTED]: FORWARDER_FUNCTION,
    [PUBLISH_REQUESTED]: REQUESTS_FUNCTION,
  };
  eventBridge.onEvent((event) => {
    const target = eventTargets[event.detailType];
    if (!target) return;
    const delivery = invokeAsync(target, toEventBridgeEnvelope(event)).finally(() =>
      deliveries.delete(delivery),
    );
    deliveries.add(delivery);
  });

  const deliveries = new Set<Promise<unknown>>();
  const deliver = (record: S3EventRecord) => {
    const delivery = invokeAsync(UPLOAD_FUNCTION, toS3Event([record])).finally(() =>
      deliveries.delete(delivery),
    );
    deliveries.add(delivery);
  };
  const lastRecord = new Map<string, S3EventRecord>();
  const recordFor = (key: string): S3EventRecord => {
    const record = [...lastRecord.values()].find((candidate) => decodeS3Key(candidate.s3.object.key) === key);
    if (!record) throw new Error(`no event was seen for ${key}`);
    return record;
  };
  localS3.onObjectCreated((record) => {
    // As serverless.yml's notification filter: only keys under incoming/ reach the function.
    if (!decodeS3Key(record.s3.object.key).startsWith(INCOMING_PREFIX)) return;
    lastRecord.set(record.s3.object.key, record);
    if (options.deliverEvents !== false) deliver(record);
  });

  const whenIdle = async () => {
    for (let quiet = 0; quiet < 2; ) {
      const busy =
        deliveries.size > 0 ||
        lambda.invocations().some((i) => i.status === 'RUNNING') ||
        stepFunctions.executions().some((e) => e.status === 'RUNNING');
      await Promise.all([...deliveries]);
      await lambda.whenIdle();
      await stepFunctions.whenIdle();
      quiet = busy ? 0 : quiet + 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };

  const readReport = async (fileKey: string): Promise<PublishReport | undefined> => {
    try {
      const output = await s3.send(
        new GetObjectCommand({ Bucket: LOCAL_BUCKET, Key: reportKeyFor(fileKey) }),
      );
      return JSON.parse(await (output.Body?.transformToString() ?? Promise.resolve('null'))) as PublishReport;
    } catch {
      return undefined;
    }
  };

  return {
    bucket: LOCAL_BUCKET,
    s3,
    settings,
    dataGovSg,
    localS3,
    ssm,
    eventBridge,
    stepFunctions,
    lambda,
    lock,
    deps: uploadDeps,
    forwarderDeps,
    publishRequestsDeps,
    performancePlatform,
    ppDataSets,
    httpApi,
    async drop(key, body) {
      await s3.send(
        new PutObjectCommand({ Bucket: LOCAL_BUCKET, Key: key, Body: body, ContentType: 'text/csv' }),
      );
    },
    async redeliver(key) {
      deliver(recordFor(key));
    },
    s3Event(key) {
      return toS3Event([recordFor(key)]);
    },
    uploadFunctionEnvironment() {
      return {
        AWS_REGION: LOCAL_REGION,
        // s3rver wants its own key id; the other stand-ins accept any signature.
        AWS_ACCESS_KEY_ID: 'S3RVER',
        AWS_SECRET_ACCESS_KEY: 'S3RVER',
        AWS_ENDPOINT_URL_S3: localS3.endpoint,
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
        AWS_ENDPOINT_URL_SFN: stepFunctions.endpoint,
        AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.endpoint,
        AWS_ENDPOINT_URL_LAMBDA: lambda.endpoint,
        POWERTOOLS_SERVICE_NAME: 'govpub',
        DROP_BUCKET: LOCAL_BUCKET,
        LOCK_TABLE_NAME: LOCAL_TABLE,
        EVENT_BUS_NAME: settings.EVENT_BUS_NAME,
        DGS_API_BASE_URL: settings.DGS_API_BASE_URL,
        DGS_API_KEY: settings.DGS_API_KEY ?? '',
        UPLOAD_ALLOWED_ORIGINS: settings.UPLOAD_ALLOWED_ORIGINS.join(','),
        FORWARDER_FUNCTION_NAME: FORWARDER_FUNCTION,
        STATE_MACHINE_ARN: stepFunctions.stateMachineArn(LOCAL_MACHINE),
        // A process of its own sleeps in real time: with shortened waits, confirm idle within a second.
        ...(fast === undefined ? {} : { IDLE_CONFIRM_SECONDS: '1' }),
        ...env,
      };
    },
    async sweep() {
      return (await sweepHandler()).kicks;
    },
    whenIdle,
    async keys(prefix) {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: LOCAL_BUCKET, Prefix: prefix }));
      return (listed.Contents ?? []).map((item) => item.Key ?? '').sort();
    },
    async outcomes(sourceKey) {
      const found = (
        await Promise.all(
          outcomeSearchFor(sourceKey).map(async ({ prefix, parse }) =>
            (await bucket.listReports(LOCAL_BUCKET, prefix)).flatMap((object) => parse(object.key) ?? []),
          ),
        )
      ).flat();
      const reports = (await Promise.all(found.map((filed) => readReport(filed.fileKey)))).filter(
        (report): report is PublishReport => report !== undefined,
      );
      // Stamps hold the drop time to the second only: within a second, the filing order tells.
      const order = (report: PublishReport) => `${report.times.droppedAt} ${report.times.finishedAt}`;
      return reports.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
    },
    report: readReport,
    cliEnvironment() {
      return {
        ...(dataGovSg
          ? {
              DGS_API_BASE_URL: dataGovSg.baseUrl,
              DGS_API_KEY: LOCAL_API_KEY,
              UPLOAD_ALLOWED_ORIGINS: dataGovSg.uploadOrigin,
            }
          : {}),
        // Not DROP_BUCKET: without --endpoint, `status` would then look for it in AWS.
        ...(performancePlatform ? { PP_BASE_URL: performancePlatform.baseUrl } : {}),
        ...(fast === undefined
          ? {}
          : { POLL_FIRST_WAIT_SECONDS: '1', POLL_MAX_WAIT_SECONDS: '1', IDLE_CONFIRM_SECONDS: '1' }),
      };
    },
    async close() {
      await stepFunctions.close();
      await lambda.close();
      await httpApi.close();
      await Promise.all([
        localS3.close(),
        dynamo.close(),
        eventBridge.close(),
        dataGovSg?.close(),
        performancePlatform?.close(),
        ssm?.close(),
      ]);
    },
  };
}

/** A client with the interceptor's hooks at its edge: each call, and each body read from S3. */
function intercepted<C>(client: C, target: CallTarget, hooks: PipelineInterceptor | undefined): C {
  if (!hooks) return client;
  const stack = (client as unknown as InterceptableClient).middlewareStack;
  stack.add(
    (next, context) => async (args) => {
      await hooks.beforeCall(target, context.commandName ?? '');
      const result = await next(args);
      const output = result.output as { Body?: unknown } | undefined;
      const key = (args.input as { Key?: unknown }).Key;
      if (
        hooks.body &&
        context.commandName === 'GetObjectCommand' &&
        output?.Body &&
        typeof key === 'string'
      ) {
        output.Body = withSdkReaders(hooks.body(output.Body as Readable, key));
      }
      return result;
    },
    { step: 'initialize', name: 'pipelineInterceptor' },
  );
  return client;
}

/** A wrapped body keeps the readers the SDK's own bodies have (getJson reads with them). */
function withSdkReaders(body: Readable): Readable {
  const bytes = async () => Buffer.concat(await body.toArray());
  return Object.assign(body, {
    transformToByteArray: async () => new Uint8Array(await bytes()),
    transformToString: async (encoding?: BufferEncoding) => (await bytes()).toString(encoding ?? 'utf8'),
  });
}

/** The part of an SDK v3 client's middleware stack the interceptor uses. */
interface InterceptableClient {
  middlewareStack: {
    add(
      middleware: (
        next: (args: { input: unknown }) => Promise<{ output: unknown }>,
        context: { commandName?: string },
      ) => (args: { input: unknown }) => Promise<{ output: unknown }>,
      options: { step: 'initialize'; name: string },
    ): void;
  };
}
