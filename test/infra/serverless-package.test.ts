import { execFile } from 'node:child_process';
import { once as onceEvent } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { dynamicImportsOf, staticImportClosure } from '../../bench/lib/static-imports.js';
import {
  CODED_METRICS,
  ERROR_CODE_DIMENSION,
  METRIC_NAMES,
  METRICS_NAMESPACE_PREFIX,
  SERVICE_DIMENSION,
} from '../../lib/metrics.js';
import { PUBLISH_REQUESTED } from '../../lib/schemas.js';
import { offlineEnv } from '../../local/aws/template.js';
import { zipEntries } from '../support/zip-entries.js';

/*
 * Packages the service offline (`serverless package --stage ci`, no AWS credentials) and checks the
 * generated CloudFormation template and zips as data (style H12).
 */

const execFileAsync = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
/** Its own folders, not .serverless/ and .esbuild/: `npm run package` or the local run may package beside it. */
const outDir = path.join(repoRoot, '.govpub', 'infra-package');
const ESBUILD_WORK_FOLDER = path.join('.govpub', 'infra-esbuild');
const STAGE = 'ci';
const ONE_MIB = 1_048_576;
/** Imports a bundle as the Lambda runtime does and prints what its `handler` export is. */
const LOAD_HANDLER =
  'const bundle = await import(process.argv[1]); process.stdout.write(typeof bundle.handler);';
/** Imports a bundle and invokes its handler once with the event in argv[2], as Lambda would. */
const INVOKE_HANDLER = [
  'const { handler } = await import(process.argv[1]);',
  "const context = { awsRequestId: 'infra-test', functionName: 'f', functionVersion: '$LATEST', invokedFunctionArn: 'arn:aws:lambda:ap-southeast-1:000000000000:function:f', memoryLimitInMB: '256', logGroupName: 'g', logStreamName: 's', getRemainingTimeInMillis: () => 30000 };",
  'process.stdout.write(JSON.stringify(await handler(JSON.parse(process.argv[2]), context)));',
].join(' ');

// CloudFormation pseudo parameters, spelled as they appear inside Fn::Sub strings.
const PARTITION = '$' + '{AWS::Partition}';
const REGION = '$' + '{AWS::Region}';
const ACCOUNT = '$' + '{AWS::AccountId}';

/** Logical ids that serverless.yml and this test agree on. */
const ID = {
  dropBucket: 'DropBucket',
  dropBucketPolicy: 'DropBucketPolicy',
  lockTable: 'LockTable',
  failureQueue: 'AsyncFailureQueue',
  stateMachine: 'PublishDatasetStateMachine',
  stateMachineLogGroup: 'PublishDatasetLogGroup',
} as const;

const STATE_MACHINE_NAME = `govpub-${STAGE}-publish-dataset`;
const STATE_MACHINE_ARN = `arn:${PARTITION}:states:${REGION}:${ACCOUNT}:stateMachine:${STATE_MACHINE_NAME}`;
const EVENT_BUS_NAME = `govpub-${STAGE}`;
const EVENT_BUS_ARN = `arn:${PARTITION}:events:${REGION}:${ACCOUNT}:event-bus/${EVENT_BUS_NAME}`;
const API_KEY_PARAMETER_NAME = `/govpub/${STAGE}/dgs-api-key`;
const API_KEY_PARAMETER_ARN = `arn:${PARTITION}:ssm:${REGION}:${ACCOUNT}:parameter${API_KEY_PARAMETER_NAME}`;
const PP_TOKEN_PARAMETERS_ARN = `arn:${PARTITION}:ssm:${REGION}:${ACCOUNT}:parameter/govpub/${STAGE}/pp-tokens/*`;

/** resourceLabel() writes drop-bucket ARNs with this prefix. */
const BUCKET = 's3://drop-bucket';
const INCOMING = `${BUCKET}/incoming/*`;
const PROCESSED = `${BUCKET}/processed/*`;
const FAILED = `${BUCKET}/failed/*`;
const UNCONFIRMED = `${BUCKET}/unconfirmed/*`;
/** COPY_SOURCE_PREFIX's default: where publishRequests copies objects from. */
const SOURCES = `${BUCKET}/sources/*`;
/** The upload function invokes itself by name to hand a file to a fresh run (a GetAtt would be a cycle). */
const UPLOAD_FUNCTION_ARN = `arn:${PARTITION}:lambda:${REGION}:${ACCOUNT}:function:govpub-${STAGE}-upload`;

const COMMON_ENV = [
  'DGS_API_BASE_URL',
  'DGS_API_KEY_PARAMETER',
  'DROP_BUCKET',
  'EVENT_BUS_NAME',
  'LOCK_TABLE_NAME',
  'FORWARDER_FUNCTION_NAME',
  'POWERTOOLS_LOG_LEVEL',
  'POWERTOOLS_METRICS_NAMESPACE',
  'POWERTOOLS_SERVICE_NAME',
  'POWERTOOLS_TRACE_ENABLED',
];

/** The functions' metrics: one namespace per stage, and the one dimension Powertools adds. */
const METRICS_NAMESPACE = `${METRICS_NAMESPACE_PREFIX}/${STAGE}`;
const METRIC_DIMENSIONS = [{ Name: SERVICE_DIMENSION, Value: 'govpub' }];

type Grants = Record<string, string[]>;

const logsGrants = (...logGroupIds: string[]): Grants => ({
  'logs:CreateLogStream': logGroupIds.map((id) => `${id}.Arn`).sort(),
  'logs:PutLogEvents': logGroupIds.map((id) => `${id}.Arn`).sort(),
});

/** X-Ray (active tracing): the two actions Lambda needs, which take only Resource "*". */
const xrayGrants: Grants = {
  'xray:PutTelemetryRecords': ['*'],
  'xray:PutTraceSegments': ['*'],
};

/**
 * Filing an outcome (upload and fileOutcome): read and delete under incoming/, write the report
 * and the moved file; HeadObject (s3:GetObject) on the target makes a retried move idempotent;
 * multipart copies over 5 GiB may be aborted; ListBucket turns a missing key's 403 into a 404.
 */
const moveGrants: Grants = {
  's3:GetObject': [FAILED, INCOMING, PROCESSED, UNCONFIRMED],
  's3:DeleteObject': [INCOMING],
  's3:PutObject': [FAILED, PROCESSED, UNCONFIRMED],
  's3:AbortMultipartUpload': [FAILED, PROCESSED, UNCONFIRMED],
  's3:ListBucket': [BUCKET],
};

interface ExpectedFunction {
  handler: string;
  bundle: string;
  memorySize: number;
  timeout: number;
  extraEnv: string[];
  invokedAsync: boolean;
  /** Every Allow in the function's role: action -> resources (sorted), see resourceLabel(). */
  grants: Grants;
}

const FUNCTIONS: Record<string, ExpectedFunction> = {
  upload: {
    handler: 'functions/upload-file.handler',
    bundle: 'functions/upload-file.mjs',
    memorySize: 512,
    timeout: 900,
    extraEnv: ['STATE_MACHINE_ARN'],
    invokedAsync: true,
    grants: {
      ...logsGrants('UploadLogGroup'),
      ...xrayGrants,
      ...moveGrants,
      'dynamodb:GetItem': ['LockTable.Arn'],
      'dynamodb:PutItem': ['LockTable.Arn'],
      'dynamodb:UpdateItem': ['LockTable.Arn'],
      'dynamodb:DeleteItem': ['LockTable.Arn'],
      'states:StartExecution': [STATE_MACHINE_ARN],
      'events:PutEvents': [EVENT_BUS_ARN],
      'ssm:GetParameter': [API_KEY_PARAMETER_ARN],
      'sqs:SendMessage': ['AsyncFailureQueue.Arn'],
      'lambda:InvokeFunction': ['ForwarderLambdaFunction.Arn', UPLOAD_FUNCTION_ARN],
    },
  },
  checkStatus: {
    handler: 'functions/sfn-check-status.handler',
    bundle: 'functions/sfn-check-status.mjs',
    memorySize: 256,
    timeout: 300,
    extraEnv: [],
    invokedAsync: false,
    grants: {
      ...logsGrants('CheckStatusLogGroup'),
      ...xrayGrants,
      'dynamodb:GetItem': ['LockTable.Arn'],
      'dynamodb:UpdateItem': ['LockTable.Arn'],
      'ssm:GetParameter': [API_KEY_PARAMETER_ARN],
    },
  },
  reupload: {
    handler: 'functions/sfn-reupload.handler',
    bundle: 'functions/sfn-reupload.mjs',
    memorySize: 512,
    timeout: 900,
    extraEnv: [],
    invokedAsync: false,
    grants: {
      ...logsGrants('ReuploadLogGroup'),
      ...xrayGrants,
      's3:GetObject': [INCOMING],
      's3:ListBucket': [BUCKET],
      'dynamodb:GetItem': ['LockTable.Arn'],
      'dynamodb:UpdateItem': ['LockTable.Arn'],
      'ssm:GetParameter': [API_KEY_PARAMETER_ARN],
    },
  },
  fileOutcome: {
    handler: 'functions/sfn-file-outcome.handler',
    bundle: 'functions/sfn-file-outcome.mjs',
    memorySize: 256,
    timeout: 900,
    extraEnv: [],
    invokedAsync: false,
    grants: {
      ...logsGrants('FileOutcomeLogGroup'),
      ...xrayGrants,
      ...moveGrants,
      'events:PutEvents': [EVENT_BUS_ARN],
      'dynamodb:GetItem': ['LockTable.Arn'],
      'dynamodb:UpdateItem': ['LockTable.Arn'],
      'dynamodb:DeleteItem': ['LockTable.Arn'],
      'ssm:GetParameter': [API_KEY_PARAMETER_ARN],
    },
  },
  sweep: {
    handler: 'functions/sweep-incoming.handler',
    bundle: 'functions/sweep-incoming.mjs',
    memorySize: 256,
    timeout: 300,
    extraEnv: ['UPLOAD_FUNCTION_NAME'],
    invokedAsync: true,
    grants: {
      ...logsGrants('SweepLogGroup'),
      ...xrayGrants,
      's3:ListBucket': [BUCKET],
      'lambda:InvokeFunction': ['ForwarderLambdaFunction.Arn', 'UploadLambdaFunction.Arn'],
      'sqs:SendMessage': ['AsyncFailureQueue.Arn'],
    },
  },
  publishRequests: {
    handler: 'functions/publish-requests.handler',
    bundle: 'functions/publish-requests.mjs',
    memorySize: 256,
    timeout: 28,
    extraEnv: ['UPLOAD_FUNCTION_NAME', 'DGS_REQUEST_TIMEOUT_MS', 'DGS_MAX_ATTEMPTS'],
    invokedAsync: true,
    grants: {
      ...logsGrants('PublishRequestsLogGroup'),
      ...xrayGrants,
      's3:PutObject': [INCOMING],
      's3:GetObject': [INCOMING, SOURCES, PROCESSED, FAILED, UNCONFIRMED],
      's3:ListBucket': [BUCKET],
      'dynamodb:GetItem': ['LockTable.Arn'],
      'ssm:GetParameter': [API_KEY_PARAMETER_ARN],
      'lambda:InvokeFunction': ['UploadLambdaFunction.Arn'],
      'events:PutEvents': [EVENT_BUS_ARN],
      'sqs:SendMessage': ['AsyncFailureQueue.Arn'],
    },
  },
  forwarder: {
    handler: 'functions/forward-performance.handler',
    bundle: 'functions/forward-performance.mjs',
    memorySize: 512,
    timeout: 900,
    extraEnv: ['PP_BASE_URL', 'PP_TOKEN_PARAMETER_PREFIX'],
    invokedAsync: true,
    grants: {
      ...logsGrants('ForwarderLogGroup'),
      ...xrayGrants,
      's3:GetObject': [
        `${BUCKET}/failed/performance/*`,
        `${BUCKET}/incoming/performance/*`,
        `${BUCKET}/processed/performance/*`,
      ],
      's3:DeleteObject': [`${BUCKET}/incoming/performance/*`],
      's3:PutObject': [`${BUCKET}/failed/performance/*`, `${BUCKET}/processed/performance/*`],
      's3:AbortMultipartUpload': [`${BUCKET}/failed/performance/*`, `${BUCKET}/processed/performance/*`],
      's3:ListBucket': [BUCKET],
      'events:PutEvents': [EVENT_BUS_ARN],
      'ssm:GetParameter': [PP_TOKEN_PARAMETERS_ARN],
      'dynamodb:GetItem': ['LockTable.Arn'],
      'dynamodb:PutItem': ['LockTable.Arn'],
      'dynamodb:DeleteItem': ['LockTable.Arn'],
      'sqs:SendMessage': ['AsyncFailureQueue.Arn'],
    },
  },
  forwarderHttp: {
    handler: 'functions/forward-performance.handler',
    bundle: 'functions/forward-performance.mjs',
    memorySize: 512,
    timeout: 28,
    extraEnv: ['PP_BASE_URL', 'PP_TOKEN_PARAMETER_PREFIX'],
    invokedAsync: false,
    grants: {
      ...logsGrants('ForwarderHttpLogGroup'),
      ...xrayGrants,
      's3:PutObject': [`${BUCKET}/incoming/performance/*`],
      'events:PutEvents': [EVENT_BUS_ARN],
      'ssm:GetParameter': [PP_TOKEN_PARAMETERS_ARN],
    },
  },
};
const FUNCTION_NAMES = Object.keys(FUNCTIONS);

/** Functions the state machine may invoke: the ASL's Fn::GetAtt targets. */
const STATE_MACHINE_TARGETS = ['checkStatus', 'fileOutcome', 'reupload', 'upload'];

interface WildcardException {
  resource: string;
  effect: 'Allow' | 'Deny';
  actions: string[];
  why: string;
}

/** The only statements allowed a `*` action or resource. Each must still exist (see the test). */
const JUSTIFIED_WILDCARDS: WildcardException[] = [
  {
    resource: `${ID.stateMachine}Role`,
    effect: 'Allow',
    actions: [
      'logs:CreateLogDelivery',
      'logs:DeleteLogDelivery',
      'logs:DescribeLogGroups',
      'logs:DescribeResourcePolicies',
      'logs:GetLogDelivery',
      'logs:ListLogDeliveries',
      'logs:PutResourcePolicy',
      'logs:UpdateLogDelivery',
      'xray:GetSamplingRules',
      'xray:GetSamplingTargets',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ],
    why: 'Step Functions logging and X-Ray tracing (added by serverless-step-functions for tracingConfig): these APIs support only Resource "*" (AWS docs)',
  },
  ...Object.keys(FUNCTIONS).map(
    (name): WildcardException => ({
      resource: `${name.charAt(0).toUpperCase()}${name.slice(1)}Role`,
      effect: 'Allow',
      actions: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'],
      why: 'X-Ray active tracing: PutTraceSegments and PutTelemetryRecords support only Resource "*" (AWS docs)',
    }),
  ),
  {
    resource: ID.dropBucketPolicy,
    effect: 'Deny',
    actions: ['s3:*'],
    why: 'TLS-only deny: a wildcard in a Deny narrows access',
  },
  {
    resource: 'AccessLogBucketPolicy',
    effect: 'Deny',
    actions: ['s3:*'],
    why: 'TLS-only deny on the access-log bucket: a wildcard in a Deny narrows access',
  },
  {
    resource: 'ServerlessDeploymentBucketPolicy',
    effect: 'Deny',
    actions: ['s3:*'],
    why: "the framework's TLS-only deny on its deployment bucket",
  },
];

// ---------------------------------------------------------------------------------------------
// Template access helpers

interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}

interface CfnTemplate {
  Parameters?: Record<string, Record<string, unknown>>;
  Conditions?: Record<string, unknown>;
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown }>;
}

interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: unknown;
  NotResource?: unknown;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

interface LocatedStatement {
  /** Logical id of the resource that holds the statement. */
  holder: string;
  statement: PolicyStatement;
}

let template: CfnTemplate;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

const capitalise = (name: string): string => name.charAt(0).toUpperCase() + name.slice(1);
const functionId = (name: string): string => `${capitalise(name)}LambdaFunction`;
const logGroupId = (name: string): string => `${capitalise(name)}LogGroup`;

function resource(logicalId: string, type: string): CfnResource {
  const found = template.Resources[logicalId];
  if (!found) {
    const sameType = Object.entries(template.Resources)
      .filter(([, r]) => r.Type === type)
      .map(([id]) => id);
    throw new Error(`No resource "${logicalId}" (${type}) in the template; ${type} resources: ${sameType}`);
  }
  expect(found.Type, `resource ${logicalId}`).toBe(type);
  return found;
}

const props = (logicalId: string, type: string): Record<string, unknown> =>
  resource(logicalId, type).Properties ?? {};

function resourcesOfType(type: string): Array<[string, CfnResource]> {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

/** `{ "Fn::GetAtt": [id, "Arn"] }` or `"id.Arn"` -> id; anything else -> undefined. */
function getAttTarget(value: unknown): string | undefined {
  if (!isRecord(value)) return undefined;
  const getAtt = value['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  if (typeof getAtt === 'string') return getAtt.split('.')[0];
  return undefined;
}

function subText(value: unknown): string | undefined {
  if (!isRecord(value)) return undefined;
  const sub = value['Fn::Sub'];
  if (typeof sub === 'string') return sub;
  if (Array.isArray(sub) && typeof sub[0] === 'string') return sub[0];
  return undefined;
}

function dropBucketNameSub(): string {
  const name = subText(props(ID.dropBucket, 'AWS::S3::Bucket').BucketName);
  if (!name) throw new Error(`${ID.dropBucket}.BucketName should be an Fn::Sub string with the account id`);
  return name;
}

/** A readable, comparable label for an IAM Resource element. */
function resourceLabel(value: unknown): string {
  if (typeof value === 'string') return value;
  const bucketArn = `arn:${PARTITION}:s3:::${dropBucketNameSub()}`;
  if (isRecord(value)) {
    const getAtt = value['Fn::GetAtt'];
    if (getAttTarget(value) === ID.dropBucket) return BUCKET;
    if (Array.isArray(getAtt)) return getAtt.join('.');
    const text = subText(value);
    if (text !== undefined) {
      return text.replace(bucketArn, BUCKET).replace(`$\{${ID.dropBucket}.Arn}`, BUCKET);
    }
    if (typeof value.Ref === 'string') return `Ref:${value.Ref}`;
  }
  return JSON.stringify(value);
}

function statementsOf(document: unknown): PolicyStatement[] {
  return isRecord(document) ? asArray(document.Statement as PolicyStatement | PolicyStatement[]) : [];
}

/** Every permission statement in the template (trust policies excluded: they grant no access). */
function allStatements(): LocatedStatement[] {
  const located: LocatedStatement[] = [];
  for (const [holder, r] of Object.entries(template.Resources)) {
    const p = r.Properties ?? {};
    const documents: unknown[] = [];
    if (r.Type === 'AWS::IAM::Role') {
      for (const policy of asArray(p.Policies as unknown[])) {
        if (isRecord(policy)) documents.push(policy.PolicyDocument);
      }
    }
    if (
      [
        'AWS::IAM::Policy',
        'AWS::IAM::ManagedPolicy',
        'AWS::S3::BucketPolicy',
        'AWS::SQS::QueuePolicy',
        'AWS::SNS::TopicPolicy',
      ].includes(r.Type)
    ) {
      documents.push(p.PolicyDocument);
    }
    if (r.Type === 'AWS::Events::EventBus') documents.push(p.Policy);
    for (const document of documents) {
      for (const statement of statementsOf(document)) located.push({ holder, statement });
    }
  }
  return located;
}

/** The role statements of a function, with inline policies of AWS::IAM::Policy resources attached to it. */
function roleStatements(roleId: string): PolicyStatement[] {
  return allStatements()
    .filter(({ holder }) => {
      if (holder === roleId) return true;
      const policy = template.Resources[holder];
      return (
        policy?.Type === 'AWS::IAM::Policy' &&
        asArray(policy.Properties?.Roles as unknown[]).some((role) => isRecord(role) && role.Ref === roleId)
      );
    })
    .map(({ statement }) => statement);
}

function roleOf(functionName: string): string {
  const role = props(functionId(functionName), 'AWS::Lambda::Function').Role;
  const roleId = getAttTarget(role);
  if (!roleId)
    throw new Error(
      `${functionName}: Role should be Fn::GetAtt of a role in this stack, got ${JSON.stringify(role)}`,
    );
  return roleId;
}

function grantsOf(statements: PolicyStatement[]): Grants {
  const grants: Grants = {};
  for (const statement of statements.filter((s) => s.Effect === 'Allow')) {
    for (const action of asArray(statement.Action)) {
      const labels = asArray(statement.Resource).map(resourceLabel);
      grants[action] = [...(grants[action] ?? []), ...labels].sort();
    }
  }
  return grants;
}

const sortedGrants = (grants: Grants): Grants =>
  Object.fromEntries(Object.entries(grants).map(([action, labels]) => [action, [...labels].sort()]));

/** Logical ids a value refers to through Ref, Fn::GetAtt and Fn::Sub. */
function referencedIds(value: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) referencedIds(item, into);
  } else if (isRecord(value)) {
    if (typeof value.Ref === 'string') into.add(value.Ref);
    const target = getAttTarget(value);
    if (target) into.add(target);
    const sub = value['Fn::Sub'];
    const text = subText(value);
    const local = Array.isArray(sub) && isRecord(sub[1]) ? sub[1] : {};
    for (const match of text?.matchAll(/\$\{([^}!.]+)[^}]*\}/g) ?? []) {
      const name = match[1];
      if (name && !(name in local)) into.add(name);
    }
    for (const [key, nested] of Object.entries(value)) {
      if (key !== 'Ref') referencedIds(nested, into);
    }
  }
  return into;
}

function findDependencyCycle(): string[] | undefined {
  const edges = new Map<string, string[]>();
  for (const [id, r] of Object.entries(template.Resources)) {
    const deps = referencedIds(r.Properties, new Set(asArray(r.DependsOn)));
    edges.set(
      id,
      [...deps].filter((dep) => dep in template.Resources),
    );
  }
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'visiting') return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 'visiting');
    stack.push(id);
    for (const dep of edges.get(id) ?? []) {
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const id of edges.keys()) {
    const cycle = visit(id);
    if (cycle) return cycle;
  }
  return undefined;
}

function valueAt(root: unknown, keys: string[]): unknown {
  let node = root;
  for (const key of keys) {
    if (Array.isArray(node)) node = node[Number(key)];
    else if (isRecord(node)) node = node[key];
    else return undefined;
  }
  return node;
}

/** Paths to every `{ "Fn::GetAtt": [...] }` object in an ASL document, with its target. */
function getAttsIn(node: unknown, keys: string[] = []): Array<{ keys: string[]; target: string }> {
  const target = getAttTarget(node);
  if (target) return [{ keys, target }];
  if (Array.isArray(node)) return node.flatMap((item, i) => getAttsIn(item, [...keys, String(i)]));
  if (isRecord(node)) return Object.entries(node).flatMap(([k, v]) => getAttsIn(v, [...keys, k]));
  return [];
}

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  await rm(outDir, { recursive: true, force: true });
  try {
    await execFileAsync(
      path.join(repoRoot, 'node_modules', '.bin', 'serverless'),
      ['package', '--stage', STAGE, '--package', outDir],
      {
        cwd: repoRoot,
        env: { ...offlineEnv(), GOVPUB_ESBUILD_WORK_FOLDER: ESBUILD_WORK_FOLDER },
        maxBuffer: 16 * ONE_MIB,
        timeout: 170_000,
      },
    );
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(
      `serverless package --stage ${STAGE} failed:\n${stderr.slice(-4000)}\n${stdout.slice(-4000)}`,
      { cause: error },
    );
  }
  const json = await readFile(path.join(outDir, 'cloudformation-template-update-stack.json'), 'utf8');
  template = JSON.parse(json) as CfnTemplate;
}, 180_000);

describe('serverless package --stage ci', () => {
  it.each(FUNCTION_NAMES)('packages function %s with nodejs22.x on arm64 and its environment', (name) => {
    const expected = FUNCTIONS[name] as ExpectedFunction;
    const fn = props(functionId(name), 'AWS::Lambda::Function');

    expect(fn, `function ${name}`).toMatchObject({
      FunctionName: `govpub-${STAGE}-${name}`,
      Handler: expected.handler,
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      MemorySize: expected.memorySize,
      Timeout: expected.timeout,
    });

    const variables = (valueAt(fn, ['Environment', 'Variables']) ?? {}) as Record<string, unknown>;
    expect(Object.keys(variables).sort(), `${name}: environment variable names`).toEqual(
      [...COMMON_ENV, ...expected.extraEnv].sort(),
    );
    expect(variables, `${name}: environment values`).toMatchObject({
      POWERTOOLS_SERVICE_NAME: 'govpub',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      POWERTOOLS_TRACE_ENABLED: 'true',
      EVENT_BUS_NAME: EVENT_BUS_NAME,
      DGS_API_BASE_URL: 'https://api-production.data.gov.sg',
      DGS_API_KEY_PARAMETER: API_KEY_PARAMETER_NAME,
      LOCK_TABLE_NAME: { Ref: ID.lockTable },
      DROP_BUCKET: props(ID.dropBucket, 'AWS::S3::Bucket').BucketName,
    });
    if (expected.extraEnv.includes('STATE_MACHINE_ARN')) {
      expect(variables.STATE_MACHINE_ARN, `${name}: STATE_MACHINE_ARN`).toEqual({
        'Fn::Sub': STATE_MACHINE_ARN,
      });
    }
    if (expected.extraEnv.includes('UPLOAD_FUNCTION_NAME')) {
      expect(variables.UPLOAD_FUNCTION_NAME, `${name}: UPLOAD_FUNCTION_NAME`).toEqual({
        Ref: functionId('upload'),
      });
    }
  });

  it('wires ObjectCreated under incoming/ on the drop bucket to the upload function', () => {
    const bucket = resource(ID.dropBucket, 'AWS::S3::Bucket');
    const configurations = asArray(
      valueAt(bucket.Properties, ['NotificationConfiguration', 'LambdaConfigurations']) as unknown[],
    );
    expect(configurations, `${ID.dropBucket} LambdaConfigurations`).toEqual([
      {
        Event: 's3:ObjectCreated:*',
        Filter: { S3Key: { Rules: [{ Name: 'prefix', Value: 'incoming/' }] } },
        Function: { 'Fn::GetAtt': [functionId('upload'), 'Arn'] },
      },
    ]);

    const permissions = resourcesOfType('AWS::Lambda::Permission').filter(
      ([, r]) => r.Properties?.Principal === 's3.amazonaws.com',
    );
    expect(permissions.length, 'exactly one Lambda permission for s3.amazonaws.com').toBe(1);
    const [permissionId, permission] = permissions[0] as [string, CfnResource];
    expect(permission.Properties, `${permissionId}`).toMatchObject({
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [functionId('upload'), 'Arn'] },
      SourceAccount: { Ref: 'AWS::AccountId' },
      SourceArn: { 'Fn::Sub': `arn:${PARTITION}:s3:::${dropBucketNameSub()}` },
    });
    expect(
      asArray(bucket.DependsOn),
      `${ID.dropBucket} must DependsOn ${permissionId}, or S3 rejects the notification at create time`,
    ).toContain(permissionId);
  });

  it('runs sweep every ten minutes', () => {
    const rules = resourcesOfType('AWS::Events::Rule').filter(([, r]) =>
      asArray(r.Properties?.Targets as unknown[]).some(
        (target) => isRecord(target) && getAttTarget(target.Arn) === functionId('sweep'),
      ),
    );
    expect(rules.length, 'one EventBridge rule targeting sweep').toBe(1);
    const [ruleId, rule] = rules[0] as [string, CfnResource];
    expect(rule.Properties, ruleId).toMatchObject({
      ScheduleExpression: 'rate(10 minutes)',
      State: 'ENABLED',
    });

    const permission = resourcesOfType('AWS::Lambda::Permission').find(
      ([, r]) =>
        r.Properties?.Principal === 'events.amazonaws.com' &&
        getAttTarget(r.Properties?.FunctionName) === functionId('sweep'),
    );
    expect(permission, 'a Lambda permission letting events.amazonaws.com invoke sweep').toBeDefined();
    expect(getAttTarget(permission?.[1].Properties?.SourceArn), 'permission scoped to the rule').toBe(ruleId);
  });

  it('defines the state machine from the ASL file with every state and function ARN resolved', () => {
    const asl = JSON.parse(
      readFileSync(path.join(repoRoot, 'statemachines', 'publish-dataset.asl.json'), 'utf8'),
    ) as { StartAt: string; States: Record<string, { Type: string }> };
    const machine = props(ID.stateMachine, 'AWS::StepFunctions::StateMachine');
    expect(machine.StateMachineName).toBe(STATE_MACHINE_NAME);

    const definitionString = machine.DefinitionString;
    const sub = isRecord(definitionString) ? definitionString['Fn::Sub'] : undefined;
    const [text, params] = Array.isArray(sub)
      ? [sub[0] as string, (sub[1] ?? {}) as Record<string, unknown>]
      : [typeof sub === 'string' ? sub : (definitionString as string), {}];
    expect(typeof text, 'DefinitionString should be a string or an Fn::Sub').toBe('string');
    const definition = JSON.parse(text) as { StartAt: string; States: Record<string, { Type: string }> };

    expect(definition.StartAt).toBe(asl.StartAt);
    for (const [stateName, state] of Object.entries(asl.States)) {
      expect(definition.States[stateName]?.Type, `state ${stateName} in the deployed definition`).toBe(
        state.Type,
      );
    }

    const references = getAttsIn(asl.States, ['States']);
    expect(references.map((r) => r.target).sort(), 'functions the ASL refers to').toEqual(
      STATE_MACHINE_TARGETS,
    );
    for (const { keys, target } of references) {
      const placeholder = valueAt(definition, keys);
      const variable = typeof placeholder === 'string' ? /^\$\{([^}]+)\}$/.exec(placeholder)?.[1] : undefined;
      expect(
        variable,
        `${keys.join('.')} should be an Fn::Sub placeholder, got ${placeholder}`,
      ).toBeDefined();
      expect(params[variable as string], `${keys.join('.')} resolves to ${target}'s ARN`).toEqual({
        'Fn::GetAtt': [functionId(target), 'Arn'],
      });
    }
  });

  it('logs state machine errors, without execution data, to a log group with retention', () => {
    const machine = props(ID.stateMachine, 'AWS::StepFunctions::StateMachine');
    expect(machine.LoggingConfiguration).toEqual({
      Level: 'ERROR',
      IncludeExecutionData: false,
      Destinations: [
        { CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [ID.stateMachineLogGroup, 'Arn'] } } },
      ],
    });
    expect(props(ID.stateMachineLogGroup, 'AWS::Logs::LogGroup').RetentionInDays).toBe(90);
  });

  it('lets the state machine invoke only its own task functions', () => {
    const roleId = getAttTarget(props(ID.stateMachine, 'AWS::StepFunctions::StateMachine').RoleArn);
    expect(roleId, 'state machine RoleArn should be a role in this stack').toBe(`${ID.stateMachine}Role`);
    const invoke = roleStatements(roleId as string).filter(
      (s) => s.Effect === 'Allow' && asArray(s.Action).some((a) => a.startsWith('lambda:')),
    );
    expect(invoke.flatMap((s) => asArray(s.Action)).every((a) => a === 'lambda:InvokeFunction')).toBe(true);
    const resources = invoke.flatMap((s) => asArray(s.Resource));
    const targets = new Set(resources.map((r) => [...referencedIds(r, new Set())].join(',')));
    expect([...targets].sort(), 'lambda:InvokeFunction resources (function ARNs and their versions)').toEqual(
      STATE_MACHINE_TARGETS.map(functionId).sort(),
    );
    expect(resources, 'no wildcard function').not.toContain('*');
  });

  it('has no wildcard action or resource outside the justified exceptions', () => {
    const offenders: string[] = [];
    const used = new Set<WildcardException>();
    for (const { holder, statement } of allStatements()) {
      const actions = asArray(statement.Action);
      const resources = asArray(statement.Resource);
      const wildAction = actions.some((a) => a === '*' || a.endsWith('*'));
      const wildResource = resources.includes('*');
      const describeIt = () =>
        `${holder}: ${statement.Effect} ${JSON.stringify(actions)} on ${JSON.stringify(resources)}`;
      if (statement.Effect === 'Allow' && (statement.NotAction || statement.NotResource)) {
        offenders.push(`${describeIt()} (Allow with NotAction/NotResource)`);
        continue;
      }
      if (!wildAction && !wildResource) continue;
      const exception = JUSTIFIED_WILDCARDS.find(
        (e) =>
          e.resource === holder &&
          e.effect === statement.Effect &&
          JSON.stringify([...actions].sort()) === JSON.stringify(e.actions) &&
          (e.effect === 'Deny' || (resources.length === 1 && !wildAction)),
      );
      if (exception) used.add(exception);
      else offenders.push(describeIt());
    }
    expect(
      offenders,
      `IAM statements with a "*" action or resource; narrow them or justify them:\n${offenders.join('\n')}`,
    ).toEqual([]);
    const stale = JUSTIFIED_WILDCARDS.filter((e) => !used.has(e)).map((e) => `${e.resource}: ${e.actions}`);
    expect(stale, 'justified wildcard exceptions that no longer match anything; remove them').toEqual([]);
  });

  it('gives every function its own role', () => {
    const roles = FUNCTION_NAMES.map(roleOf);
    expect(new Set(roles).size, `one role per function, got ${roles}`).toBe(FUNCTION_NAMES.length);
    expect(template.Resources.IamRoleLambdaExecution, 'no shared framework role').toBeUndefined();
    for (const roleId of roles) {
      const role = props(roleId, 'AWS::IAM::Role');
      expect(role.ManagedPolicyArns, `${roleId}: managed policies would bypass these checks`).toBeUndefined();
      expect(statementsOf(role.AssumeRolePolicyDocument)).toEqual([
        { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
      ]);
    }
  });

  it.each(FUNCTION_NAMES)('scopes the S3 access of %s to its prefixes', (name) => {
    const s3Only = (grants: Grants): Grants =>
      Object.fromEntries(Object.entries(grants).filter(([action]) => action.startsWith('s3:')));
    const actual = s3Only(grantsOf(roleStatements(roleOf(name))));
    expect(actual, `${name}: S3 grants (${BUCKET} is the drop bucket)`).toEqual(
      sortedGrants(s3Only((FUNCTIONS[name] as ExpectedFunction).grants)),
    );
    // Object access stays inside incoming/, processed/, failed/ or unconfirmed/ (or a folder below them);
    // only publishRequests also reads sources/, to copy an object into incoming/.
    const readsSources = name === 'publishRequests';
    const underPrefixes = (label: string) =>
      (readsSources && label === SOURCES) ||
      [INCOMING, PROCESSED, FAILED, UNCONFIRMED].some(
        (prefix) => label.startsWith(prefix.slice(0, -1)) && label.endsWith('/*'),
      );
    for (const [action, labels] of Object.entries(actual)) {
      for (const label of labels) {
        const allowed = action === 's3:ListBucket' ? label === BUCKET : underPrefixes(label);
        expect(allowed, `${name}: ${action} on ${label}`).toBe(true);
      }
    }
  });

  it.each(FUNCTION_NAMES)('grants %s exactly the actions and resources it needs', (name) => {
    expect(grantsOf(roleStatements(roleOf(name))), `${name}: role grants`).toEqual(
      sortedGrants((FUNCTIONS[name] as ExpectedFunction).grants),
    );
  });

  it('hardens the drop bucket: SSE-S3, no public access, TLS only, versioned', () => {
    const bucket = props(ID.dropBucket, 'AWS::S3::Bucket');
    expect(bucket.BucketName, 'bucket name includes the account id to be globally unique').toEqual({
      'Fn::Sub': expect.stringContaining(ACCOUNT),
    });
    expect(bucket.BucketEncryption, 'SSE-S3 (AES256): single-part ETags are MD5s').toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
    expect(bucket.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    const rules = asArray(valueAt(bucket, ['LifecycleConfiguration', 'Rules']) as unknown[]);
    expect(rules, 'a lifecycle rule expiring noncurrent versions after 30 days').toContainEqual(
      expect.objectContaining({ Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: 30 } }),
    );

    const policy = props(ID.dropBucketPolicy, 'AWS::S3::BucketPolicy');
    expect(policy.Bucket).toEqual({ Ref: ID.dropBucket });
    const denyInsecure = statementsOf(policy.PolicyDocument).find(
      (s) => s.Effect === 'Deny' && String(s.Condition?.Bool?.['aws:SecureTransport']) === 'false',
    );
    expect(denyInsecure, 'a Deny on aws:SecureTransport=false').toBeDefined();
    expect(denyInsecure?.Principal).toBe('*');
    expect(asArray(denyInsecure?.Action)).toEqual(['s3:*']);
    expect(asArray(denyInsecure?.Resource).map(resourceLabel).sort(), 'bucket and its objects').toEqual([
      BUCKET,
      `${BUCKET}/*`,
    ]);
  });

  it('keeps what was filed: the bucket and the lock table outlive the stack; outcomes expire only if asked', () => {
    for (const id of [ID.dropBucket, ID.lockTable, 'AccessLogBucket']) {
      expect(resource(id, template.Resources[id]?.Type ?? '?'), id).toMatchObject({
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      });
    }
    // outcomeRetentionDays (default 0: kept for ever) is the template parameter's default.
    expect(template.Parameters?.OutcomeRetentionDays).toMatchObject({
      Type: 'Number',
      MinValue: 0,
      Default: 0,
    });
    expect(template.Conditions?.ExpireOutcomes).toEqual({
      'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'OutcomeRetentionDays' }, '0'] }],
    });
    const rules = asArray(
      valueAt(props(ID.dropBucket, 'AWS::S3::Bucket'), ['LifecycleConfiguration', 'Rules']) as unknown[],
    );
    for (const [folder, ruleId] of [
      ['processed/', 'ExpireProcessed'],
      ['failed/', 'ExpireFailed'],
      ['unconfirmed/', 'ExpireUnconfirmed'],
    ]) {
      expect(rules, folder).toContainEqual({
        'Fn::If': [
          'ExpireOutcomes',
          {
            Id: ruleId,
            Status: 'Enabled',
            Prefix: folder,
            ExpirationInDays: { Ref: 'OutcomeRetentionDays' },
          },
          { Ref: 'AWS::NoValue' },
        ],
      });
    }
    // No rule touches incoming/: a waiting file never expires.
    expect(JSON.stringify(rules)).not.toContain('incoming/');
  });

  it('logs every request to the drop bucket to a hardened bucket of its own (S3 server access logs)', () => {
    expect(props(ID.dropBucket, 'AWS::S3::Bucket').LoggingConfiguration).toEqual({
      DestinationBucketName: { Ref: 'AccessLogBucket' },
      LogFilePrefix: 'drop-bucket/',
    });
    const logs = props('AccessLogBucket', 'AWS::S3::Bucket');
    expect(logs).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      LifecycleConfiguration: {
        Rules: [{ Id: 'ExpireAccessLogs', Status: 'Enabled', ExpirationInDays: 365 }],
      },
    });
    const statements = statementsOf(props('AccessLogBucketPolicy', 'AWS::S3::BucketPolicy').PolicyDocument);
    const delivery = statements.find((statement) => statement.Effect === 'Allow');
    expect(delivery).toMatchObject({
      Principal: { Service: 'logging.s3.amazonaws.com' },
      Action: 's3:PutObject',
      Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
    });
    expect(JSON.stringify(delivery?.Condition?.ArnLike)).toContain('-drop-');
    expect(
      statements.filter((statement) => statement.Effect === 'Allow'),
      'only log delivery may write',
    ).toHaveLength(1);
    expect(
      statements.some(
        (statement) =>
          statement.Effect === 'Deny' &&
          String(statement.Condition?.Bool?.['aws:SecureTransport']) === 'false',
      ),
    ).toBe(true);
    // A report whose droppedBy is null names this output as the place to look.
    expect(template.Outputs?.AccessLogBucketName?.Value).toEqual({ Ref: 'AccessLogBucket' });
  });

  it('logs who called which route of the HTTP API, kept 90 days; the outputs name the API, the bucket and the bus', () => {
    const [, stage] = resourcesOfType('AWS::ApiGatewayV2::Stage')[0] ?? [];
    const settings = stage?.Properties?.AccessLogSettings as { DestinationArn: unknown; Format: string };
    expect(settings.DestinationArn).toEqual({ 'Fn::GetAtt': ['HttpApiLogGroup', 'Arn'] });
    expect(JSON.parse(settings.Format)).toMatchObject({
      requestId: '$context.requestId',
      caller: '$context.identity.userArn',
      routeKey: '$context.routeKey',
      status: '$context.status',
    });
    expect(props('HttpApiLogGroup', 'AWS::Logs::LogGroup').RetentionInDays).toBe(90);
    for (const output of ['HttpApiUrl', 'DropBucketName', 'EventBusName', 'AsyncFailureQueueUrl']) {
      expect(template.Outputs?.[output], output).toBeDefined();
    }
  });

  it('tells people: a topic with up to five e-mail subscriptions, fed by the failure events and by alarms', () => {
    expect(props('NotificationTopic', 'AWS::SNS::Topic').TopicName).toEqual(
      expect.stringContaining('notifications'),
    );
    expect(template.Parameters?.NotifyEmails).toMatchObject({ Type: 'CommaDelimitedList', Default: '' });
    for (let index = 0; index < 5; index++) {
      const subscription = resource(`NotificationEmail${index}`, 'AWS::SNS::Subscription') as CfnResource & {
        Condition?: string;
      };
      expect(subscription.Condition).toBe(`HasEmail${index}`);
      expect(subscription.Properties).toMatchObject({
        Protocol: 'email',
        TopicArn: { Ref: 'NotificationTopic' },
      });
    }
    const pattern = (id: string) => props(id, 'AWS::Events::Rule').EventPattern;
    expect(pattern('NotifyPublishProblemsRule')).toEqual({
      source: ['govpub'],
      'detail-type': ['Dataset Publish Failed', 'Dataset Publish Unconfirmed'],
    });
    expect(pattern('NotifyForwardProblemsRule')).toEqual({
      source: ['govpub'],
      'detail-type': ['Performance Records Forward Failed'],
    });
    // Successes are told only when asked (notifySuccesses).
    expect((resource('NotifySuccessesRule', 'AWS::Events::Rule') as { Condition?: string }).Condition).toBe(
      'NotifySuccesses',
    );
    expect(template.Parameters?.NotifySuccesses).toMatchObject({ Default: 'false' });
    const target = asArray(
      props('NotifyPublishProblemsRule', 'AWS::Events::Rule').Targets as unknown[],
    )[0] as {
      Arn: unknown;
      InputTransformer: { InputPathsMap: Record<string, string>; InputTemplate: string };
    };
    expect(target.Arn).toEqual({ Ref: 'NotificationTopic' });
    const forwardTarget = asArray(
      props('NotifyForwardProblemsRule', 'AWS::Events::Rule').Targets as unknown[],
    )[0] as { InputTransformer: { InputPathsMap: Record<string, string> } };
    expect(forwardTarget.InputTransformer.InputPathsMap).toMatchObject({
      code: '$.detail.error.code',
      first: '$.detail.errors[0].message',
    });
    expect(target.InputTransformer.InputPathsMap).toMatchObject({
      dataset: '$.detail.datasetId',
      file: '$.detail.sourceKey',
      code: '$.detail.error.code',
      report: '$.detail.reportKey',
    });
    const publishers = statementsOf(
      props('NotificationTopicPolicy', 'AWS::SNS::TopicPolicy').PolicyDocument,
    ).map((statement) => (statement.Principal as { Service?: string }).Service);
    expect(publishers.sort()).toEqual(['cloudwatch.amazonaws.com', 'events.amazonaws.com']);
    expect(template.Outputs?.NotificationTopicArn).toBeDefined();
  });

  it('alarms on the failure queue, failed, timed-out or aborted executions, and function errors and throttles', () => {
    const alarm = (id: string) => props(id, 'AWS::CloudWatch::Alarm');
    for (const id of [
      'AsyncFailureQueueAlarm',
      'StateMachineFailedAlarm',
      'StateMachineTimedOutAlarm',
      'StateMachineAbortedAlarm',
      'FunctionErrorsAlarm',
      'FunctionThrottlesAlarm',
    ]) {
      expect(alarm(id), id).toMatchObject({
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: 'NotificationTopic' }],
      });
    }
    expect(alarm('AsyncFailureQueueAlarm')).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
    });
    for (const [id, metric] of [
      ['StateMachineFailedAlarm', 'ExecutionsFailed'],
      ['StateMachineTimedOutAlarm', 'ExecutionsTimedOut'],
      ['StateMachineAbortedAlarm', 'ExecutionsAborted'],
    ] as const) {
      expect(alarm(id), id).toMatchObject({
        Namespace: 'AWS/States',
        MetricName: metric,
        Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: ID.stateMachine } }],
      });
    }
    // Every function of the stack is in the sum, each by its own name.
    const functions = resourcesOfType('AWS::Lambda::Function')
      .map(([id]) => id)
      .sort();
    for (const [id, metric] of [
      ['FunctionErrorsAlarm', 'Errors'],
      ['FunctionThrottlesAlarm', 'Throttles'],
    ] as const) {
      const queries = alarm(id).Metrics as Array<{
        Expression?: string;
        MetricStat?: { Metric: { MetricName: string; Dimensions: Array<{ Value: { Ref: string } }> } };
      }>;
      const named = queries.filter((query) => query.MetricStat);
      expect(named.every((query) => query.MetricStat?.Metric.MetricName === metric)).toBe(true);
      expect(named.map((query) => query.MetricStat?.Metric.Dimensions[0]?.Value.Ref).sort()).toEqual(
        functions,
      );
      expect(queries.find((query) => query.Expression)?.Expression).toBe('SUM(METRICS())');
    }
  });

  it('traces every function (active X-Ray) and the state machine', () => {
    for (const name of FUNCTION_NAMES) {
      expect(props(functionId(name), 'AWS::Lambda::Function').TracingConfig, name).toEqual({
        Mode: 'Active',
      });
    }
    expect(props(ID.stateMachine, 'AWS::StepFunctions::StateMachine').TracingConfiguration).toEqual({
      Enabled: true,
    });
    const machineGrants = grantsOf(roleStatements(`${ID.stateMachine}Role`));
    expect(machineGrants['xray:PutTraceSegments']).toEqual(['*']);
    expect(machineGrants['xray:PutTelemetryRecords']).toEqual(['*']);
  });

  it('alarms on the oldest file in incoming/, take-overs and failed Performance Platform chunks, on the metrics the code emits', () => {
    const alarm = (id: string) => props(id, 'AWS::CloudWatch::Alarm');
    const ours = { Namespace: METRICS_NAMESPACE, Dimensions: METRIC_DIMENSIONS };
    for (const [id, metric] of [
      ['TakeOverAlarm', 'TakeOvers'],
      ['PpChunksFailedAlarm', 'PpChunksFailed'],
    ] as const) {
      expect(METRIC_NAMES, id).toContain(metric);
      expect(alarm(id), id).toEqual({
        AlarmDescription: expect.any(String),
        ...ours,
        MetricName: metric,
        Statistic: 'Sum',
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: 'NotificationTopic' }],
      });
    }
    // oldestIncomingAlarmMinutes (default 60), compared in minutes; the sweep measures every 10.
    expect(METRIC_NAMES).toContain('OldestIncomingAgeSeconds');
    expect(alarm('OldestIncomingFileAlarm')).toEqual({
      AlarmDescription: expect.any(String),
      EvaluationPeriods: 1,
      Threshold: 60,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'missing',
      AlarmActions: [{ Ref: 'NotificationTopic' }],
      OKActions: [{ Ref: 'NotificationTopic' }],
      Metrics: [
        {
          Id: 'seconds',
          ReturnData: false,
          MetricStat: {
            Metric: { ...ours, MetricName: 'OldestIncomingAgeSeconds' },
            Period: 900,
            Stat: 'Maximum',
          },
        },
        { Id: 'minutes', Expression: 'seconds / 60', Label: expect.any(String), ReturnData: true },
      ],
    });
  });

  it('has one dashboard showing every metric the code emits, the alarms, the executions and the functions', () => {
    const dashboards = resourcesOfType('AWS::CloudWatch::Dashboard');
    expect(dashboards.map(([id]) => id)).toEqual(['Dashboard']);
    const dashboard = props('Dashboard', 'AWS::CloudWatch::Dashboard');
    expect(dashboard.DashboardName).toBe(`govpub-${STAGE}`);
    const text = subText(dashboard.DashboardBody) as string;
    const body = JSON.parse(text.replace(/\$\{[^}]+\}/g, 'X')) as {
      widgets: Array<{ type: string; properties: { metrics?: unknown[][]; alarms?: string[] } }>;
    };
    const rows = body.widgets.flatMap((widget) => widget.properties.metrics ?? []);
    const ourNames = new Set(rows.filter((row) => row[0] === METRICS_NAMESPACE).map((row) => row[1]));
    const searches = rows.flatMap((row) =>
      row.flatMap((cell) => (isRecord(cell) && typeof cell.expression === 'string' ? [cell.expression] : [])),
    );
    for (const name of METRIC_NAMES) {
      if (CODED_METRICS.includes(name as (typeof CODED_METRICS)[number])) {
        // By code: a SEARCH over the exact dimension set, so every code shows.
        expect(searches, name).toContainEqual(
          expect.stringContaining(
            `{${METRICS_NAMESPACE},${ERROR_CODE_DIMENSION},${SERVICE_DIMENSION}} MetricName="${name}"`,
          ),
        );
      } else {
        expect([...ourNames], name).toContain(name);
      }
    }
    const alarms = body.widgets.flatMap((widget) => widget.properties.alarms ?? []);
    expect(alarms.length).toBe(resourcesOfType('AWS::CloudWatch::Alarm').length);
    for (const [id] of resourcesOfType('AWS::CloudWatch::Alarm')) {
      expect(text, `${id} on the dashboard`).toContain(`\${${id}.Arn}`);
    }
    for (const metric of [
      'ExecutionsStarted',
      'ExecutionsFailed',
      'ExecutionsTimedOut',
      'ExecutionsAborted',
    ]) {
      expect(text).toContain(`"AWS/States", "${metric}", "StateMachineArn", "\${${ID.stateMachine}}"`);
    }
    for (const [id] of resourcesOfType('AWS::Lambda::Function')) {
      for (const metric of ['Errors', 'Throttles']) {
        expect(text, `${id} ${metric}`).toContain(`"AWS/Lambda", "${metric}", "FunctionName", "\${${id}}"`);
      }
    }
    expect(subText(template.Outputs?.DashboardUrl?.Value)).toContain('#dashboards:name=$' + '{Dashboard}');
  });

  it('keys the lock table on datasetId with PITR, SSE and TTL', () => {
    expect(props(ID.lockTable, 'AWS::DynamoDB::Table')).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'datasetId', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'datasetId', KeyType: 'HASH' }],
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });

  it.each(FUNCTION_NAMES)('gives %s a log group with retention', (name) => {
    expect(props(logGroupId(name), 'AWS::Logs::LogGroup')).toEqual({
      LogGroupName: `/aws/lambda/govpub-${STAGE}-${name}`,
      RetentionInDays: 90,
    });
    const dependsOn = asArray(resource(functionId(name), 'AWS::Lambda::Function').DependsOn);
    expect(dependsOn, `${name} is created after its log group`).toContain(logGroupId(name));
  });

  it('sends failed async invocations of upload and sweep to an encrypted queue', () => {
    const queue = props(ID.failureQueue, 'AWS::SQS::Queue');
    expect(queue, 'SSE on, 14 days retention').toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1_209_600,
    });
    for (const name of FUNCTION_NAMES.filter((n) => (FUNCTIONS[n] as ExpectedFunction).invokedAsync)) {
      const config = resourcesOfType('AWS::Lambda::EventInvokeConfig').find(
        ([, r]) => isRecord(r.Properties?.FunctionName) && r.Properties.FunctionName.Ref === functionId(name),
      );
      const destination = valueAt(config?.[1].Properties, ['DestinationConfig', 'OnFailure', 'Destination']);
      const deadLetter = valueAt(props(functionId(name), 'AWS::Lambda::Function'), [
        'DeadLetterConfig',
        'TargetArn',
      ]);
      expect(
        getAttTarget(destination) ?? getAttTarget(deadLetter),
        `${name} is invoked asynchronously: it needs an on-failure destination or DLQ`,
      ).toBe(ID.failureQueue);
    }
  });

  it('puts no secret in any environment variable', () => {
    for (const name of FUNCTION_NAMES) {
      const variables = (valueAt(props(functionId(name), 'AWS::Lambda::Function'), [
        'Environment',
        'Variables',
      ]) ?? {}) as Record<string, unknown>;
      expect(variables, `${name}: the API key is read from SSM at run time`).not.toHaveProperty(
        'DGS_API_KEY',
      );
      for (const [key, value] of Object.entries(variables)) {
        expect(
          /KEY|SECRET|TOKEN|PASSWORD|CREDENTIAL/i.test(key) && !/_PARAMETER(_PREFIX)?$/.test(key),
          `${name}: ${key} looks like it carries a secret`,
        ).toBe(false);
        if (typeof value === 'string') {
          expect(/^[A-Za-z0-9+/=_-]{24,}$/.test(value), `${name}: ${key}=${value} looks like a secret`).toBe(
            false,
          );
        }
      }
      expect(variables.DGS_API_KEY_PARAMETER, `${name}: an SSM parameter name`).toMatch(/^\/[\w./-]+$/);
    }
  });

  it('authorises every HTTP API route with IAM', () => {
    const routes = resourcesOfType('AWS::ApiGatewayV2::Route');
    expect(routes.map(([, r]) => r.Properties?.RouteKey).sort()).toEqual([
      'GET /datasets/{dataset}',
      'POST /datasets/{dataset}/uploads',
      'POST /performance/{dataGroup}/{dataType}',
      'PUT /performance/{dataGroup}/{dataType}',
    ]);
    for (const [id, route] of routes) {
      expect(route.Properties?.AuthorizationType, `${id} must require IAM`).toBe('AWS_IAM');
    }
  });

  it('takes requests on a bus of its own, from allow-listed sources only, and lets only its functions speak as govpub', () => {
    expect(props('EventBus', 'AWS::Events::EventBus').Name).toBe(EVENT_BUS_NAME);
    expect(template.Parameters?.RequestSources).toMatchObject({
      Type: 'CommaDelimitedList',
      Default: 'govpub.requests',
    });
    // Each request type reaches one function, through one rule on the bus, for the listed sources.
    for (const [detailType, ruleId, target] of [
      ['Publish Dataset Requested', 'PublishRequestsRule', 'publishRequests'],
      ['Performance Records Submitted', 'PerformanceRecordsRule', 'forwarder'],
    ] as const) {
      const rules = resourcesOfType('AWS::Events::Rule').filter(([, r]) =>
        JSON.stringify(r.Properties?.EventPattern ?? {}).includes(detailType),
      );
      expect(
        rules.map(([id]) => id),
        detailType,
      ).toEqual([ruleId]);
      const rule = props(ruleId, 'AWS::Events::Rule');
      expect(rule.EventBusName, ruleId).toEqual({ Ref: 'EventBus' });
      expect(rule.EventPattern, ruleId).toEqual({
        source: { Ref: 'RequestSources' },
        'detail-type': [detailType],
      });
      const targets = asArray(rule.Targets as unknown[]);
      expect(targets.map((t) => getAttTarget(isRecord(t) ? t.Arn : undefined))).toEqual([functionId(target)]);
      const permission = resourcesOfType('AWS::Lambda::Permission').find(
        ([, p]) => getAttTarget(p.Properties?.SourceArn) === ruleId,
      );
      expect(permission?.[1].Properties, `${ruleId} may invoke ${target}`).toMatchObject({
        Action: 'lambda:InvokeFunction',
        Principal: 'events.amazonaws.com',
        FunctionName: { 'Fn::GetAtt': [functionId(target), 'Arn'] },
      });
    }
    // Every rule of the stack is on govpub's bus (but the sweep's schedule) and names its sources.
    for (const [id, rule] of resourcesOfType('AWS::Events::Rule')) {
      if (rule.Properties?.ScheduleExpression) continue;
      expect(rule.Properties?.EventBusName, id).toEqual({ Ref: 'EventBus' });
      expect(
        (rule.Properties?.EventPattern as { source?: unknown } | undefined)?.source,
        `${id} names its sources`,
      ).toBeDefined();
    }
    const statements = statementsOf(props('EventBus', 'AWS::Events::EventBus').Policy);
    expect(
      statements.every((statement) => statement.Effect === 'Deny'),
      'the policy only narrows',
    ).toBe(true);
    const bySid = Object.fromEntries(statements.map((statement) => [statement.Sid, statement]));
    expect(bySid.OnlyAllowListedSources).toMatchObject({
      Principal: '*',
      Action: 'events:PutEvents',
      Condition: {
        StringNotEquals: {
          'events:source': {
            'Fn::Split': [
              ',',
              { 'Fn::Join': [',', ['govpub', { 'Fn::Join': [',', { Ref: 'RequestSources' }] }]] },
            ],
          },
        },
      },
    });
    const speakers = bySid.OnlyGovpubSpeaksAsGovpub as {
      Condition: { StringEquals: Record<string, string>; ArnNotEquals: Record<string, unknown[]> };
    };
    expect(speakers.Condition.StringEquals).toEqual({ 'events:source': 'govpub' });
    // Exactly the roles that may put events (their grants name the bus).
    const putters = [
      ...new Set(
        FUNCTION_NAMES.filter((name) =>
          (FUNCTIONS[name] as ExpectedFunction).grants['events:PutEvents']?.includes(EVENT_BUS_ARN),
        ).map(roleOf),
      ),
    ].sort();
    expect(
      (speakers.Condition.ArnNotEquals['aws:PrincipalArn'] ?? []).map((arn) => getAttTarget(arn)).sort(),
    ).toEqual(putters);
  });

  it('lets no HTTP route outlive its integration: every function behind a route ends before API Gateway gives up', () => {
    const routes = resourcesOfType('AWS::ApiGatewayV2::Route');
    expect(routes.length).toBeGreaterThan(0);
    for (const [id, route] of routes) {
      const target = JSON.stringify(route.Properties?.Target);
      const integrationId = /"Ref":"(\w+)"/.exec(target)?.[1] ?? '';
      const integration = props(integrationId, 'AWS::ApiGatewayV2::Integration');
      const functionLogicalId = getAttTarget(integration.IntegrationUri) ?? '';
      const timeoutMs = (integration.TimeoutInMillis as number | undefined) ?? 30_000;
      expect(timeoutMs, `${id}: HTTP APIs wait 30 s at most`).toBeLessThanOrEqual(30_000);
      const fn = props(functionLogicalId, 'AWS::Lambda::Function');
      // API Gateway's time includes a cold start (init): the function ends 2 s before it gives up.
      expect((fn.Timeout as number) * 1000 + 2_000, `${id} -> ${functionLogicalId}`).toBeLessThanOrEqual(
        timeoutMs,
      );
      // And the function's calls to data.gov.sg end before the function does (lib/runtime.ts:
      // backoff between attempts of at most 1 s, then 2 s, …; two attempts here).
      const variables = (valueAt(fn, ['Environment', 'Variables']) ?? {}) as Record<string, string>;
      const attempts = Number(variables.DGS_MAX_ATTEMPTS ?? 4);
      const requestMs = Number(variables.DGS_REQUEST_TIMEOUT_MS ?? 30_000);
      const backoffMs = Array.from({ length: attempts - 1 }, (_, i) => 1_000 * 2 ** i).reduce(
        (a, b) => a + b,
        0,
      );
      if (functionLogicalId !== 'ForwarderHttpLambdaFunction') {
        expect(
          attempts * requestMs + backoffMs,
          `${functionLogicalId}: data.gov.sg's worst case`,
        ).toBeLessThan((fn.Timeout as number) * 1000);
      }
    }
  });

  it('outputs the bucket name, state machine ARN and failure queue URL', () => {
    const values = Object.values(template.Outputs ?? {}).map((output) => output.Value);
    expect(values).toContainEqual({ Ref: ID.dropBucket });
    expect(values).toContainEqual({ Ref: ID.stateMachine });
    expect(values).toContainEqual({ Ref: ID.failureQueue });
  });

  it('has no circular dependencies between resources', () => {
    const cycle = findDependencyCycle();
    expect(cycle, `CloudFormation rejects circular dependencies: ${cycle?.join(' -> ')}`).toBeUndefined();
  });

  it.each(FUNCTION_NAMES)('writes %s.zip under 1 MiB with its ESM bundle', async (name) => {
    const zipPath = path.join(outDir, `${name}.zip`);
    const { size } = await stat(zipPath);
    expect(size, `${zipPath} is ${size} bytes`).toBeLessThan(ONE_MIB);
    const entries = zipEntries(await readFile(zipPath));
    const bundle = (FUNCTIONS[name] as ExpectedFunction).bundle;
    expect(entries.has(bundle), `${name}.zip should contain ${bundle}`).toBe(true);
    expect(valueAt(props(functionId(name), 'AWS::Lambda::Function'), ['Code', 'S3Key'])).toMatch(
      new RegExp(`/${name}\\.zip$`),
    );
  });

  it.each(FUNCTION_NAMES)(
    'puts in %s.zip its own bundle and chunks only, with every chunk the bundle imports',
    async (name) => {
      const entries = zipEntries(await readFile(path.join(outDir, `${name}.zip`)));
      const bundle = (FUNCTIONS[name] as ExpectedFunction).bundle;
      const ownChunks = `${bundle.replace(/\.mjs$/, '')}.chunks/`;
      const strangers = [...entries.keys()].filter(
        (entry) => entry !== bundle && !entry.startsWith(ownChunks),
      );
      expect(strangers, 'files of other handlers (or anything else) in the zip').toEqual([]);
      const { loaded, missing } = await staticImportClosure(bundle, async (file) =>
        entries.get(file)?.toString('utf8'),
      );
      expect(missing, 'chunks the bundle imports but the zip lacks').toEqual([]);
      // What loads on first use must be there too: an import() of a missing chunk fails only then.
      const onDemand = [...entries].flatMap(([file, data]) =>
        file.endsWith('.mjs')
          ? dynamicImportsOf(data.toString('utf8')).map((specifier) =>
              path.posix.join(path.posix.dirname(file), specifier),
            )
          : [],
      );
      expect(onDemand.length, 'chunks behind an import()').toBeGreaterThan(0);
      expect(
        onDemand.filter((file) => !entries.has(file)),
        'chunks imported on demand but missing from the zip',
      ).toEqual([]);
      // Splitting is on: the tracer (X-Ray SDK) is a chunk of its own, not loaded at start.
      const lazy = [...entries.keys()].filter((entry) => !loaded.has(entry));
      expect(lazy.length, 'chunks behind an import()').toBeGreaterThan(0);
      const loadedText = [...loaded].map((file) => entries.get(file)?.toString('utf8')).join('\n');
      expect(loadedText).not.toContain('AWS_XRAY_DAEMON_ADDRESS');
      // Nor the Lambda SDK (an error class of its own), loaded on the first kick (lib/kicks.ts).
      expect(loadedText).not.toContain('EC2AccessDeniedException');
    },
  );

  /** What a zip holds: the text its cold start parses, and the text of its other chunks. */
  async function coldStartText(name: string): Promise<{ loaded: string; lazy: string }> {
    const entries = zipEntries(await readFile(path.join(outDir, `${name}.zip`)));
    const bundle = (FUNCTIONS[name] as ExpectedFunction).bundle;
    const { loaded } = await staticImportClosure(bundle, async (file) => entries.get(file)?.toString('utf8'));
    const text = (files: Iterable<string>) =>
      [...files].map((file) => entries.get(file)?.toString('utf8')).join('\n');
    return { loaded: text(loaded), lazy: text([...entries.keys()].filter((entry) => !loaded.has(entry))) };
  }

  // Markers: each client's protocol name, which no other client carries, and an error code of
  // papaparse's (the CSV check's slow path).
  const SDK = { s3: 'AmazonS3', dynamoDb: 'DynamoDB_20120810', eventBridge: 'AWSEvents', ssm: 'AmazonSSM' };
  const PAPAPARSE = 'UndetectableDelimiter';

  it('finds each marker of the cold-start checks below in the upload bundle, which loads them all', async () => {
    const { loaded } = await coldStartText('upload');
    const markers = [...Object.values(SDK), PAPAPARSE];
    expect(markers.filter((marker) => !loaded.includes(marker))).toEqual([]);
  });

  it.each([
    // The HTTP route's usual path forwards with the write API and SSM only.
    { name: 'forwarder', onDemand: [SDK.s3, SDK.dynamoDb, SDK.eventBridge], absent: [] },
    { name: 'forwarderHttp', onDemand: [SDK.s3, SDK.dynamoDb, SDK.eventBridge], absent: [] },
    // data.gov.sg (and so SSM) only for a failures list too long for the state; never the send path.
    { name: 'fileOutcome', onDemand: [SDK.ssm], absent: [PAPAPARSE] },
    // The POST routes need S3 (and a kick); the dataset view the lock and data.gov.sg; a refused
    // request event the bus.
    { name: 'publishRequests', onDemand: [SDK.dynamoDb, SDK.ssm, SDK.eventBridge], absent: [] },
  ])('starts $name without what its usual path never uses', async ({ name, onDemand, absent }) => {
    const { loaded, lazy } = await coldStartText(name);
    expect(
      [...onDemand, ...absent].filter((marker) => loaded.includes(marker)),
      'at a cold start',
    ).toEqual([]);
    expect(
      onDemand.filter((marker) => !lazy.includes(marker)),
      'in the chunks loaded on demand',
    ).toEqual([]);
    expect(
      absent.filter((marker) => lazy.includes(marker)),
      'anywhere in the zip',
    ).toEqual([]);
  });

  /** The zip's files in a fresh folder; `run` gets the handler bundle's path there. */
  async function withUnzipped<T>(name: string, run: (bundle: string) => Promise<T>): Promise<T> {
    const root = await mkdtemp(path.join(tmpdir(), `govpub-${name}-`));
    try {
      for (const [entry, data] of zipEntries(await readFile(path.join(outDir, `${name}.zip`)))) {
        await mkdir(path.dirname(path.join(root, entry)), { recursive: true });
        await writeFile(path.join(root, entry), data);
      }
      return await run(path.join(root, (FUNCTIONS[name] as ExpectedFunction).bundle));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }

  // A path that loads its clients on first use, run from the packaged zip: the chunk is found,
  // the client made and called (an EventBridge stand-in on 127.0.0.1 answers PutEvents).
  it.each([
    {
      name: 'forwarder',
      event: { 'detail-type': 'Performance Records Submitted', id: 'e1', detail: { dataGroup: 'NOT VALID' } },
      answer: { outcome: 'invalid' },
      detailType: 'Performance Records Forward Failed',
    },
    {
      name: 'publishRequests',
      event: { 'detail-type': PUBLISH_REQUESTED, id: 'e2', detail: {} },
      answer: {},
      detailType: 'Dataset Publish Failed',
    },
  ])(
    'sends the event of a refused request from the packaged $name, its bus client loaded on first use',
    async ({ name, event, answer, detailType }) => {
      const received: Array<{ target: string | undefined; body: string }> = [];
      const eventBridge = createServer((req, res) => {
        let body = '';
        req.on('data', (chunk: Buffer) => {
          body += chunk.toString('utf8');
        });
        req.on('end', () => {
          received.push({ target: req.headers['x-amz-target'] as string | undefined, body });
          res.setHeader('content-type', 'application/x-amz-json-1.1');
          res.end(JSON.stringify({ FailedEntryCount: 0, Entries: [{ EventId: 'x' }] }));
        });
      });
      eventBridge.listen(0, '127.0.0.1');
      await onceEvent(eventBridge, 'listening');
      try {
        const { port } = eventBridge.address() as AddressInfo;
        const { stdout } = await withUnzipped(name, (bundle) =>
          execFileAsync(
            process.execPath,
            ['--input-type=module', '-e', INVOKE_HANDLER, bundle, JSON.stringify(event)],
            {
              env: {
                PATH: process.env.PATH,
                AWS_REGION: 'ap-southeast-1',
                AWS_ACCESS_KEY_ID: 'test',
                AWS_SECRET_ACCESS_KEY: 'test',
                AWS_ENDPOINT_URL_EVENTBRIDGE: `http://127.0.0.1:${port}`,
                DROP_BUCKET: 'drop-bucket',
                LOCK_TABLE_NAME: 'lock-table',
                UPLOAD_FUNCTION_NAME: 'upload',
                PP_BASE_URL: 'https://performance.invalid',
                PP_TOKEN: 'unused',
                POWERTOOLS_LOG_LEVEL: 'SILENT',
              },
              timeout: 30_000,
            },
          ),
        );
        expect(JSON.parse(stdout)).toMatchObject(answer);
        expect(received.map((request) => request.target)).toEqual(['AWSEvents.PutEvents']);
        expect(received[0]?.body).toContain(detailType);
      } finally {
        eventBridge.close();
      }
    },
  );

  it.each(FUNCTION_NAMES)(
    'loads the handler of %s.zip as Lambda would, its tracer chunk included when tracing is on',
    async (name) => {
      const { stdout } = await withUnzipped(name, (bundle) =>
        execFileAsync(process.execPath, ['--input-type=module', '-e', LOAD_HANDLER, bundle], {
          env: { PATH: process.env.PATH, AWS_REGION: 'ap-southeast-1', POWERTOOLS_TRACE_ENABLED: 'true' },
          timeout: 30_000,
        }),
      );
      expect(stdout).toBe('function');
    },
  );
});
