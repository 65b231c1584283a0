import middy, { type MiddlewareObj } from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import { createError } from '@middy/util';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { Log } from './observability.js';

/**
 * HTTP answers of the API, built in one place. Client errors (4xx) tell the caller what to fix, as
 * `{message, …}`; anything else is a generic 500, with the detail only in the log.
 */
const ANSWER_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' };
const INTERNAL_ERROR = { message: 'Internal error; it has been logged.' };

export function jsonResponse(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { ...ANSWER_HEADERS }, body: JSON.stringify(body) };
}

/** Marks the errors that are answers on purpose; every other error is unexpected. */
const ANSWER = Symbol('govpub.httpAnswer');

/** A 4xx answer, thrown from a handler: `{message, ...extra}`, which the caller may read. */
export function httpFailure(statusCode: number, message: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(createError(statusCode, JSON.stringify({ message, ...extra })), { [ANSWER]: true });
}

/** An HTTP API event once the middlewares ran: lower-case header names, the JSON body parsed. */
export type JsonHttpEvent = Omit<APIGatewayProxyEventV2, 'body'> & { body?: unknown };

export interface JsonHttpOptions {
  log: () => Log;
  /** Methods that carry a JSON body (a GET has none). */
  bodyMethods: readonly string[];
  /** The answer to a body that is not `application/json` (415). */
  unsupportedMediaType: string;
  /** The answer to an empty or unparsable body (400). */
  malformedJson: string;
  /** Checks of the path, made before the body's: throw httpFailure to answer. */
  checkPath?: (event: APIGatewayProxyEventV2) => void;
}

/**
 * An HTTP handler over middy's HTTP middlewares: headers normalised (@middy/http-header-normalizer),
 * the JSON body parsed (@middy/http-json-body-parser, base64 included), failures answered
 * (@middy/http-error-handler). Our own parts are the caller's texts, the content-type rule
 * (application/json in any case, parameters allowed) and the log line of an unexpected error.
 */
export function jsonHttpHandler(
  options: JsonHttpOptions,
  handle: (event: JsonHttpEvent) => Promise<APIGatewayProxyStructuredResultV2>,
): (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2> {
  // The function's own middy (or the local Lambda) has the context and bounds the time: this inner
  // chain needs neither (no second timer).
  const chain = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context>({
    timeoutEarlyInMillis: 0,
  })
    .use(answerHeaders())
    .use(httpErrorHandler({ logger: false, fallbackMessage: JSON.stringify(INTERNAL_ERROR) }))
    .use(onlyOurAnswers(options.log))
    .use(httpHeaderNormalizer())
    .use(jsonBody(options))
    .handler((event) => handle(event as JsonHttpEvent));
  return (event) => chain(event, {} as Context);
}

/** Parses the body of the methods that carry one, after the path's checks. */
function jsonBody(options: JsonHttpOptions): MiddlewareObj<APIGatewayProxyEventV2> {
  // Our rule decides the content type; the parser only parses.
  // (disableContentTypeCheck is in the middleware's code and documentation, not in its types.)
  const parser = httpJsonBodyParser({ disableContentTypeCheck: true } as Parameters<
    typeof httpJsonBodyParser
  >[0]);
  return {
    before: async (request) => {
      options.checkPath?.(request.event);
      if (!options.bodyMethods.includes(request.event.requestContext.http.method)) return;
      if (!isJsonContentType(request.event.headers)) throw httpFailure(415, options.unsupportedMediaType);
      if (!request.event.body) throw httpFailure(400, options.malformedJson);
      try {
        await parser.before?.(request as never);
      } catch {
        throw httpFailure(400, options.malformedJson);
      }
    },
  };
}

/**
 * Before the error handler: an error that is not one of our answers (whatever `statusCode` or
 * `expose` it carries, or a thrown null) is logged and becomes the generic 500, so nothing of it
 * reaches the caller.
 */
function onlyOurAnswers(log: () => Log): MiddlewareObj<APIGatewayProxyEventV2> {
  return {
    onError: async (request) => {
      if ((request.error as { [ANSWER]?: boolean } | null | undefined)?.[ANSWER]) return;
      logUnexpected(log(), request.error);
      request.error = new Error('An unexpected error, logged; the caller gets the generic answer.');
    },
  };
}

/** Every answer, success or failure, with the same headers (the error handler sets its own). */
function answerHeaders(): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  const normalise = async (request: { response?: APIGatewayProxyStructuredResultV2 | null }) => {
    if (!request.response) return;
    const { 'Content-Type': _set, ...headers } = request.response.headers ?? {};
    request.response.headers = { ...headers, ...ANSWER_HEADERS };
  };
  return { after: normalise, onError: normalise };
}

/**
 * An unexpected error, logged whole (type, message, stack) so that it can be fixed, never shown
 * to the caller. Texts from outside (data.gov.sg, the write API) reach an error's message only
 * after their clients removed the key and tokens.
 */
function logUnexpected(log: Log, error: unknown): void {
  log.error(
    'HTTP_UNEXPECTED_ERROR',
    error instanceof Error
      ? { error: error.name, message: error.message, stack: error.stack }
      : { error: typeof error, message: String(error) },
  );
}

/** The caller's IAM ARN (the routes use IAM auth); null where there is none (the local run). */
export function callerArnOf(event: Pick<APIGatewayProxyEventV2, 'requestContext'>): string | null {
  const context = event.requestContext as { authorizer?: { iam?: { userArn?: unknown } } };
  const arn = context.authorizer?.iam?.userArn;
  return typeof arn === 'string' && arn !== '' ? arn : null;
}

/** True when the Content-Type's media type is application/json (parameters allowed). */
export function isJsonContentType(headers: Record<string, string | undefined> | undefined): boolean {
  const contentType = Object.entries(headers ?? {}).find(
    ([name]) => name.toLowerCase() === 'content-type',
  )?.[1];
  return contentType?.split(';')[0]?.trim().toLowerCase() === 'application/json';
}
