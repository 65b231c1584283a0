import { randomUUID } from 'node:crypto';
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
import { type ForwarderDeps, makeForwarderHandler } from '../functions/forward-performance.js';
import { makePublishRequestsHandler, type PublishRequestsDeps } from '../functions/publish-requests.js';
import { makeCheckStatusHandler } from '../functions/sfn-check-status.js';
import { makeFileOutcomeHandler } from '../functions/sfn-file-outcome.js';
import { makeReuploadHandler } from '../functions/sfn-reupload.js';
import { makeSweepHandler } from '../functions/sweep-incoming.js';
import { makeUploadHandler, type UploadFunctionDeps } from '../functions/upload-file.js';
import { createDynamoDbClient } from '../lib/aws-clients/dynamodb.js';
import { createEventBridgeClient } from '../lib/aws-clients/eventbridge.js';
import { createLambdaClient } from '../lib/aws-clients/lambda.js';
import { createS3Client } from '../lib/aws-clients/s3.js';
import { createSfnClient } from '../lib/aws-clients/sfn.js';
import { loadSettings, type Settings } from '../lib/config.js';
import { DynamoDatasetLock } from '../lib/dataset-lock.js';
import { bundledDatasetDirectory, type DatasetDirectory } from '../lib/datasets.js';
import { localDatasetDirectory } from '../lib/datasets-local.js';
import { DropBucket } from '../lib/drop-bucket.js';
import { DynamoDropperRecords } from '../lib/dropped-by.js';
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
import { decodeS3Key } from '../lib/schemas.js';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION, localCredentials } from './aws/common.js';
import { ensureTable, localDynamoClientConfig, startLocalDynamoDb } from './aws/dynamodb.js';
import { checkPattern, matches } from './aws/event-pattern.js';
import {
  type LocalEventBridge,
  localEventBridgeClientConfig,
  startLocalEventBridge,
  toEventBridgeEnvelope,
} from './aws/eventbridge.js';
import { type LocalHttpApi, startLocalHttpApi } from './aws/http-api.js';
import { transformInput } from './aws/input-transformer.js';
import { type LocalFunction, type LocalLambda, startLocalLambda } from './aws/lambda.js';
import { type LocalS3, localS3ClientConfig, startLocalS3, toS3Event } from './aws/s3.js';
import { createLocalSns, type LocalSns } from './aws/sns.js';
import { type LocalSsm, localSsmClientConfig, startLocalSsm } from './aws/ssm.js';
import {
  type LocalStepFunctions,
  loadAslForLocalRun,
  localSfnClientConfig,
  startLocalStepFunctions,
  stateMachineArn,
  type TaskHandler,
} from './aws/step-functions.js';
import { type CfnTemplate, localTemplate } from './aws/template.js';
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
import {
  type AslDefinition,
  type BusPolicyWiring,
  type FunctionWiring,
  taskFunctions,
  type Wiring,
  WiringError,
  wiringOf,
} from './wiring.js';

export const LOCAL_BUCKET = 'govpub-local-drop';
export const LOCAL_TABLE = 'govpub-local-locks';
export const LOCAL_MACHINE = 'govpub-local-publish-dataset';
export const LOCAL_API_KEY = 'local-dev-key';
/** Where the local run keeps the API key when it reads it from SSM, as a deployed stage does. */
export const LOCAL_API_KEY_PARAMETER = '/govpub/local/dgs-api-key';
/**
 * The key id the functions sign with locally, standing for their roles in the bus policy (a
 * function in a process of its own signs with s3rver's, S3RVER: see uploadFunctionEnvironment).
 */
const LOCAL_FUNCTION_ACCESS_KEY = 'govpub-function-role';
const FUNCTION_ACCESS_KEYS = new Set([LOCAL_FUNCTION_ACCESS_KEY, 'S3RVER']);

export const UPLOAD_FUNCTION = 'upload';
const FORWARDER_FUNCTION = 'forwarder';
const FORWARDER_HTTP_FUNCTION = 'forwarderHttp';
const REQUESTS_FUNCTION = 'publishRequests';
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
  /** The upload function's time limit, given to it as Lambda's context does (default: the template's). */
  uploadTimeoutMs?: number;
  /** Time limits by function instead of the template's (tests shorten them). */
  timeoutsMs?: Record<string, number>;
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
  /**
   * The packaged template the wiring is read from (default: this checkout's, see
   * local/aws/template.ts); tests pass a changed one to show the local run follows it.
   */
  template?: CfnTemplate;
  /** Values for the template's parameters (NotifySuccesses, RequestSources, …) over their defaults. */
  parameters?: Record<string, string>;
  /** Called when the template must be packaged first (about 10 s, once per change of serverless.yml). */
  onPackage?: () => void;
  /** Run the template's schedules (the sweep every ten minutes), as `npm start` does. */
  runSchedules?: boolean;
  /** Every schedule's interval instead of the template's (tests shorten the ten minutes). */
  scheduleIntervalMs?: number;
  /** The HTTP API's integration time limit instead of the template's (tests shorten the 30 s). */
  httpTimeoutMs?: number;
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
  /** What the forwarder runs with (events and files). */
  forwarderDeps: ForwarderDeps;
  /** What the forwarder behind the HTTP routes runs with. */
  forwarderHttpDeps: ForwarderDeps;
  /** What the publish-requests function runs with. */
  publishRequestsDeps: PublishRequestsDeps;
  /** The wiring read from the packaged template: routes, rules, schedules, triggers, environments. */
  wiring: Wiring;
  /** What the notification rules sent to the topic (what its e-mail subscribers would read). */
  sns: LocalSns;
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
  const template = options.template ?? (await localTemplate(options.onPackage));
  const wiring = wiringOf(template, options.parameters);
  const functionWiring = (name: string): FunctionWiring => {
    const found = wiring.functions.find((fn) => fn.name === name);
    if (!found) throw new WiringError(`serverless.yml has no function ${name}`);
    return found;
  };
  // Resource names are the stand-ins' (the template's would carry the account and region).
  const localNames: Record<string, string> = {
    DROP_BUCKET: LOCAL_BUCKET,
    LOCK_TABLE_NAME: LOCAL_TABLE,
    STATE_MACHINE_ARN: stateMachineArn(LOCAL_MACHINE),
    // No X-Ray daemon here: the tracer is never loaded (a handler in a child process reads this).
    POWERTOOLS_TRACE_ENABLED: 'false',
  };
  /** A function's environment: the template's, pointed at the stand-ins, then the caller's. */
  const environmentOf = (name: string): Record<string, string> => {
    const fromTemplate = functionWiring(name).environment;
    return {
      ...fromTemplate,
      ...Object.fromEntries(Object.entries(localNames).filter(([key]) => key in fromTemplate)),
      // The API key from the SSM stand-in, or given directly; blank means unset.
      DGS_API_KEY_PARAMETER: ssm ? LOCAL_API_KEY_PARAMETER : '',
      ...(ssm ? {} : { DGS_API_KEY: LOCAL_API_KEY }),
      // The local write API's tokens come from config/performance-platform-local.json.
      PP_TOKEN_PARAMETER_PREFIX: '',
      ...(dataGovSg
        ? { DGS_API_BASE_URL: dataGovSg.baseUrl, UPLOAD_ALLOWED_ORIGINS: dataGovSg.uploadOrigin }
        : {}),
      ...(performancePlatform ? { PP_BASE_URL: performancePlatform.baseUrl } : {}),
      ...env,
    };
  };
  /** The template's timeout, unless the caller shortens it (tests: a function stopped mid-work). */
  const functionTimeoutMs = (name: string): number =>
    options.timeoutsMs?.[name] ??
    (name === UPLOAD_FUNCTION ? options.uploadTimeoutMs : undefined) ??
    functionWiring(name).timeoutSeconds * 1000;
  const settingsOf = memoised((name: string) => loadSettings(environmentOf(name)));
  const settings = settingsOf(UPLOAD_FUNCTION);

  const localS3 = track(
    await startLocalS3({
      buckets: [LOCAL_BUCKET],
      ...(options.s3Port ? { port: options.s3Port } : {}),
    }),
  );
  const dynamo = track(await startLocalDynamoDb());
  const eventBridge = track(
    await startLocalEventBridge({
      mayPut: (entry, caller) => busPolicyAllows(wiring.busPolicies, entry, caller.accessKeyId),
    }),
  );
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
  const droppers = new DynamoDropperRecords(dynamoClient, LOCAL_TABLE, () => now().getTime());
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
  const withHooks = (input: string | URL | Request, init?: RequestInit) => {
    if (!hooks) return fetch(input, init);
    return Promise.resolve(hooks.beforeCall('datagovsg', new URL(String(input)).pathname)).then(() =>
      fetch(input, init),
    );
  };
  const dgsOf = memoised((name: string) => {
    const own = settingsOf(name);
    return createDataGovSgClient(
      own,
      ssmProvider ? apiKeyProvider(own, () => ssmProvider) : apiKeyProvider(own),
      { sleep, ...(hooks ? { fetch: withHooks } : {}) },
    );
  });
  const eventsClient = intercepted(
    createEventBridgeClient({
      ...localEventBridgeClientConfig(eventBridge.endpoint),
      credentials: { accessKeyId: LOCAL_FUNCTION_ACCESS_KEY, secretAccessKey: 'local' },
    }),
    'events',
    hooks,
  );
  const eventsOf = memoised(
    (name: string) => new EventBridgeOutcomeEvents(eventsClient, settingsOf(name).EVENT_BUS_NAME),
  );

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
  let stepFunctionsEndpoint = '';
  const kicker = (functionName: string) => ({
    kick: (kick: Kick) =>
      new LambdaKicker(
        async () => intercepted(await createLambdaClient(lambdaConfig()), 'lambda', hooks),
        functionName,
      ).kick(kick),
  });
  /** A function named in another's environment (UPLOAD_FUNCTION_NAME, …): the template says which. */
  const required = (
    name: string,
    variable: 'UPLOAD_FUNCTION_NAME' | 'FORWARDER_FUNCTION_NAME' | 'STATE_MACHINE_ARN',
  ): string => {
    const value = settingsOf(name)[variable];
    if (!value) throw new WiringError(`serverless.yml gives ${name} no ${variable}`);
    return value;
  };
  const kickerNamedBy = (name: string, variable: 'UPLOAD_FUNCTION_NAME' | 'FORWARDER_FUNCTION_NAME') =>
    kicker(required(name, variable));
  const uploadDepsOf = memoised(
    (name: string): UploadFunctionDeps => ({
      settings: settingsOf(name),
      log,
      metrics,
      now,
      datasets,
      bucket,
      dgs: dgsOf(name),
      lock,
      droppers,
      events: eventsOf(name),
      executions: new StepFunctionsExecutions(
        intercepted(createSfnClient(localSfnClientConfig(stepFunctionsEndpoint)), 'sfn', hooks),
        required(name, 'STATE_MACHINE_ARN'),
      ),
      forwarder: kickerNamedBy(name, 'FORWARDER_FUNCTION_NAME'),
      handOver: kicker(name),
      sleep,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    }),
  );
  const localTokens = Object.fromEntries(
    ppDataSets.map((d) => [`${d.dataGroup}/${d.dataType}`, d.bearerToken]),
  );
  const forwarderDepsOf = memoised(
    (name: string): ForwarderDeps => ({
      settings: settingsOf(name),
      dropBucket: LOCAL_BUCKET,
      log,
      metrics,
      now,
      stores: async () => ({ bucket, lock, droppers, events: eventsOf(name) }),
      client: createPpClient(settingsOf(name), ppTokenProvider(settingsOf(name), localTokens)),
    }),
  );
  const publishRequestsDepsOf = memoised(
    (name: string): PublishRequestsDeps => ({
      bucket,
      dropBucket: LOCAL_BUCKET,
      view: async () => ({ lock, dgs: dgsOf(name) }),
      datasets,
      copySourcePrefix: settingsOf(name).COPY_SOURCE_PREFIX,
      kicker: kickerNamedBy(name, 'UPLOAD_FUNCTION_NAME'),
      events: async () => eventsOf(name),
      log,
      now,
    }),
  );
  const sweepHandlerOf = (name: string) =>
    makeSweepHandler(() => ({
      settings: settingsOf(name),
      log,
      metrics,
      now,
      datasets,
      bucket,
      dropBucket: LOCAL_BUCKET,
      kicker: kickerNamedBy(name, 'UPLOAD_FUNCTION_NAME'),
      forwarder: kickerNamedBy(name, 'FORWARDER_FUNCTION_NAME'),
    }));

  // Every function of the template runs here, by the handler module serverless.yml names.
  const handlerMakers: Record<string, (name: string) => LocalFunction> = {
    'functions/upload-file.handler': (name) => makeUploadHandler(() => uploadDepsOf(name)),
    'functions/forward-performance.handler': (name) => makeForwarderHandler(() => forwarderDepsOf(name)),
    'functions/publish-requests.handler': (name) =>
      makePublishRequestsHandler(() => publishRequestsDepsOf(name)),
    'functions/sweep-incoming.handler': (name) => sweepHandlerOf(name),
    'functions/sfn-check-status.handler': (name) =>
      makeCheckStatusHandler(() => ({ settings: settingsOf(name), log, now, dgs: dgsOf(name), lock })),
    'functions/sfn-reupload.handler': (name) =>
      makeReuploadHandler(() => ({
        settings: settingsOf(name),
        log,
        metrics,
        now,
        bucket,
        dgs: dgsOf(name),
        lock,
        sleep,
      })),
    'functions/sfn-file-outcome.handler': (name) =>
      makeFileOutcomeHandler(() => ({
        log,
        metrics,
        now,
        bucket,
        lock,
        events: eventsOf(name),
        dgs: dgsOf(name),
      })),
  };
  const handlers = Object.fromEntries(
    wiring.functions.map((fn) => {
      const make = handlerMakers[fn.handler];
      if (!make) {
        throw new WiringError(
          `serverless.yml's function ${fn.name} runs ${fn.handler}, which local/pipeline.ts does not know`,
        );
      }
      return [fn.name, make(fn.name)];
    }),
  ) as Record<string, LocalFunction>;
  const handlerOf = (name: string): LocalFunction => {
    const handler = handlers[name];
    if (!handler) throw new WiringError(`serverless.yml has no function ${name}`);
    return handler;
  };

  const task = (name: string, handler: TaskHandler): TaskHandler =>
    hooks ? (input) => hooks.invocation(`task:${name}`, () => handler(input)) : handler;
  const definition = JSON.parse(readFileSync(ASL_PATH, 'utf8')) as AslDefinition;
  const taskHandlers: Record<string, TaskHandler> = {};
  for (const [state, functionName] of Object.entries(taskFunctions(definition))) {
    const handler = handlerOf(functionName);
    const timeoutMs = functionWiring(functionName).timeoutSeconds * 1000;
    const startedAt = () => Date.now();
    taskHandlers[state] = task(state, (input) => {
      const start = startedAt();
      return handler(input, { getRemainingTimeInMillis: () => timeoutMs - (Date.now() - start) }) as Promise<
        Record<string, unknown>
      >;
    });
  }
  const stepFunctions = track(
    await startLocalStepFunctions({
      machines: [
        {
          name: LOCAL_MACHINE,
          definition: loadAslForLocalRun(definition),
          taskHandlers: {
            ...taskHandlers,
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
                retryIntervalOverrides: Object.fromEntries(
                  [...Object.keys(taskHandlers), 'StartNextFile'].map((state) => [state, fast]),
                ),
              }),
        },
      ],
    }),
  );
  stepFunctionsEndpoint = stepFunctions.endpoint;

  const lambdaConfig = () => ({
    endpoint: lambda.endpoint,
    region: LOCAL_REGION,
    credentials: localCredentials(),
  });
  const fn = (name: string, handler: LocalFunction): LocalFunction =>
    hooks ? (event, context) => hooks.invocation(name, () => handler(event, context)) : handler;
  const lambda = track(
    await startLocalLambda({
      timeoutsMs: Object.fromEntries(wiring.functions.map((f) => [f.name, functionTimeoutMs(f.name)])),
      ...(options.asyncRetries ? { asyncRetries: options.asyncRetries } : {}),
      functions: Object.fromEntries(wiring.functions.map((f) => [f.name, fn(f.name, handlerOf(f.name))])),
    }),
  );
  lambdaClient = await createLambdaClient(lambdaConfig());
  const sweepFunction = wiring.schedules.find(
    (schedule) => functionWiring(schedule.functionName).handler === 'functions/sweep-incoming.handler',
  )?.functionName;
  const httpApi = track(
    await startLocalHttpApi({
      ...(options.httpPort !== undefined ? { port: options.httpPort } : {}),
      routes: wiring.httpRoutes.map((route) => {
        const handler = handlerOf(route.functionName);
        const timeoutMs = functionTimeoutMs(route.functionName);
        return {
          method: route.method,
          path: route.path,
          timeoutMs: options.httpTimeoutMs ?? route.timeoutMs,
          handler: (event: APIGatewayProxyEventV2) =>
            withinFunctionTimeout(
              timeoutMs,
              (context) => handler(event, context) as Promise<APIGatewayProxyStructuredResultV2>,
            ),
        };
      }),
    }),
  );

  const deliveries = new Set<Promise<unknown>>();
  const track_ = (delivery: Promise<unknown>) => {
    const tracked = delivery.finally(() => deliveries.delete(tracked));
    deliveries.add(tracked);
  };
  // The template's rules, on the bus each names, with their whole patterns (source included).
  for (const rule of wiring.rules) checkPattern(rule.pattern);
  const sns = createLocalSns(wiring.topicArns);
  eventBridge.onEvent((event) => {
    const envelope = toEventBridgeEnvelope(event);
    for (const rule of wiring.rules) {
      if (rule.eventBusName !== event.eventBusName) continue;
      if (!matches(rule.pattern, envelope as unknown as Record<string, unknown>)) continue;
      for (const target of rule.targets) {
        if (target.kind === 'function') {
          track_(invokeAsync(target.functionName, envelope));
        } else {
          const message = target.inputTransformer
            ? transformInput(target.inputTransformer, envelope as unknown as Record<string, unknown>)
            : JSON.stringify(envelope);
          sns.publish(target.topicArn, message, rule.logicalId);
        }
      }
    }
  });

  const deliver = (record: S3EventRecord) => {
    const key = decodeS3Key(record.s3.object.key);
    // As the bucket's notification configuration: by key prefix, to its function.
    for (const trigger of wiring.bucketTriggers) {
      if (key.startsWith(trigger.prefix)) track_(invokeAsync(trigger.functionName, toS3Event([record])));
    }
  };
  const lastRecord = new Map<string, S3EventRecord>();
  const recordFor = (key: string): S3EventRecord => {
    const record = [...lastRecord.values()].find((candidate) => decodeS3Key(candidate.s3.object.key) === key);
    if (!record) throw new Error(`no event was seen for ${key}`);
    return record;
  };
  localS3.onObjectCreated((record) => {
    const key = decodeS3Key(record.s3.object.key);
    if (!wiring.bucketTriggers.some((trigger) => key.startsWith(trigger.prefix))) return;
    lastRecord.set(record.s3.object.key, record);
    if (options.deliverEvents !== false) deliver(record);
  });

  if (!sweepFunction) throw new WiringError('serverless.yml schedules no sweep');
  const sweepNow = async (): Promise<Kick[]> =>
    ((await handlerOf(sweepFunction)({}, { getRemainingTimeInMillis: () => 300_000 })) as { kicks: Kick[] })
      .kicks;
  // The template's schedules, when asked (npm start): tests run the sweep when they choose.
  const timers = options.runSchedules
    ? wiring.schedules.map((schedule) =>
        setInterval(
          () => track_(invokeAsync(schedule.functionName, scheduledEvent(schedule.logicalId))),
          options.scheduleIntervalMs ?? schedule.everyMs,
        ),
      )
    : [];

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
    deps: uploadDepsOf(UPLOAD_FUNCTION),
    forwarderDeps: forwarderDepsOf(FORWARDER_FUNCTION),
    forwarderHttpDeps: forwarderDepsOf(FORWARDER_HTTP_FUNCTION),
    publishRequestsDeps: publishRequestsDepsOf(REQUESTS_FUNCTION),
    wiring,
    sns,
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
        ...environmentOf(UPLOAD_FUNCTION),
        // A process of its own sleeps in real time: with shortened waits, confirm idle within a second.
        ...(fast === undefined ? {} : { IDLE_CONFIRM_SECONDS: '1' }),
        ...env,
      };
    },
    sweep: sweepNow,
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
      for (const timer of timers) clearInterval(timer);
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

/** One value per argument, made on first use. */
function memoised<T>(make: (name: string) => T): (name: string) => T {
  const made = new Map<string, T>();
  return (name) => {
    if (!made.has(name)) made.set(name, make(name));
    return made.get(name) as T;
  };
}

/** What API Gateway answers when the function behind a route failed or was stopped at its timeout. */
export const FUNCTION_FAILED_ANSWER: APIGatewayProxyStructuredResultV2 = {
  statusCode: 500,
  body: JSON.stringify({ message: 'Internal Server Error' }),
};

/**
 * A route's function under its own time limit: past it Lambda stops the function and API Gateway
 * answers 500. Here the handler cannot be stopped (it runs in this process): its answer is dropped.
 */
async function withinFunctionTimeout(
  timeoutMs: number,
  run: (context: { getRemainingTimeInMillis(): number }) => Promise<APIGatewayProxyStructuredResultV2>,
): Promise<APIGatewayProxyStructuredResultV2> {
  const start = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const stopped = new Promise<APIGatewayProxyStructuredResultV2>((resolve) => {
    timer = setTimeout(() => resolve(FUNCTION_FAILED_ANSWER), timeoutMs);
  });
  const answer = run({ getRemainingTimeInMillis: () => timeoutMs - (Date.now() - start) }).catch(
    () => FUNCTION_FAILED_ANSWER,
  );
  try {
    return await Promise.race([answer, stopped]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether the bus's policy (as the wiring read it) lets this caller put an entry of this source. */
function busPolicyAllows(
  policies: BusPolicyWiring[],
  entry: { eventBusName: string; source: string },
  accessKeyId: string | undefined,
): boolean {
  const policy = policies.find((candidate) => candidate.eventBusName === entry.eventBusName);
  if (!policy) return true;
  if (policy.allowedSources && !policy.allowedSources.includes(entry.source)) return false;
  return !policy.functionOnlySources.includes(entry.source) || FUNCTION_ACCESS_KEYS.has(accessKeyId ?? '');
}

/** The event a schedule rule delivers to its target (`Scheduled Event`). */
function scheduledEvent(ruleLogicalId: string): Record<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: LOCAL_ACCOUNT_ID,
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: LOCAL_REGION,
    resources: [`arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:rule/${ruleLogicalId}`],
    detail: {},
  };
}
