import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';

/** One request the proxy was asked to carry. */
export interface ProxiedRequest {
  /** `CONNECT` for a tunnel, otherwise the method of an absolute-URI request. */
  method: string;
  /** `host:port` as the client asked for it (the name, not where the proxy sent it). */
  target: string;
  /** The Proxy-Authorization header, when the client sent one. */
  proxyAuthorization: string | undefined;
}

export interface ForwardProxy {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** What was asked of the proxy, in order. */
  requests: ProxiedRequest[];
  close: () => Promise<void>;
}

export interface ForwardProxyOptions {
  /** Answer every request with this status instead of carrying it (a proxy that refuses). */
  refuseWith?: number;
  /** More requests than this are answered 503 (still recorded): a runaway client ends quickly. */
  maxRequests?: number;
  /** A tunnel or forwarded request idle this long is cut. */
  idleMs?: number;
}

/**
 * A forward proxy for tests, on 127.0.0.1 only: it tunnels `CONNECT host:port` and forwards
 * absolute-URI requests, recording each. Whatever name a client asks for, it connects to
 * 127.0.0.1 at that port, so a test can use a non-loopback name (`dgs.test`), which the code
 * under test must send through the proxy, for a local server; it never reaches beyond this
 * machine. `close` cuts every connection still open.
 */
export async function startForwardProxy(options: ForwardProxyOptions = {}): Promise<ForwardProxy> {
  const { refuseWith, maxRequests = 50, idleMs = 10_000 } = options;
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.setTimeout(idleMs, () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const record = (request: IncomingMessage, target: string): boolean => {
    requests.push({
      method: request.method ?? '',
      target,
      proxyAuthorization: request.headers['proxy-authorization'],
    });
    return requests.length <= maxRequests;
  };

  const server = createServer((request, response) => {
    let url: URL;
    try {
      url = new URL(request.url ?? '');
    } catch {
      // Not an absolute URI: a request meant for a server, not a proxy.
      response.writeHead(400).end();
      return;
    }
    const allowed = record(request, url.host);
    if (refuseWith !== undefined || !allowed) {
      response.writeHead(refuseWith ?? 503).end();
      return;
    }
    const headers = { ...request.headers };
    delete headers['proxy-authorization'];
    delete headers['proxy-connection'];
    const upstream = httpRequest(
      {
        host: '127.0.0.1',
        port: url.port || 80,
        method: request.method,
        path: `${url.pathname}${url.search}`,
        headers,
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on('socket', track);
    upstream.on('error', () => {
      if (!response.headersSent) response.writeHead(502);
      response.end();
    });
    request.pipe(upstream);
  });

  server.on('connect', (request: IncomingMessage, client: Socket, head: Buffer) => {
    track(client);
    const target = request.url ?? '';
    const allowed = record(request, target);
    if (refuseWith !== undefined || !allowed) {
      client.end(`HTTP/1.1 ${refuseWith ?? 503} Refused\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    const port = Number(/:(\d+)$/.exec(target)?.[1] ?? '443');
    let tunnelled = false;
    const upstream = connect({ host: '127.0.0.1', port }, () => {
      tunnelled = true;
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    track(upstream);
    upstream.on('error', () => {
      // Inside an open tunnel an answer would be read as the server's: cut it instead.
      if (!tunnelled && client.writable) client.end('HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n');
      else client.destroy();
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  server.on('connection', track);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
