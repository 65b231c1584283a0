import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Log } from './observability.js';

/**
 * HTTP answers of the API, built in one place. Client errors (4xx) tell the caller what to fix;
 * anything else is a generic 5xx, with the detail only in the log.
 */
export function jsonResponse(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify(body),
  };
}

export function clientError(statusCode: number, message: string, extra: Record<string, unknown> = {}) {
  return jsonResponse(statusCode, { message, ...extra });
}

/**
 * The answer to an unexpected error: logged whole (type, message, stack) so that it can be
 * fixed, never shown to the caller. Texts from outside (data.gov.sg, the write API) reach an
 * error's message only after their clients removed the key and tokens.
 */
export function serverError(log: Log, error: unknown): APIGatewayProxyStructuredResultV2 {
  log.error(
    'HTTP_UNEXPECTED_ERROR',
    error instanceof Error
      ? { error: error.name, message: error.message, stack: error.stack }
      : { error: typeof error, message: String(error) },
  );
  return jsonResponse(500, { message: 'Internal error; it has been logged.' });
}

/** The request body as text (API Gateway base64-encodes bodies it considers binary). */
export function bodyText(event: { body?: string; isBase64Encoded?: boolean }): string {
  if (!event.body) return '';
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

/** True when the Content-Type's media type is application/json (parameters allowed). */
export function isJsonContentType(headers: Record<string, string | undefined> | undefined): boolean {
  const contentType = Object.entries(headers ?? {}).find(
    ([name]) => name.toLowerCase() === 'content-type',
  )?.[1];
  return contentType?.split(';')[0]?.trim().toLowerCase() === 'application/json';
}
