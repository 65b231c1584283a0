import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { closeServer, listenLocal, localEndpoint } from './common.js';

export type HttpApiHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

/** A route as serverless.yml's `httpApi` writes it: `POST /performance/{dataGroup}/{dataType}`. */
export interface HttpApiRoute {
  method: string;
  path: string;
  handler: HttpApiHandler;
  /**
   * How long the integration may take (the template's TimeoutInMillis, at most 30 s). Past it the
   * caller gets API Gateway's bare 503 while the handler runs on, as in AWS. Default: no limit.
   */
  timeoutMs?: number;
}

/** What an HTTP API answers when its integration does not answer in time. */
export const INTEGRATION_TIMEOUT_ANSWER: APIGatewayProxyStructuredResultV2 = {
  statusCode: 503,
  body: JSON.stringify({ message: 'Service Unavailable' }),
};

export interface LocalHttpApi {
  endpoint: string;
  close(): Promise<void>;
}

/** API Gateway's payload limit. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

/**
 * An HTTP API (payload format 2.0) on 127.0.0.1 that turns requests into the events API Gateway
 * sends, so the real handlers answer them. No IAM authorisation is done locally.
 */
export async function startLocalHttpApi(options: {
  port?: number;
  routes: HttpApiRoute[];
}): Promise<LocalHttpApi> {
  const routes = options.routes.map((route) => ({ ...route, match: pathMatcher(route.path) }));
  const server = createServer((req, res) => {
    handle(req, res).catch(() =>
      send(res, { statusCode: 500, body: JSON.stringify({ message: 'Internal Server Error' }) }),
    );
  });
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    try {
      decodeURIComponent(url.pathname);
    } catch {
      send(res, { statusCode: 400, body: JSON.stringify({ message: 'The path has a malformed %-escape.' }) });
      return;
    }
    const candidates = routes.filter((route) => route.match(url.pathname));
    const route = candidates.find((candidate) => candidate.method === req.method);
    if (!route) {
      send(res, { statusCode: 404, body: JSON.stringify({ message: 'Not Found' }) });
      return;
    }
    const body = await readBody(req);
    if (body === undefined) {
      send(res, {
        statusCode: 413,
        headers: { connection: 'close' },
        body: JSON.stringify({ message: 'Request Entity Too Large' }),
      });
      return;
    }
    send(res, await withinIntegrationTimeout(route, route.handler(toEvent(req, url, route, body))));
  }
  const port = await listenLocal(server, options.port ?? 0);
  return { endpoint: localEndpoint(port), close: () => closeServer(server) };
}

async function withinIntegrationTimeout(
  route: HttpApiRoute,
  answer: Promise<APIGatewayProxyStructuredResultV2>,
): Promise<APIGatewayProxyStructuredResultV2> {
  if (route.timeoutMs === undefined) return answer;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<APIGatewayProxyStructuredResultV2>((resolve) => {
    timer = setTimeout(() => resolve(INTEGRATION_TIMEOUT_ANSWER), route.timeoutMs);
  });
  // The handler's own failure after the timeout is the function's, as in AWS: not the caller's.
  answer.catch(() => undefined);
  try {
    return await Promise.race([answer, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

function pathMatcher(template: string): (path: string) => Record<string, string> | undefined {
  const names: string[] = [];
  const pattern = new RegExp(
    `^${template.replace(/\{(\w+)\}/g, (_, name: string) => {
      names.push(name);
      return '([^/]+)';
    })}$`,
  );
  return (path) => {
    const match = pattern.exec(path);
    if (!match) return undefined;
    try {
      return Object.fromEntries(
        names.map((name, index) => [name, decodeURIComponent(match[index + 1] ?? '')]),
      );
    } catch {
      return undefined; // A malformed %-escape matches no route: API Gateway answers 4xx too.
    }
  };
}

function toEvent(
  req: IncomingMessage,
  url: URL,
  route: HttpApiRoute & { match: (path: string) => Record<string, string> | undefined },
  body: Buffer,
): APIGatewayProxyEventV2 {
  const headers = Object.fromEntries(
    Object.entries(req.headers).map(([name, value]) => [
      name,
      Array.isArray(value) ? value.join(',') : (value ?? ''),
    ]),
  );
  const textual =
    /json|text|xml|x-www-form-urlencoded/.test(headers['content-type'] ?? '') && !headers['content-encoding'];
  const routeKey = `${route.method} ${route.path}`;
  const now = new Date();
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(url.search ? { queryStringParameters: Object.fromEntries(url.searchParams) } : {}),
    pathParameters: route.match(url.pathname) ?? {},
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method: route.method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length > 0
      ? { body: textual ? body.toString('utf8') : body.toString('base64'), isBase64Encoded: !textual }
      : { isBase64Encoded: false }),
  };
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        // Stop keeping the body but read it to the end, so the 413 reaches the client.
        tooLarge = true;
        chunks.length = 0;
        return;
      }
      if (!tooLarge) chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, result: APIGatewayProxyStructuredResultV2): void {
  if (res.headersSent) return;
  res.writeHead(result.statusCode ?? 200, {
    'content-type': 'application/json',
    ...Object.fromEntries(Object.entries(result.headers ?? {}).map(([name, value]) => [name, String(value)])),
  });
  res.end(result.body ?? '');
}
