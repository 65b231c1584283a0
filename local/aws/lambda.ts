import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  closeServer,
  errorMessage,
  errorName,
  lambdaFunctionArn,
  listenLocal,
  localEndpoint,
  PayloadTooLargeError,
  readBody,
  sendJson,
  waitUntilEmpty,
} from './common.js';

/**
 * A local stand-in for a deployed function. Declared as a method so that functions with a
 * narrower event type can be registered (the event is JSON from the caller).
 */
export type LocalFunction = {
  handle(event: unknown, context: { getRemainingTimeInMillis(): number }): Promise<unknown>;
}['handle'];

export interface LocalLambdaOptions {
  /** 0 or omitted: a free port. */
  port?: number;
  /** By function name. */
  functions: Record<string, LocalFunction>;
  /**
   * Time limits by function name, told to the function through its context's
   * getRemainingTimeInMillis (default: 15 minutes, Lambda's maximum). Not enforced.
   */
  timeoutsMs?: Record<string, number>;
  /**
   * Lambda's retries of a failed asynchronous invocation (AWS: 2, about a minute and then two
   * apart), with the same request id. Default: none, so that a failure shows at once.
   */
  asyncRetries?: { attempts: number; delayMs: number };
}

export type InvocationType = 'Event' | 'RequestResponse';

export interface LocalInvocation {
  id: string;
  functionName: string;
  invocationType: InvocationType;
  /** The payload, parsed. */
  event: unknown;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  /** 1 for the first run of an event; Lambda's retries of an asynchronous one count up. */
  attempt: number;
  result?: unknown;
  error?: LambdaFunctionError;
  startedAt: Date;
  finishedAt?: Date;
}

/** The payload Lambda returns for an unhandled function error. */
export interface LambdaFunctionError {
  errorType: string;
  errorMessage: string;
  trace?: string[];
}

export interface LocalLambda {
  endpoint: string;
  /** Snapshots, in arrival order. */
  invocations(): LocalInvocation[];
  /** Resolves when no invocation is running, including ones started while waiting. */
  whenIdle(): Promise<void>;
  /** Waits for running invocations (a function that never settles keeps it waiting), then stops. */
  close(): Promise<void>;
}

/** Request and response payload quotas of Invoke. */
const MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024;
const MAX_ASYNC_PAYLOAD_BYTES = 1024 * 1024;
const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

interface LambdaContext {
  functions: Readonly<Record<string, LocalFunction>>;
  timeoutsMs: Readonly<Record<string, number>>;
  asyncRetries: { attempts: number; delayMs: number };
  invocations: LocalInvocation[];
  running: Set<Promise<unknown>>;
}

/** The Lambda Invoke REST API on 127.0.0.1, dispatching to local functions. */
export async function startLocalLambda(options: LocalLambdaOptions): Promise<LocalLambda> {
  const context: LambdaContext = {
    functions: options.functions,
    timeoutsMs: options.timeoutsMs ?? {},
    asyncRetries: options.asyncRetries ?? { attempts: 0, delayMs: 0 },
    invocations: [],
    running: new Set(),
  };
  const server = createServer((req, res) => {
    handleInvoke(context, req, res).catch((error: unknown) => sendRequestError(res, error));
  });
  const port = await listenLocal(server, options.port ?? 0);
  return {
    endpoint: localEndpoint(port),
    invocations: () => context.invocations.map((invocation) => structuredClone(invocation)),
    whenIdle: () => waitUntilEmpty(context.running),
    async close() {
      await waitUntilEmpty(context.running);
      await closeServer(server);
    },
  };
}

/**
 * `arn:aws:lambda:region:account:function:name[:qualifier]`, `account:function:name` or
 * `name[:qualifier]` → `name`.
 */
export function functionNameOf(functionNameOrArn: string): string {
  const marker = 'function:';
  const start = functionNameOrArn.lastIndexOf(marker);
  const rest = start === -1 ? functionNameOrArn : functionNameOrArn.slice(start + marker.length);
  return rest.split(':')[0] ?? rest;
}

class LambdaRequestError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = type;
  }
}

async function handleInvoke(
  context: LambdaContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const functionName = parseInvokePath(req);
  const invocationType = parseInvocationType(req.headers['x-amz-invocation-type']);
  const limit = invocationType === 'Event' ? MAX_ASYNC_PAYLOAD_BYTES : MAX_SYNC_PAYLOAD_BYTES;
  const body = await readBody(req, limit);
  const handler = Object.hasOwn(context.functions, functionName)
    ? context.functions[functionName]
    : undefined;
  if (!handler) {
    throw new LambdaRequestError(
      'ResourceNotFoundException',
      `Function not found: ${lambdaFunctionArn(functionName)}`,
      404,
    );
  }
  const payloadText = body.length === 0 ? '{}' : body.toString('utf8');
  parsePayload(payloadText);
  if (invocationType === 'DryRun') {
    res.writeHead(204).end();
    return;
  }
  const invocation: LocalInvocation = {
    id: randomUUID(),
    functionName,
    invocationType,
    event: parsePayload(payloadText),
    status: 'RUNNING',
    attempt: 1,
    startedAt: new Date(),
  };
  context.invocations.push(invocation);
  if (invocationType === 'Event') {
    track(context, runAsync(context, handler, invocation, payloadText));
    res.writeHead(202, { 'x-amzn-requestid': invocation.id }).end();
    return;
  }
  const done = runFunction(handler, invocation, payloadText, timeoutOf(context, functionName));
  track(context, done);
  await done;
  sendInvocationResult(res, invocation);
}

function parseInvokePath(req: IncomingMessage): string {
  const { pathname } = new URL(req.url ?? '/', 'http://local');
  const match = req.method === 'POST' ? INVOKE_PATH.exec(pathname) : null;
  if (!match?.[1]) {
    throw new LambdaRequestError(
      'UnknownOperationException',
      `No such operation: ${req.method} ${pathname}`,
      404,
    );
  }
  return functionNameOf(decodeURIComponent(match[1]));
}

function parseInvocationType(header: string | string[] | undefined): InvocationType | 'DryRun' {
  const value = header ?? 'RequestResponse';
  if (value === 'Event' || value === 'RequestResponse' || value === 'DryRun') return value;
  throw new LambdaRequestError(
    'InvalidParameterValueException',
    `Unsupported invocation type: ${String(value)}`,
    400,
  );
}

function parsePayload(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new LambdaRequestError(
      'InvalidRequestContentException',
      `Could not parse request body into json: ${errorMessage(error)}`,
      400,
    );
  }
}

function track(context: LambdaContext, work: Promise<void>): void {
  context.running.add(work);
  void work.finally(() => context.running.delete(work));
}

/** Async invocations are queued by Lambda: the function starts after the 202 is sent. */
/** Lambda's maximum, for functions with no time limit of their own. */
const DEFAULT_TIMEOUT_MS = 900_000;

function timeoutOf(context: LambdaContext, functionName: string): number {
  return Object.hasOwn(context.timeoutsMs, functionName)
    ? (context.timeoutsMs[functionName] ?? DEFAULT_TIMEOUT_MS)
    : DEFAULT_TIMEOUT_MS;
}

/** Async invocations are queued by Lambda: the function starts after the 202 is sent, and a failed run is retried. */
async function runAsync(
  context: LambdaContext,
  handler: LocalFunction,
  first: LocalInvocation,
  payload: string,
): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  const timeoutMs = timeoutOf(context, first.functionName);
  let invocation = first;
  await runFunction(handler, invocation, payload, timeoutMs);
  while (invocation.status === 'FAILED' && invocation.attempt <= context.asyncRetries.attempts) {
    await new Promise((resolve) => setTimeout(resolve, context.asyncRetries.delayMs));
    invocation = {
      id: first.id,
      functionName: first.functionName,
      invocationType: first.invocationType,
      event: parsePayload(payload),
      status: 'RUNNING',
      attempt: invocation.attempt + 1,
      startedAt: new Date(),
    };
    context.invocations.push(invocation);
    await runFunction(handler, invocation, payload, timeoutMs);
  }
}

/** Never rejects: the outcome is recorded on the invocation. */
async function runFunction(
  handler: LocalFunction,
  invocation: LocalInvocation,
  payload: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  try {
    // The function gets its own copy, as it would in another process.
    const result = await handler(JSON.parse(payload), {
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    });
    const text = JSON.stringify(result) ?? 'null';
    if (Buffer.byteLength(text) > MAX_SYNC_PAYLOAD_BYTES) {
      throw Object.assign(new Error('Response payload size exceeded maximum allowed payload size'), {
        name: 'Function.ResponseSizeTooLarge',
      });
    }
    invocation.result = JSON.parse(text);
    invocation.status = 'SUCCEEDED';
  } catch (error) {
    invocation.error = toFunctionError(error);
    invocation.status = 'FAILED';
  } finally {
    invocation.finishedAt = new Date();
  }
}

function toFunctionError(error: unknown): LambdaFunctionError {
  const trace = error instanceof Error && error.stack ? error.stack.split('\n') : [];
  return { errorType: errorName(error), errorMessage: errorMessage(error), trace };
}

function sendInvocationResult(res: ServerResponse, invocation: LocalInvocation): void {
  const headers = { 'x-amz-executed-version': '$LATEST', 'x-amzn-requestid': invocation.id };
  if (invocation.status === 'FAILED') {
    sendJson(res, 200, invocation.error, { ...headers, 'x-amz-function-error': 'Unhandled' });
    return;
  }
  sendJson(res, 200, invocation.result ?? null, headers);
}

/** REST-JSON errors: the SDK takes the exception name from `x-amzn-errortype`. */
function sendRequestError(res: ServerResponse, error: unknown): void {
  const failure = toRequestError(error);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(
    res,
    failure.status,
    { Type: failure.status >= 500 ? 'Service' : 'User', message: failure.message },
    { 'x-amzn-errortype': failure.type },
  );
}

function toRequestError(error: unknown): LambdaRequestError {
  if (error instanceof LambdaRequestError) return error;
  if (error instanceof PayloadTooLargeError) {
    return new LambdaRequestError('RequestEntityTooLargeException', error.message, 413);
  }
  return new LambdaRequestError('ServiceException', errorMessage(error), 500);
}
