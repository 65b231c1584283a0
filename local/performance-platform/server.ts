/**
 * Local stand-in for the Performance Platform write API (backdrop), on 127.0.0.1: the same
 * routes, checks, messages and status codes as the real service (reference §2–§3), records kept
 * in LevelDB, and scripted faults for testing clients. The real service closed in 2021, so this
 * is what the forwarder is checked against.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TimerSet } from '../datagovsg/timers.js';
import { checkDataSets } from './config.js';
import { FaultQueue } from './faults.js';
import {
  authFailure,
  type HandlerContext,
  handleGet,
  handlePost,
  handlePut,
  plainJson,
  storedRecords,
} from './handlers.js';
import {
  drain,
  type Exchange,
  errorReply,
  header,
  jsonReply,
  METHOD_NOT_ALLOWED_MESSAGE,
  NOT_FOUND_MESSAGE,
  type Reply,
  send,
} from './http.js';
import { isWrite, type Route, routeOf } from './routes.js';
import { RecordStore } from './store.js';
import type {
  LocalDataSetConfig,
  LocalPerformancePlatform,
  LocalPerformancePlatformOptions,
  PpFaultRule,
  PpRequestLogEntry,
} from './types.js';

export { loadDataSetsConfig } from './config.js';
export type {
  LocalDataSetConfig,
  LocalPerformancePlatform,
  LocalPerformancePlatformOptions,
  PpFaultRule,
  PpRequestLogEntry,
} from './types.js';

interface ServerState {
  latencyMs: number;
  dataSets: Map<string, LocalDataSetConfig>;
  ctx: HandlerContext;
  faults: FaultQueue;
  timers: TimerSet;
  log: PpRequestLogEntry[];
}

export async function startLocalPerformancePlatform(
  options: LocalPerformancePlatformOptions,
): Promise<LocalPerformancePlatform> {
  const dataSets = checkDataSets(options.dataSets, 'the local Performance Platform options');
  const latencyMs = options.latencyMs ?? 0;
  if (!Number.isFinite(latencyMs) || latencyMs < 0) {
    throw new Error(`latencyMs must be a number of milliseconds ≥ 0, not ${latencyMs}`);
  }
  const ownsStorage = options.storageDir === undefined;
  const storageDir = options.storageDir ?? (await mkdtemp(join(tmpdir(), 'local-performance-platform-')));
  const removeOwnStorage = async (): Promise<void> => {
    if (ownsStorage) await rm(storageDir, { recursive: true, force: true });
  };
  let store: RecordStore;
  try {
    store = await RecordStore.open(storageDir);
  } catch (error) {
    await removeOwnStorage();
    throw error;
  }
  const state: ServerState = {
    latencyMs,
    dataSets: new Map(dataSets.map((dataSet) => [`${dataSet.dataGroup}/${dataSet.dataType}`, dataSet])),
    ctx: { store, now: () => new Date() },
    faults: new FaultQueue(),
    timers: new TimerSet(),
    log: [],
  };
  // requestTimeout 0: slow tests and delayed faults must not be cut off by Node's default.
  const server = createServer({ requestTimeout: 0 }, (req, res) => {
    void dispatch(state, req, res);
  });
  let port: number;
  try {
    port = await listen(server, options.port ?? 0);
  } catch (error) {
    await store.close();
    await removeOwnStorage();
    throw error;
  }
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    fault: (rule: PpFaultRule) => state.faults.add(rule),
    requests: () => state.log.map((entry) => ({ ...entry })),
    records: async (dataGroup, dataType) =>
      plainJson(await storedRecords(store, dataGroup, dataType)) as Array<Record<string, unknown>>,
    close: closeOnce(async () => {
      state.timers.clearAll();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await store.close();
      await removeOwnStorage();
    }),
  };
}

async function dispatch(state: ServerState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? '';
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const log: PpRequestLogEntry = {
    method,
    path: `${url.pathname}${url.search}`,
    status: 0,
    records: 0,
    gzip: (header(req, 'content-encoding') ?? '').toLowerCase().includes('gzip'),
    bytes: 0,
    requestId: header(req, 'govuk-request-id') ?? header(req, 'request-id'),
    at: Date.now(),
  };
  state.log.push(log);
  const exchange: Exchange = { req, res, log, bodyDone: false };
  const route = routeOf(url.pathname);
  try {
    if (state.latencyMs > 0) await state.timers.sleep(state.latencyMs);
    const fault = isWrite(method, route) ? state.faults.take(method) : undefined;
    if (fault?.delayMs) await state.timers.sleep(fault.delayMs);
    if (fault?.status !== undefined) {
      finish(exchange, faultReply(fault.status, fault.body));
      return;
    }
    const reply = await handle(state, exchange, method, route);
    if (fault?.dropAfterStore) {
      req.socket.destroy();
      return;
    }
    finish(exchange, reply);
  } catch (error) {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    finish(exchange, errorReply(500, `Internal Server Error: ${message}`));
  }
}

/** Sends, then discards what is left of the body so the connection can be reused. */
function finish(exchange: Exchange, reply: Reply): void {
  drain(exchange);
  send(exchange, reply);
}

async function handle(state: ServerState, exchange: Exchange, method: string, route: Route): Promise<Reply> {
  if (route.kind === 'unknown') return errorReply(404, NOT_FOUND_MESSAGE);
  if (!route.allowed.includes(method)) {
    return errorReply(405, METHOD_NOT_ALLOWED_MESSAGE, { allow: route.allowed.join(', ') });
  }
  // Flask's automatic OPTIONS answer.
  if (method === 'OPTIONS') return { status: 200, body: '', headers: { allow: route.allowed.join(', ') } };
  if (route.kind === 'status') return jsonReply(200, { message: 'app is up', status: 'ok' });
  const dataSet = state.dataSets.get(`${route.dataGroup}/${route.dataType}`);
  // Checked before auth and before the body is read, as backdrop looked the config up first.
  if (!dataSet) return errorReply(404, 'Could not find data_set_config');
  const unauthorised = authFailure(exchange.req, dataSet);
  if (unauthorised) return unauthorised;
  switch (method) {
    case 'POST':
      return handlePost(state.ctx, exchange, dataSet);
    case 'PUT':
      return handlePut(state.ctx, exchange, dataSet);
    default:
      return handleGet(state.ctx, dataSet);
  }
}

function faultReply(status: number, body: string | undefined): Reply {
  if (body === undefined) return errorReply(status, `Injected fault (${status})`);
  // A proxy's HTML error page is the usual non-JSON answer.
  const contentType = body.trimStart().startsWith('<') ? 'text/html; charset=utf-8' : 'application/json';
  return { status, body, headers: { 'content-type': contentType } };
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeOnce(close: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= close();
    return closing;
  };
}
