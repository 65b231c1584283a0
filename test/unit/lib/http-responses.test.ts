import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import {
  httpFailure,
  type JsonHttpEvent,
  jsonHttpHandler,
  jsonResponse,
} from '../../../lib/http-responses.js';
import { recordingLog } from '../../fakes/recording-log.js';

const HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' };

function request(
  method: string,
  body: string | undefined,
  headers: Record<string, string> = { 'content-type': 'application/json' },
  extra: Partial<APIGatewayProxyEventV2> = {},
): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: `${method} /things/{thing}`,
    rawPath: '/things/a',
    rawQueryString: '',
    headers,
    pathParameters: { thing: 'a' },
    requestContext: { http: { method } } as APIGatewayProxyEventV2['requestContext'],
    isBase64Encoded: false,
    ...(body === undefined ? {} : { body }),
    ...extra,
  };
}

function handlerWith(handle: (event: JsonHttpEvent) => Promise<unknown>) {
  const log = recordingLog();
  const http = jsonHttpHandler(
    {
      log: () => log,
      bodyMethods: ['POST'],
      unsupportedMediaType: 'Send JSON.',
      malformedJson: 'Not JSON.',
      checkPath: (event) => {
        if (event.pathParameters?.thing !== 'a') throw httpFailure(404, 'No such thing.');
      },
    },
    async (event) => jsonResponse(200, await handle(event)),
  );
  return { http, log };
}

describe('the HTTP handler chain (middy header normalizer, JSON body parser, error handler)', () => {
  it('gives the handler the parsed body, from plain or base64 text, whatever the header case', async () => {
    const { http } = handlerWith(async (event) => ({ got: event.body }));
    const plain = await http(
      request('POST', '{"a":1}', { 'Content-Type': 'Application/JSON; charset=utf-8' }),
    );
    expect(plain).toEqual({ statusCode: 200, headers: HEADERS, body: '{"got":{"a":1}}' });
    const encoded = await http(
      request('POST', Buffer.from('[1,2]').toString('base64'), undefined, { isBase64Encoded: true }),
    );
    expect(encoded.body).toBe('{"got":[1,2]}');
    // A GET carries no body: no content type asked for.
    const get = await http(request('GET', undefined, {}));
    expect(get.statusCode).toBe(200);
  });

  it('answers our texts: the path first, then 415 for another content type, 400 for no or broken JSON', async () => {
    const { http, log } = handlerWith(async () => ({}));
    const answers = await Promise.all([
      http(request('POST', 'x', { 'content-type': 'text/plain' }, { pathParameters: { thing: 'b' } })),
      http(request('POST', '{}', { 'content-type': 'text/plain' })),
      http(request('POST', '{}', { 'content-type': 'application/vnd.api+json' })),
      http(request('POST', '{"a":', undefined)),
      http(request('POST', undefined)),
      http(request('POST', '', undefined)),
    ]);
    expect(answers.map((answer) => [answer.statusCode, JSON.parse(String(answer.body)).message])).toEqual([
      [404, 'No such thing.'],
      [415, 'Send JSON.'],
      [415, 'Send JSON.'],
      [400, 'Not JSON.'],
      [400, 'Not JSON.'],
      [400, 'Not JSON.'],
    ]);
    for (const answer of answers) expect(answer.headers).toEqual(HEADERS);
    // Answers on purpose are not errors to log.
    expect(log.lines).toEqual([]);
  });

  it('passes the extra fields of a failure to the caller', async () => {
    const { http } = handlerWith(async () => {
      throw httpFailure(400, 'Bad key.', { code: 'KEY_LAYOUT' });
    });
    const answer = await http(request('POST', '{}'));
    expect(answer).toEqual({
      statusCode: 400,
      headers: HEADERS,
      body: JSON.stringify({ message: 'Bad key.', code: 'KEY_LAYOUT' }),
    });
  });

  it('logs an unexpected error whole for whoever fixes it and tells the caller nothing of it', async () => {
    const error = new TypeError("Cannot read properties of undefined (reading 'size')");
    const { http, log } = handlerWith(async () => {
      throw error;
    });
    const answer = await http(request('POST', '{}'));
    expect(answer).toEqual({
      statusCode: 500,
      headers: HEADERS,
      body: JSON.stringify({ message: 'Internal error; it has been logged.' }),
    });
    expect(log.lines).toEqual([
      {
        level: 'error',
        message: 'HTTP_UNEXPECTED_ERROR',
        fields: { error: 'TypeError', message: error.message, stack: error.stack },
      },
    ]);
    expect(String(error.stack)).toMatch(/http-responses\.test\.ts/);
  });

  it('never passes on an error that is not one of our answers, whatever status it carries', async () => {
    const foreign = Object.assign(new Error('s3 said: NoSuchKey incoming/secret-name.csv'), {
      statusCode: 404,
      expose: true,
    });
    for (const thrown of [foreign, null]) {
      const { http, log } = handlerWith(async () => {
        throw thrown;
      });
      const answer = await http(request('POST', '{}'));
      expect(answer).toEqual({
        statusCode: 500,
        headers: HEADERS,
        body: JSON.stringify({ message: 'Internal error; it has been logged.' }),
      });
      expect(log.lines.map((line) => line.message)).toEqual(['HTTP_UNEXPECTED_ERROR']);
    }
  });

  it('logs a thrown value that is not an Error as text', async () => {
    const { http, log } = handlerWith(async () => {
      throw 'plain text thrown';
    });
    expect((await http(request('POST', '{}'))).statusCode).toBe(500);
    expect(log.lines[0]?.fields).toEqual({ error: 'string', message: 'plain text thrown' });
  });
});
