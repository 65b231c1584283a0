/**
 * Section 7: what a publication costs. Files are dropped across many datasets into the whole local
 * pipeline (the template's wiring, every function, the state machine) and every billable thing
 * it does is counted: Lambda invocations and their GB-seconds by function, state transitions,
 * DynamoDB reads and writes, S3 requests by price class, EventBridge events, data.gov.sg calls.
 * The counts become the AWS cost of 1 000 publications a day at the stated prices
 * (prices-ap-southeast-1.json). Files per minute are measured too: one file at a time per
 * dataset, datasets in parallel.
 */
import { readFileSync } from 'node:fs';
import { PutObjectCommand, paginateListObjectsV2, S3Client } from '@aws-sdk/client-s3';
import { loadSettings } from '../../lib/config.js';
import { localS3ClientConfig } from '../../local/aws/s3.js';
import type { LocalDatasetConfig } from '../../local/datagovsg/types.js';
import { type CallTarget, startLocalPipeline } from '../../local/pipeline.js';
import { type AslDefinition, taskFunctions } from '../../local/wiring.js';

export interface CostBenchOptions {
  files: number;
  datasets: number;
  log: (message: string) => void;
}

export interface Prices {
  region: string;
  asOf: string;
  lambdaArm64PerGbSecond: number;
  lambdaPerRequest: number;
  stepFunctionsStandardPerTransition: number;
  dynamoDbPerWriteRequestUnit: number;
  dynamoDbPerReadRequestUnit: number;
  s3PerPutCopyPostListRequest: number;
  s3PerGetHeadRequest: number;
  eventBridgePerCustomEvent: number;
  snsPerEmailNotification: number;
}

/** Per published file. */
export interface PerFile {
  invocations: Record<string, number>;
  /** GB-seconds measured here (waits shortened), by function. */
  gbSeconds: Record<string, number>;
  /** GB-seconds of the waits a deployed function spends that the bench shortened (the idle confirmation). */
  waitGbSeconds: number;
  transitions: number;
  dynamoDbReads: number;
  dynamoDbWrites: number;
  s3PutClass: number;
  s3GetClass: number;
  events: number;
  dataGovSgCalls: Record<string, number>;
}

export interface CostBenchResult {
  files: number;
  datasets: number;
  published: number;
  seconds: number;
  filesPerMinute: number;
  perFile: PerFile;
  /** Every call of the functions, by service and operation (the raw counts). */
  calls: Record<string, number>;
  prices: Prices;
  /** USD for 1 000 publications, by item. */
  costPer1000: Record<string, number>;
}

const PRICES_PATH = new URL('./prices-ap-southeast-1.json', import.meta.url);
/** S3 bills these as PUT/COPY/POST/LIST requests; GET and HEAD are the cheaper class; DELETE is free. */
const S3_PUT_CLASS = new Set([
  'PutObjectCommand',
  'CopyObjectCommand',
  'UploadPartCopyCommand',
  'UploadPartCommand',
  'CreateMultipartUploadCommand',
  'CompleteMultipartUploadCommand',
  'ListObjectsV2Command',
]);
const S3_GET_CLASS = new Set(['GetObjectCommand', 'HeadObjectCommand']);
const DYNAMODB_READS = new Set(['GetItemCommand', 'QueryCommand', 'ScanCommand']);
const DYNAMODB_WRITES = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand']);
const ASL_PATH = new URL('../../statemachines/publish-dataset.asl.json', import.meta.url);

export async function runCostBench(options: CostBenchOptions): Promise<CostBenchResult> {
  const prices = JSON.parse(readFileSync(PRICES_PATH, 'utf8')) as Prices;
  const datasets = generatedDatasets(options.datasets);
  const calls = new Map<string, number>();
  const durations = new Map<string, number>();
  const invocations = new Map<string, number>();
  const functionOfTask = taskFunctions(JSON.parse(readFileSync(ASL_PATH, 'utf8')) as AslDefinition);
  const silent = { debug() {}, info() {}, warn() {}, error() {} };
  const pipeline = await startLocalPipeline({
    fastWaitMs: 5,
    dataGovSg: { datasets, stepDelayMs: 5 },
    log: silent,
    interceptor: {
      async invocation(name, run) {
        // A state machine task is an invocation of the function its Task state names.
        const functionName = name.startsWith('task:') ? (functionOfTask[name.slice(5)] ?? name) : name;
        const started = performance.now();
        try {
          return await run();
        } finally {
          invocations.set(functionName, (invocations.get(functionName) ?? 0) + 1);
          durations.set(functionName, (durations.get(functionName) ?? 0) + (performance.now() - started));
        }
      },
      beforeCall(target: CallTarget, operation: string) {
        const name = `${target}:${operation.replace(/d_[0-9a-z]{32}/, '{datasetId}')}`;
        calls.set(name, (calls.get(name) ?? 0) + 1);
        return undefined;
      },
    },
  });
  // The driver's own puts go through a client of its own: only the functions' calls are counted.
  const driver = new S3Client(localS3ClientConfig(pipeline.localS3.endpoint));
  try {
    const perDataset = Math.ceil(options.files / options.datasets);
    const keys: string[] = [];
    for (let index = 0; index < options.files; index++) {
      const dataset = datasets[index % datasets.length] as LocalDatasetConfig;
      const sequence = Math.floor(index / datasets.length);
      keys.push(
        `incoming/${dataset.datasetId}/${sequence === 0 ? 'replace' : 'append'}/${String(sequence).padStart(3, '0')}.csv`,
      );
    }
    options.log(`cost: dropping ${keys.length} files into ${datasets.length} datasets (${perDataset} each)`);
    const started = performance.now();
    // In key order per dataset, as a person would drop a month's files one after another.
    for (const key of keys) {
      await driver.send(
        new PutObjectCommand({
          Bucket: pipeline.bucket,
          Key: key,
          Body: 'year,count\n2024,1\n2025,2\n',
          ContentType: 'text/csv',
        }),
      );
    }
    await pipeline.whenIdle();
    const seconds = (performance.now() - started) / 1000;
    const published = await countReports(driver, pipeline.bucket, 'processed/');
    if (published !== keys.length) {
      throw new Error(`published ${published} of ${keys.length} files: the counts would not be per file`);
    }
    const perFile = (value: number) => value / published;
    const memoryOf = (name: string) =>
      pipeline.wiring.functions.find((fn) => fn.name === name)?.memoryMb ?? 0;
    const byFunction = (map: Map<string, number>, scale: (name: string, value: number) => number) =>
      Object.fromEntries([...map].sort().map(([name, value]) => [name, perFile(scale(name, value))]));
    const count = (predicate: (name: string) => boolean) =>
      perFile([...calls].filter(([name]) => predicate(name)).reduce((sum, [, n]) => sum + n, 0));
    const sends = pipeline.dataGovSg?.requests().filter((request) => request.method === 'PUT').length ?? 0;
    const settings = loadSettings({});
    const idleConfirmSeconds = settings.IDLE_CONFIRM_SECONDS ?? settings.POLL_FIRST_WAIT_SECONDS;
    const dataGovSgCalls: Record<string, number> = {};
    for (const request of pipeline.dataGovSg?.requests() ?? []) {
      const kind = `${request.method} ${callKind(request.method, request.path)}`;
      dataGovSgCalls[kind] = (dataGovSgCalls[kind] ?? 0) + 1;
    }
    const result: PerFile = {
      invocations: byFunction(invocations, (_, value) => value),
      gbSeconds: byFunction(durations, (name, ms) => (ms / 1000) * (memoryOf(name) / 1024)),
      // Each send confirms idle twice, IDLE_CONFIRM_SECONDS apart, inside the upload function.
      waitGbSeconds: perFile(sends * idleConfirmSeconds * (memoryOf('upload') / 1024)),
      transitions: perFile(
        pipeline.stepFunctions
          .executions()
          .reduce((sum, execution) => sum + execution.statesEntered.length, 0),
      ),
      dynamoDbReads: count((name) => name.startsWith('dynamodb:') && DYNAMODB_READS.has(name.slice(9))),
      dynamoDbWrites: count((name) => name.startsWith('dynamodb:') && DYNAMODB_WRITES.has(name.slice(9))),
      s3PutClass: count((name) => name.startsWith('s3:') && S3_PUT_CLASS.has(name.slice(3))),
      s3GetClass: count((name) => name.startsWith('s3:') && S3_GET_CLASS.has(name.slice(3))),
      events: perFile(pipeline.eventBridge.events().length),
      dataGovSgCalls: Object.fromEntries(
        Object.entries(dataGovSgCalls).map(([kind, n]) => [kind, perFile(n)]),
      ),
    };
    return {
      files: keys.length,
      datasets: datasets.length,
      published,
      seconds,
      filesPerMinute: published / (seconds / 60),
      perFile: result,
      calls: Object.fromEntries([...calls].sort()),
      prices,
      costPer1000: costOf(result, prices, 1000),
    };
  } finally {
    driver.destroy();
    await pipeline.close();
  }
}

/** USD for `files` publications, by item; small items are kept, so the table shows what is free. */
export function costOf(perFile: PerFile, prices: Prices, files: number): Record<string, number> {
  const sum = (values: Record<string, number>) => Object.values(values).reduce((a, b) => a + b, 0);
  const gbSeconds = sum(perFile.gbSeconds) + perFile.waitGbSeconds;
  return {
    'Lambda requests': files * sum(perFile.invocations) * prices.lambdaPerRequest,
    'Lambda GB-seconds': files * gbSeconds * prices.lambdaArm64PerGbSecond,
    'Step Functions transitions': files * perFile.transitions * prices.stepFunctionsStandardPerTransition,
    'DynamoDB reads': files * perFile.dynamoDbReads * prices.dynamoDbPerReadRequestUnit,
    'DynamoDB writes': files * perFile.dynamoDbWrites * prices.dynamoDbPerWriteRequestUnit,
    'S3 PUT/COPY/LIST': files * perFile.s3PutClass * prices.s3PerPutCopyPostListRequest,
    'S3 GET/HEAD': files * perFile.s3GetClass * prices.s3PerGetHeadRequest,
    'EventBridge events': files * perFile.events * prices.eventBridgePerCustomEvent,
  };
}

function callKind(method: string, path: string): string {
  if (method === 'PUT') return 'presigned PUT';
  const bare = path.split('?')[0] ?? path;
  if (bare.includes('/upload-link')) return 'upload-link';
  if (bare.includes('/append-link')) return 'append-link';
  if (bare.includes('/ingestion-status')) return 'ingestion-status';
  if (bare.includes('/metadata')) return 'metadata';
  return bare.replace(/d_[0-9a-f]{32}/, '{datasetId}');
}

/** Datasets of the local data.gov.sg, d_ and 32 hex digits each, with the bench CSV's columns. */
function generatedDatasets(count: number): LocalDatasetConfig[] {
  return Array.from({ length: count }, (_, index) => ({
    datasetId: `d_${index.toString(16).padStart(32, 'c')}`,
    name: `Bench dataset ${index}`,
    columns: [
      { name: 'year', dataType: 'NUMERIC' },
      { name: 'count', dataType: 'NUMERIC' },
    ],
  }));
}

/** Reports under a prefix, every page (a listing returns at most 1 000 keys). */
async function countReports(client: S3Client, bucket: string, prefix: string): Promise<number> {
  let reports = 0;
  for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket, Prefix: prefix })) {
    reports += (page.Contents ?? []).filter((object) => object.Key?.endsWith('.report.json')).length;
  }
  return reports;
}
