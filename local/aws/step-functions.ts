import './polyfills.js';
import { randomUUID } from 'node:crypto';
import type { SFNClientConfig } from '@aws-sdk/client-sfn';
import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  type RunOptions,
  StateMachine,
  type StateMachineDefinition,
} from 'aws-local-stepfunctions';
import { AwsServiceError, createAwsJsonRpcServer, optionalString, requiredString } from './aws-json-rpc.js';
import {
  closeServer,
  errorMessage,
  errorName,
  isRecord,
  LOCAL_ACCOUNT_ID,
  LOCAL_REGION,
  lambdaFunctionArn,
  listenLocal,
  localCredentials,
  localEndpoint,
  waitUntilEmpty,
} from './common.js';

/**
 * A local stand-in for the Lambda function behind a Task state. Declared as a method so that
 * handlers with a narrower input type can be registered (the input is JSON from the machine).
 */
export type TaskHandler = { handle(input: unknown): Promise<unknown> }['handle'];

export interface LocalStateMachineConfig {
  name: string;
  /** ASL in JSONPath (aws-local-stepfunctions ignores JSONata); see loadAslForLocalRun. */
  definition: object;
  /** By Task state name; every Task state (nested ones too) must have exactly one. */
  taskHandlers: Record<string, TaskHandler>;
  /** Wait state name → milliseconds to wait instead. */
  waitTimeOverrides?: Record<string, number>;
  /** State name → milliseconds between retries instead of IntervalSeconds/BackoffRate. */
  retryIntervalOverrides?: Record<string, number | number[]>;
}

export interface LocalStepFunctionsOptions {
  /** 0 or omitted: a free port. */
  port?: number;
  machines: LocalStateMachineConfig[];
}

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface LocalExecution {
  executionArn: string;
  stateMachineArn: string;
  stateMachineName: string;
  name: string;
  status: ExecutionStatus;
  /** The input string exactly as given to StartExecution. */
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  startDate: Date;
  stopDate?: Date;
  /** Every state entered, in order, nested Map/Parallel states included. */
  statesEntered: string[];
}

export interface LocalStepFunctions {
  endpoint: string;
  stateMachineArn(name: string): string;
  /** Snapshots, in start order. */
  executions(): LocalExecution[];
  /** Resolves when no execution is running, including ones started while waiting. */
  whenIdle(): Promise<void>;
  /** Aborts running executions and stops the server. */
  close(): Promise<void>;
}

type LocalTaskHandlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;
type JsonValue = Parameters<LocalTaskHandlers[string]>[0];

interface LocalMachine {
  config: LocalStateMachineConfig;
  arn: string;
  stateMachine: StateMachine;
  overrides: NonNullable<RunOptions['overrides']>;
}

interface ExecutionEntry {
  execution: LocalExecution;
  abort(): void;
  /** Error/cause given to StopExecution, reported once the abort settles. */
  stopReason?: { error?: string; cause?: string };
}

/** Step Functions (Standard) on 127.0.0.1: StartExecution, DescribeExecution, StopExecution. */
export async function startLocalStepFunctions(
  options: LocalStepFunctionsOptions,
): Promise<LocalStepFunctions> {
  const machines = new Map(options.machines.map((config) => [config.name, createLocalMachine(config)]));
  if (machines.size !== options.machines.length) throw new Error('State machine names must be unique');
  const entries = new Map<string, ExecutionEntry>();
  const running = new Set<Promise<unknown>>();
  const context: ServiceContext = { machines, entries, running };
  const server = createAwsJsonRpcServer({
    targetPrefix: 'AWSStepFunctions',
    contentType: 'application/x-amz-json-1.0',
    operations: {
      StartExecution: (input) => startExecution(context, input),
      DescribeExecution: (input) => describeExecution(context, input),
      StopExecution: (input) => stopExecution(context, input),
    },
  });
  const port = await listenLocal(server, options.port ?? 0);
  return {
    endpoint: localEndpoint(port),
    stateMachineArn,
    executions: () => [...entries.values()].map(({ execution }) => snapshot(execution)),
    whenIdle: () => waitUntilEmpty(running),
    async close() {
      for (const entry of entries.values()) {
        if (entry.execution.status === 'RUNNING') entry.abort();
      }
      await waitUntilEmpty(running);
      await closeServer(server);
    },
  };
}

export function localSfnClientConfig(endpoint: string): SFNClientConfig {
  return { endpoint, region: LOCAL_REGION, credentials: localCredentials() };
}

export function stateMachineArn(name: string): string {
  return `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:stateMachine:${name}`;
}

export function executionArn(machineName: string, executionName: string): string {
  return `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:execution:${machineName}:${executionName}`;
}

interface ServiceContext {
  machines: ReadonlyMap<string, LocalMachine>;
  entries: Map<string, ExecutionEntry>;
  running: Set<Promise<unknown>>;
}

function createLocalMachine(config: LocalStateMachineConfig): LocalMachine {
  checkTaskHandlers(config);
  const taskResourceLocalHandlers: LocalTaskHandlers = {};
  for (const [stateName, handler] of Object.entries(config.taskHandlers)) {
    taskResourceLocalHandlers[stateName] = asLambdaTask(handler);
  }
  return {
    config,
    arn: stateMachineArn(config.name),
    // Validation (asl-validator) costs 150–350 ms: one StateMachine per machine, reused.
    stateMachine: new StateMachine(config.definition as StateMachineDefinition, {
      validationOptions: { checkArn: false, checkPaths: true },
    }),
    overrides: {
      taskResourceLocalHandlers,
      waitTimeOverrides: config.waitTimeOverrides ?? {},
      retryIntervalOverrides: config.retryIntervalOverrides ?? {},
    },
  };
}

/**
 * A Task state without a local handler would make aws-local-stepfunctions call the real
 * Lambda through the AWS SDK, so a missing (or misspelt) handler fails at start-up instead.
 */
function checkTaskHandlers(config: LocalStateMachineConfig): void {
  const taskStates = new Set(taskStateNames(config.definition));
  const handlers = new Set(Object.keys(config.taskHandlers));
  const missing = [...taskStates].filter((name) => !handlers.has(name));
  const unknown = [...handlers].filter((name) => !taskStates.has(name));
  if (missing.length > 0 || unknown.length > 0) {
    throw new Error(
      `State machine ${config.name}: Task states without a handler: [${missing.join(', ')}]; ` +
        `handlers for no Task state: [${unknown.join(', ')}]`,
    );
  }
}

function taskStateNames(definition: unknown): string[] {
  if (!isRecord(definition) || !isRecord(definition.States)) return [];
  const names: string[] = [];
  for (const [name, state] of Object.entries(definition.States)) {
    if (!isRecord(state)) continue;
    if (state.Type === 'Task') names.push(name);
    const branches = Array.isArray(state.Branches) ? state.Branches : [];
    for (const nested of [state.Iterator, state.ItemProcessor, ...branches]) {
      names.push(...taskStateNames(nested));
    }
  }
  return names;
}

/**
 * Makes a local handler behave like a Lambda task: the result goes through JSON (as Lambda's
 * response does), and a thrown error keeps its name (matched by ErrorEquals) while its message
 * becomes the JSON Cause that Step Functions reports for a failed Lambda.
 */
function asLambdaTask(handler: TaskHandler): LocalTaskHandlers[string] {
  return async (input: JsonValue): Promise<JsonValue> => {
    let result: unknown;
    try {
      result = await handler(input);
    } catch (error) {
      throw lambdaTaskError(error);
    }
    return toJsonValue(result);
  };
}

function toJsonValue(value: unknown): JsonValue {
  const text = JSON.stringify(value);
  return text === undefined ? null : (JSON.parse(text) as JsonValue);
}

function lambdaTaskError(error: unknown): Error {
  const errorType = errorName(error);
  const trace = error instanceof Error && error.stack ? error.stack.split('\n') : [];
  const failure = new Error(JSON.stringify({ errorType, errorMessage: errorMessage(error), trace }));
  failure.name = errorType;
  return failure;
}

function startExecution(context: ServiceContext, input: Record<string, unknown>): unknown {
  const machine = findMachine(context, requiredString(input, 'stateMachineArn'));
  const name = optionalString(input, 'name') ?? randomUUID();
  validateExecutionName(name);
  const rawInput = optionalString(input, 'input') ?? '{}';
  const parsedInput = parseExecutionInput(rawInput);
  const arn = executionArn(machine.config.name, name);
  const existing = context.entries.get(arn);
  const execution = existing
    ? idempotentStart(existing.execution, rawInput)
    : runExecution(context, machine, { arn, name, rawInput, parsedInput });
  return { executionArn: execution.executionArn, startDate: epochSeconds(execution.startDate) };
}

/** As AWS Standard: the same name and input while RUNNING is the same start; anything else clashes. */
function idempotentStart(execution: LocalExecution, rawInput: string): LocalExecution {
  if (execution.status === 'RUNNING' && execution.input === rawInput) return execution;
  throw new AwsServiceError(
    'ExecutionAlreadyExists',
    `Execution Already Exists: '${execution.executionArn}'`,
  );
}

function findMachine(context: ServiceContext, arn: string): LocalMachine {
  const match = /^arn:aws:states:([^:]+):(\d{12}):stateMachine:([^:]+)$/.exec(arn);
  if (!match) throw new AwsServiceError('InvalidArn', `Invalid Arn: '${arn}'`);
  const [, region, account, name = ''] = match;
  const machine =
    region === LOCAL_REGION && account === LOCAL_ACCOUNT_ID ? context.machines.get(name) : undefined;
  if (!machine) {
    throw new AwsServiceError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
  }
  return machine;
}

function validateExecutionName(name: string): void {
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(name)) {
    throw new AwsServiceError('InvalidName', `Invalid Name: '${name}'`);
  }
}

function parseExecutionInput(rawInput: string): JsonValue {
  try {
    return JSON.parse(rawInput) as JsonValue;
  } catch (error) {
    throw new AwsServiceError(
      'InvalidExecutionInput',
      `Invalid State Machine Execution Input: '${errorMessage(error)}'`,
    );
  }
}

interface NewExecution {
  arn: string;
  name: string;
  rawInput: string;
  parsedInput: JsonValue;
}

function runExecution(context: ServiceContext, machine: LocalMachine, request: NewExecution): LocalExecution {
  const execution: LocalExecution = {
    executionArn: request.arn,
    stateMachineArn: machine.arn,
    stateMachineName: machine.config.name,
    name: request.name,
    status: 'RUNNING',
    input: request.rawInput,
    startDate: new Date(),
    statesEntered: [],
  };
  const run = machine.stateMachine.run(request.parsedInput, {
    overrides: machine.overrides,
    context: {
      Execution: { Id: request.arn, Name: request.name, StartTime: execution.startDate.toISOString() },
      StateMachine: { Id: machine.arn, Name: machine.config.name },
    },
  });
  const entry: ExecutionEntry = { execution, abort: run.abort };
  context.entries.set(request.arn, entry);
  const done = Promise.allSettled([run.result, recordStatesEntered(run.eventLogs, execution)]).then(
    ([result]) => settleExecution(entry, result),
  );
  context.running.add(done);
  void done.finally(() => context.running.delete(done));
  return execution;
}

type EventLogs = ReturnType<StateMachine['run']>['eventLogs'];

async function recordStatesEntered(eventLogs: EventLogs, execution: LocalExecution): Promise<void> {
  for await (const event of eventLogs) {
    if (event.type === 'StateEntered') execution.statesEntered.push(event.state.name);
  }
}

function settleExecution(entry: ExecutionEntry, result: PromiseSettledResult<JsonValue>): void {
  const { execution } = entry;
  execution.stopDate = new Date();
  if (result.status === 'fulfilled') {
    execution.status = 'SUCCEEDED';
    execution.output = JSON.stringify(result.value);
    return;
  }
  const failure = describeFailure(result.reason);
  execution.status = failure.status;
  const reason = failure.status === 'ABORTED' ? entry.stopReason : failure;
  if (reason?.error !== undefined) execution.error = reason.error;
  if (reason?.cause !== undefined) execution.cause = reason.cause;
}

interface Failure {
  status: Exclude<ExecutionStatus, 'RUNNING' | 'SUCCEEDED'>;
  error?: string;
  cause?: string;
}

function describeFailure(reason: unknown): Failure {
  if (reason instanceof ExecutionAbortedError) return { status: 'ABORTED' };
  if (reason instanceof ExecutionTimeoutError) {
    return { status: 'TIMED_OUT', error: 'States.Timeout', cause: 'The execution timed out' };
  }
  const cause = reason instanceof ExecutionError ? reason.cause : reason;
  return { status: 'FAILED', error: errorName(cause), cause: errorMessage(cause) };
}

function describeExecution(context: ServiceContext, input: Record<string, unknown>): unknown {
  const { execution } = findExecution(context, requiredString(input, 'executionArn'));
  return {
    executionArn: execution.executionArn,
    stateMachineArn: execution.stateMachineArn,
    name: execution.name,
    status: execution.status,
    startDate: epochSeconds(execution.startDate),
    stopDate: execution.stopDate && epochSeconds(execution.stopDate),
    input: execution.input,
    inputDetails: { included: true },
    output: execution.output,
    outputDetails: execution.output === undefined ? undefined : { included: true },
    error: execution.error,
    cause: execution.cause,
  };
}

function stopExecution(context: ServiceContext, input: Record<string, unknown>): unknown {
  const entry = findExecution(context, requiredString(input, 'executionArn'));
  if (entry.execution.status === 'RUNNING') {
    entry.stopReason = { error: optionalString(input, 'error'), cause: optionalString(input, 'cause') };
    entry.abort();
  }
  return { stopDate: epochSeconds(entry.execution.stopDate ?? new Date()) };
}

function findExecution(context: ServiceContext, arn: string): ExecutionEntry {
  if (!/^arn:aws:states:[^:]+:\d{12}:execution:[^:]+:[^:]+$/.test(arn)) {
    throw new AwsServiceError('InvalidArn', `Invalid Arn: '${arn}'`);
  }
  const entry = context.entries.get(arn);
  if (!entry) throw new AwsServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
  return entry;
}

/** AWS JSON protocols carry timestamps as epoch seconds. */
function epochSeconds(date: Date): number {
  return date.getTime() / 1000;
}

function snapshot(execution: LocalExecution): LocalExecution {
  return { ...execution, statesEntered: [...execution.statesEntered] };
}

export interface LoadAslOptions {
  /** Values for `{"Ref": X}` / `${X}`; an unknown X stands for itself. */
  refs?: Record<string, string>;
}

const PSEUDO_PARAMETERS: Readonly<Record<string, string>> = {
  'AWS::Region': LOCAL_REGION,
  'AWS::AccountId': LOCAL_ACCOUNT_ID,
  'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'local',
};

/**
 * Makes an ASL definition written for serverless.yml (`${file()}`) loadable locally: replaces
 * CloudFormation intrinsics with deterministic strings.
 * - `{"Fn::GetAtt": [X, "Arn"]}` → `arn:aws:lambda:ap-southeast-1:000000000000:function:X`;
 *   another attribute → `X.Attr`.
 * - `{"Ref": X}` → `refs[X]`, a pseudo parameter's local value, or `X`.
 * - `{"Fn::Sub": template | [template, vars]}` → the template with `${...}` resolved the same way.
 * - `{"Fn::Join": [delimiter, parts]}` → the joined parts.
 */
export function loadAslForLocalRun(
  definition: object,
  options: LoadAslOptions = {},
): Record<string, unknown> {
  const resolved = resolveIntrinsics(definition, options.refs ?? {});
  if (!isRecord(resolved)) throw new Error('An ASL definition must be a JSON object');
  return resolved;
}

function resolveIntrinsics(value: unknown, refs: Record<string, string>): unknown {
  if (Array.isArray(value)) return value.map((item) => resolveIntrinsics(item, refs));
  if (!isRecord(value)) return value;
  const keys = Object.keys(value);
  const intrinsic = keys.length === 1 ? keys[0] : undefined;
  const argument = intrinsic === undefined ? undefined : value[intrinsic];
  switch (intrinsic) {
    case 'Fn::GetAtt':
      return resolveGetAtt(argument);
    case 'Ref':
      return resolveName(String(argument), refs);
    case 'Fn::Sub':
      return resolveSub(argument, refs);
    case 'Fn::Join':
      return resolveJoin(argument, refs);
    default:
      return Object.fromEntries(
        Object.entries(value).map(([key, item]) => [key, resolveIntrinsics(item, refs)]),
      );
  }
}

function resolveGetAtt(argument: unknown): string {
  const [logicalName, attribute] = Array.isArray(argument)
    ? argument.map(String)
    : String(argument).split(/\.(.*)/s);
  if (!logicalName || !attribute) throw new Error(`Unsupported Fn::GetAtt: ${JSON.stringify(argument)}`);
  return attribute === 'Arn' ? lambdaFunctionArn(logicalName) : `${logicalName}.${attribute}`;
}

function resolveName(name: string, refs: Record<string, string>): string {
  return refs[name] ?? PSEUDO_PARAMETERS[name] ?? name;
}

function resolveSub(argument: unknown, refs: Record<string, string>): string {
  const [template, variables] = Array.isArray(argument) ? argument : [argument, {}];
  if (typeof template !== 'string') throw new Error(`Unsupported Fn::Sub: ${JSON.stringify(argument)}`);
  const resolvedVariables = resolveIntrinsics(variables, refs);
  const locals = isRecord(resolvedVariables) ? resolvedVariables : {};
  return template.replace(/\$\{(!?)([^}]*)\}/g, (_match, literal: string, name: string) => {
    if (literal) return `\${${name}}`;
    const local = locals[name];
    if (typeof local === 'string') return local;
    return name.includes('.') && !name.startsWith('AWS::') ? resolveGetAtt(name) : resolveName(name, refs);
  });
}

function resolveJoin(argument: unknown, refs: Record<string, string>): string {
  const [delimiter, parts] = Array.isArray(argument) ? argument : [];
  const resolvedParts = resolveIntrinsics(parts, refs);
  if (typeof delimiter !== 'string' || !Array.isArray(resolvedParts)) {
    throw new Error(`Unsupported Fn::Join: ${JSON.stringify(argument)}`);
  }
  return resolvedParts.map(String).join(delimiter);
}
