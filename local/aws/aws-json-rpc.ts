import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { errorMessage, isRecord, PayloadTooLargeError, readBody, sendJson } from './common.js';

/**
 * A service error as AWS JSON protocols carry it: the SDK maps `__type` to the named exception
 * class (e.g. `ExecutionAlreadyExists`) and keeps `message`.
 */
export class AwsServiceError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = type;
  }
}

/** Who signed a request: the access key id of its SigV4 Authorization header. */
export interface AwsCaller {
  accessKeyId: string | undefined;
}

export type AwsJsonOperation = (input: Record<string, unknown>, caller: AwsCaller) => unknown;

export interface AwsJsonRpcOptions {
  /** e.g. `AWSStepFunctions` for `X-Amz-Target: AWSStepFunctions.StartExecution`. */
  targetPrefix: string;
  /** `application/x-amz-json-1.0` or `application/x-amz-json-1.1`. */
  contentType: string;
  operations: Record<string, AwsJsonOperation>;
  maxBodyBytes?: number;
}

const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

/** An HTTP server for an AWS JSON 1.0/1.1 RPC service: `POST /` with an `X-Amz-Target` header. */
export function createAwsJsonRpcServer(options: AwsJsonRpcOptions): Server {
  return createServer((req, res) => {
    handleRequest(options, req, res).catch((error: unknown) => {
      sendError(res, options.contentType, toServiceError(error));
    });
  });
}

async function handleRequest(
  options: AwsJsonRpcOptions,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const body = await readBody(req, options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
  const operation = resolveOperation(options, req);
  const input = parseInput(body);
  const output = await operation(input, { accessKeyId: accessKeyIdOf(req) });
  sendJson(res, 200, output ?? {}, { 'content-type': options.contentType });
}

function resolveOperation(options: AwsJsonRpcOptions, req: IncomingMessage): AwsJsonOperation {
  if (req.method !== 'POST') {
    throw new AwsServiceError('UnknownOperationException', `Method ${req.method} is not supported`);
  }
  const target = req.headers['x-amz-target'];
  const prefix = `${options.targetPrefix}.`;
  const name = typeof target === 'string' && target.startsWith(prefix) ? target.slice(prefix.length) : '';
  const operation = Object.hasOwn(options.operations, name) ? options.operations[name] : undefined;
  if (!operation) {
    throw new AwsServiceError('UnknownOperationException', `Unknown operation: ${String(target)}`);
  }
  return operation;
}

function parseInput(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new AwsServiceError('SerializationException', 'Request body is not valid JSON');
  }
  if (!isRecord(parsed)) {
    throw new AwsServiceError('SerializationException', 'Request body must be a JSON object');
  }
  return parsed;
}

function toServiceError(error: unknown): AwsServiceError {
  if (error instanceof AwsServiceError) return error;
  if (error instanceof PayloadTooLargeError) {
    return new AwsServiceError('ValidationException', error.message, 413);
  }
  return new AwsServiceError('InternalFailure', errorMessage(error), 500);
}

function sendError(res: ServerResponse, contentType: string, error: AwsServiceError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(
    res,
    error.status,
    { __type: error.type, message: error.message },
    { 'content-type': contentType, 'x-amzn-errortype': error.type },
  );
}

/** Reads an optional string member, rejecting any other type as the service would. */
export function optionalString(input: Record<string, unknown>, member: string): string | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw new AwsServiceError('ValidationException', `${member} must be a string`);
  }
  return value;
}

export function requiredString(input: Record<string, unknown>, member: string): string {
  const value = optionalString(input, member);
  if (value === undefined) {
    throw new AwsServiceError('ValidationException', `${member} is required`);
  }
  return value;
}

function accessKeyIdOf(req: IncomingMessage): string | undefined {
  const authorization = req.headers.authorization;
  return typeof authorization === 'string' ? /Credential=([^/,\s]+)\//.exec(authorization)?.[1] : undefined;
}
