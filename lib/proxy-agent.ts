import type { ClientRequest } from 'node:http';
import { isIP, type Socket, connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { HttpsProxyAgent, type HttpsProxyAgentOptions } from 'https-proxy-agent';

type ConnectOptions = Parameters<HttpsProxyAgent<string>['connect']>[1];

/**
 * An agent for the AWS SDK's handler: tunnels through `proxy` with CONNECT (https-proxy-agent),
 * except to hosts `isDirect` names (loopback, NO_PROXY), which it connects to itself. The choice
 * is made per connection because one client may reach several hosts (S3 virtual-hosted buckets).
 * Loaded only when a proxy is set (lib/proxy.ts).
 */
export class ProxyRoutingAgent extends HttpsProxyAgent<string> {
  readonly #isDirect: (target: URL) => boolean;

  constructor(
    proxy: URL,
    isDirect: (target: URL) => boolean,
    secure: boolean,
    options: HttpsProxyAgentOptions<string>,
  ) {
    super(proxy.href, options);
    this.#isDirect = isDirect;
    // node:http(s) refuses an agent whose protocol is not the request's; agent-base would
    // otherwise guess it from the call stack.
    this.protocol = secure ? 'https:' : 'http:';
  }

  override async connect(request: ClientRequest, options: ConnectOptions): Promise<Socket> {
    if (!options.host) return super.connect(request, options);
    const host = isIP(options.host) === 6 ? `[${options.host}]` : options.host;
    const target = new URL(`${options.secureEndpoint ? 'https' : 'http'}://${host}:${options.port}`);
    if (!this.#isDirect(target)) return super.connect(request, options);
    // Only the address (and the TLS name): the request's options also hold its path, which
    // net.connect would take for a Unix socket.
    if (!options.secureEndpoint) return tcpConnect({ host: options.host, port: options.port });
    return tlsConnect({
      host: options.host,
      port: options.port,
      ...(isIP(options.host) === 0 ? { servername: options.host } : {}),
    });
  }
}
