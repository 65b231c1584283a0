import type { Agent } from 'node:http';
import { createRequire } from 'node:module';
import { NodeHttpHandler, type NodeHttpHandlerOptions } from '@smithy/node-http-handler';
import type { Dispatcher } from 'undici';
import { ConfigError } from './errors.js';
import { isLoopbackHost as isLoopback } from './loopback.js';

/**
 * The outbound proxy from the conventional variables (HTTPS_PROXY, HTTP_PROXY, NO_PROXY, in
 * either case), for every client that leaves the machine: both APIs' fetch, the presigned PUT
 * and the AWS SDK. Node's fetch and the SDK ignore these variables on their own, and government
 * networks reach the internet only through a proxy.
 *
 * When no proxy is set, nothing here is loaded or built: callers create exactly what they did
 * before (a Lambda in AWS has no proxy). undici and the tunnelling agent are loaded on the
 * first proxied request only.
 */

export type ProxyEnv = Readonly<Record<string, string | undefined>>;

export interface OutboundProxy {
  /** For http: targets (HTTP_PROXY). */
  readonly http: URL | undefined;
  /** For https: targets: HTTPS_PROXY, else HTTP_PROXY, as undici's EnvHttpProxyAgent does. */
  readonly https: URL;
  /** NO_PROXY as given, for undici. */
  readonly noProxy: string;
  readonly noProxyEntries: readonly NoProxyEntry[];
}

interface NoProxyEntry {
  hostname: string;
  /** 0: any port. */
  port: number;
}

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 };

/**
 * Reads the proxy variables (the lowercase spelling wins, as in undici). Undefined when
 * neither proxy variable is set or NO_PROXY is `*`. Throws a ConfigError naming the variable
 * (never its value, which may hold a password) when a proxy is not an http(s) URL.
 */
export function outboundProxy(env: ProxyEnv = process.env): OutboundProxy | undefined {
  const http = proxyUrl(env, 'http_proxy', 'HTTP_PROXY');
  const https = proxyUrl(env, 'https_proxy', 'HTTPS_PROXY') ?? http;
  const noProxy = (variable(env, 'no_proxy', 'NO_PROXY') ?? '').trim();
  if (!https || noProxy === '*') return undefined;
  return { http, https, noProxy, noProxyEntries: parseNoProxy(noProxy) };
}

/**
 * The proxy a request to `target` goes through, or undefined when it goes direct: loopback
 * always does (the local stand-ins and s3rver listen there, whatever NO_PROXY says), and so
 * does a host NO_PROXY names (`host`, `.domain` or `*.domain` for its subdomains too, with an
 * optional `:port`), matched as undici matches it.
 */
export function proxyFor(proxy: OutboundProxy, target: URL): URL | undefined {
  if (isLoopback(target.hostname)) return undefined;
  const port = Number.parseInt(target.port, 10) || DEFAULT_PORTS[target.protocol] || 0;
  if (isExcluded(proxy.noProxyEntries, target.hostname.toLowerCase(), port)) return undefined;
  if (target.protocol === 'https:') return proxy.https;
  if (target.protocol === 'http:') return proxy.http;
  return undefined;
}

/** The proxy as it may be shown: its origin, without the user and password. */
export function proxyOrigin(proxy: URL): string {
  return proxy.origin;
}

/**
 * A fetch that sends requests the proxy applies to through it, with undici's EnvHttpProxyAgent
 * given these values (so it never reads process.env itself), and everything else through the
 * global fetch as before. Undefined when no proxy is set: callers keep the global fetch.
 * Throws a ConfigError when a proxy is set but undici cannot be loaded (the Lambda bundles).
 */
export function proxiedFetch(env: ProxyEnv = process.env): typeof fetch | undefined {
  const proxy = outboundProxy(env);
  if (!proxy) return undefined;
  const load = createRequire(import.meta.url);
  try {
    load.resolve('undici');
  } catch {
    throw new ConfigError(
      'HTTPS_PROXY or HTTP_PROXY is set, but this build cannot send the data.gov.sg and Performance Platform requests through a proxy: the Lambda bundles leave undici out. Unset the proxy variables on the function.',
    );
  }
  let undici: { fetch: UndiciFetch; dispatcher: Dispatcher } | undefined;
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (!proxyFor(proxy, url)) return fetch(input, init);
    undici ??= undiciThrough(proxy, load('undici') as typeof import('undici'));
    // undici's own fetch with its own dispatcher: Node 20's global fetch bundles undici 6, and
    // dispatchers are not promised to work across versions.
    return undici.fetch(input, { ...init, dispatcher: undici.dispatcher });
  };
}

/**
 * undici is loaded through createRequire, out of the bundlers' sight, so the Lambda bundles do
 * not carry it: parsing its 500 KB would slow every cold start (30–45 ms measured here) for a
 * proxy that functions in AWS do not have.
 */
function undiciThrough(
  proxy: OutboundProxy,
  { EnvHttpProxyAgent, fetch: undiciFetch }: typeof import('undici'),
): { fetch: UndiciFetch; dispatcher: Dispatcher } {
  return {
    fetch: undiciFetch as unknown as UndiciFetch,
    dispatcher: new EnvHttpProxyAgent({
      // '' rather than undefined: undefined would make undici read process.env.
      httpProxy: proxy.http?.href ?? '',
      httpsProxy: proxy.https.href,
      noProxy: proxy.noProxy,
    }),
  };
}

/** The global fetch's shape, with undici's extra `dispatcher` option. */
type UndiciFetch = (
  input: Parameters<typeof fetch>[0],
  init: Omit<RequestInit, 'dispatcher'> & { dispatcher: Dispatcher },
) => Promise<Response>;

/**
 * The AWS SDK's `requestHandler`: `options` as they are when no proxy is set (the SDK builds
 * its default handler from them, as before); otherwise a NodeHttpHandler whose agents tunnel
 * through the proxy (CONNECT) and go direct for loopback and NO_PROXY hosts, decided per request
 * since one client may reach several hosts.
 */
export function sdkRequestHandler<T extends NodeHttpHandlerOptions>(
  options: T,
  env: ProxyEnv = process.env,
): T | NodeHttpHandler {
  const proxy = outboundProxy(env);
  if (!proxy) return options;
  // A provider: the handler resolves it on the first request, so the agents load only then.
  return new NodeHttpHandler(async () => {
    const { ProxyRoutingAgent } = await import('./proxy-agent.js');
    const direct = (target: URL) => proxyFor(proxy, target) === undefined;
    // The SDK's own defaults for its agents.
    const agentOptions = { keepAlive: true, maxSockets: 50 };
    return {
      ...options,
      ...(proxy.http ? { httpAgent: new ProxyRoutingAgent(proxy.http, direct, false, agentOptions) } : {}),
      httpsAgent: new ProxyRoutingAgent(proxy.https, direct, true, agentOptions),
    };
  });
}

/**
 * The node:http(s) agent for one request to `target` (the presigned PUT): a tunnel through the
 * proxy, or undefined when no proxy applies (the default agent, as before). It keeps no
 * connection alive: its socket closes with the request.
 */
export async function proxyAgentFor(target: URL, env: ProxyEnv = process.env): Promise<Agent | undefined> {
  const proxy = outboundProxy(env);
  const via = proxy ? proxyFor(proxy, target) : undefined;
  if (!via) return undefined;
  const { HttpsProxyAgent } = await import('https-proxy-agent');
  return new HttpsProxyAgent(via);
}

function variable(env: ProxyEnv, lower: string, upper: string): string | undefined {
  return env[lower] || env[upper] || undefined;
}

function proxyUrl(env: ProxyEnv, lower: string, upper: string): URL | undefined {
  const value = variable(env, lower, upper)?.trim();
  if (!value) return undefined;
  const name = env[lower] ? lower : upper;
  let url: URL;
  try {
    // `proxy.example:8080` is how many people write it; curl reads it as http.
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`);
  } catch {
    throw new ConfigError(`${name} is not a URL: set it to http://host:port (or https://…)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(
      `${name} must be an http:// or https:// proxy (${url.protocol} proxies are not supported)`,
    );
  }
  return url;
}

function parseNoProxy(value: string): NoProxyEntry[] {
  return value
    .split(/[,\s]/)
    .filter((entry) => entry !== '')
    .map((entry) => {
      const withPort = /^(.+):(\d+)$/.exec(entry);
      const host = withPort?.[1] ?? entry;
      return {
        hostname: host.replace(/^\*?\./, '').toLowerCase(),
        port: withPort?.[2] ? Number.parseInt(withPort[2], 10) : 0,
      };
    });
}

function isExcluded(entries: readonly NoProxyEntry[], hostname: string, port: number): boolean {
  return entries.some(
    (entry) =>
      (entry.port === 0 || entry.port === port) &&
      (hostname === entry.hostname || hostname.endsWith(`.${entry.hostname}`)),
  );
}
