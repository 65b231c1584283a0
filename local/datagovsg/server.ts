/**
 * Local stand-in for the data.gov.sg Write API: admin and public endpoints plus the S3 presigned PUT
 * target, on 127.0.0.1, with a switch for each behaviour the official guide leaves unknown.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ApiContext,
  DEFAULTS,
  faultEndpointOf,
  findDataset,
  handleAdmin,
  handleMetadata,
  type Route,
  replyNotFound,
  routeOf,
} from './api.js';
import { FaultQueue } from './faults.js';
import { type Exchange, redactedPath, reply, replyJson } from './http.js';
import { IngestionSimulator, spellStatus } from './ingestion.js';
import { LinkRegistry } from './presigned-links.js';
import { handlePresignedPut, replyS3Error, s3ErrorXml } from './presigned-target.js';
import { TimerSet } from './timers.js';
import type {
  DatasetStatusView,
  FaultRule,
  LocalDataGovSg,
  LocalDataGovSgOptions,
  ReceivedUpload,
  RequestLogEntry,
} from './types.js';

export { SAMPLE_DATASETS } from './sample-datasets.js';
export type {
  DatasetStatusView,
  FaultEndpoint,
  FaultRule,
  IngestionOutcome,
  LocalDataGovSg,
  LocalDataGovSgOptions,
  LocalDatasetConfig,
  ReceivedUpload,
  RequestLogEntry,
} from './types.js';

interface ServerState {
  options: LocalDataGovSgOptions;
  storageDir: string;
  timers: TimerSet;
  faults: FaultQueue;
  api: ApiContext;
  uploads: ReceivedUpload[];
  requestLog: RequestLogEntry[];
}

export async function startLocalDataGovSg(input: LocalDataGovSgOptions): Promise<LocalDataGovSg> {
  const options: LocalDataGovSgOptions = {
    ...DEFAULTS,
    signedHeaders: [...DEFAULTS.signedHeaders],
    ...input,
  };
  const ownsStorage = options.storageDir === undefined;
  const storageDir = options.storageDir ?? (await mkdtemp(join(tmpdir(), 'local-datagovsg-')));
  options.storageDir = storageDir;
  const state = createState(options, storageDir);
  const server = createServer({ requestTimeout: 0 }, (req, res) => {
    void dispatch(state, req, res);
  });
  const port = await listen(server, options.port ?? 0).catch(async (error: unknown) => {
    if (ownsStorage) await rm(storageDir, { recursive: true, force: true });
    throw error;
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  state.api.uploadOrigin = baseUrl;
  return {
    baseUrl,
    uploadOrigin: baseUrl,
    options,
    script: (datasetId, outcomes) => state.api.ingestion.script(knownDataset(state, datasetId), outcomes),
    fault: (rule: FaultRule) => state.faults.add(rule),
    clearFaults: () => state.faults.clear(),
    uploads: (datasetId) =>
      state.uploads
        .filter((upload) => !datasetId || upload.datasetId === datasetId)
        .map((upload) => ({ ...upload, headers: { ...upload.headers } })),
    requests: () => state.requestLog.map((entry) => ({ ...entry })),
    statusOf: (datasetId) => statusOf(state, datasetId),
    close: closeOnce(() => shutdown(state, server, ownsStorage)),
  };
}

function createState(options: LocalDataGovSgOptions, storageDir: string): ServerState {
  const now = (): number => (options.now ?? Date.now)();
  const timers = new TimerSet();
  const uploads: ReceivedUpload[] = [];
  const ingestion = new IngestionSimulator(
    {
      now,
      stepDelayMs: () => options.stepDelayMs ?? DEFAULTS.stepDelayMs,
      staleFirstPolls: () => options.staleFirstPolls ?? DEFAULTS.staleFirstPolls,
      staleForMs: () => options.staleForMs,
      concurrentUpload: () => options.concurrentUpload ?? DEFAULTS.concurrentUpload,
      settled: (upload, fate) => {
        const received = uploads[upload];
        if (received) received.fate = fate;
      },
    },
    timers,
  );
  return {
    options,
    storageDir,
    timers,
    faults: new FaultQueue(),
    api: { options, links: new LinkRegistry(), ingestion, uploadOrigin: '', startedAt: now(), now },
    uploads,
    requestLog: [],
  };
}

async function dispatch(state: ServerState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const log: RequestLogEntry = {
    method: req.method ?? '',
    path: redactedPath(url),
    status: 0,
    at: state.api.now(),
  };
  state.requestLog.push(log);
  const exchange: Exchange = { req, res, url, log };
  const route = routeOf(req.method ?? '', url.pathname);
  try {
    if (await appliedFault(state, exchange, route)) return;
    await handle(state, exchange, route);
  } catch (error) {
    replyInternalError(exchange, error);
  }
}

async function handle(state: ServerState, exchange: Exchange, route: Route): Promise<void> {
  switch (route.kind) {
    case 'admin':
      return handleAdmin(exchange, route, state.api);
    case 'public':
      return handleMetadata(exchange, route.datasetId, state.api);
    case 'upload':
      return handlePresignedPut(exchange, {
        links: state.api.links,
        storageDir: state.storageDir,
        now: state.api.now,
        accept: (upload) => acceptUpload(state, upload),
      });
    case 'unknown':
      return replyNotFound(exchange);
  }
}

function acceptUpload(state: ServerState, upload: ReceivedUpload): void {
  const index = state.uploads.push(upload) - 1;
  upload.arrivedDuring = state.api.ingestion.uploadReceived(
    upload.datasetId,
    index,
    validationFailuresFor(state, upload.datasetId),
  );
}

// The real shape of `failures` is unknown; this one gives clients something non-null to keep verbatim.
function validationFailuresFor(state: ServerState, datasetId: string): unknown {
  const column = findDataset(state.options, datasetId)?.columns[0]?.name ?? 'year';
  return [{ row: 2, column, message: 'Invalid value' }];
}

/** True when a scripted fault answered (or dropped) the request. */
async function appliedFault(state: ServerState, exchange: Exchange, route: Route): Promise<boolean> {
  const endpoint = faultEndpointOf(route);
  const rule = endpoint && state.faults.take(endpoint);
  if (!rule) return false;
  if (rule.delayMs) await state.timers.sleep(rule.delayMs);
  if (rule.resetAfterBytes !== undefined) {
    resetAfterBytes(exchange, rule.resetAfterBytes);
    return true;
  }
  if (rule.stallAfterBytes !== undefined) {
    stallAfterBytes(exchange, rule.stallAfterBytes);
    return true;
  }
  if (rule.status === undefined) return false;
  exchange.req.resume();
  const isPut = endpoint === 'put';
  const body = rule.body ?? defaultFaultBody(rule.status, isPut);
  reply(exchange, rule.status, body, {
    'content-type': isPut ? 'application/xml' : 'application/json; charset=utf-8',
  });
  return true;
}

const S3_FAULT_CODES: Record<number, string> = { 403: 'AccessDenied', 500: 'InternalError', 503: 'SlowDown' };

function defaultFaultBody(status: number, isPut: boolean): string {
  if (!isPut) return JSON.stringify({ statusCode: status, message: 'Injected fault' });
  return s3ErrorXml({ status, code: S3_FAULT_CODES[status] ?? 'InjectedFault', message: 'Injected fault' });
}

function resetAfterBytes(exchange: Exchange, limit: number): void {
  const { req } = exchange;
  const drop = (): void => {
    req.socket.destroy();
  };
  if (limit <= 0) {
    drop();
    return;
  }
  let received = 0;
  req.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received >= limit) drop();
  });
  req.on('end', drop);
}

/** Reads `limit` bytes, then neither reads nor answers; the client's timeout (or close) ends it. */
function stallAfterBytes(exchange: Exchange, limit: number): void {
  const { req, log } = exchange;
  let received = 0;
  const stall = (): void => {
    req.pause();
    req.removeListener('data', count);
    log.stalledAtBytes = received;
  };
  const count = (chunk: Buffer): void => {
    received += chunk.length;
    if (received >= limit) stall();
  };
  if (limit <= 0) {
    stall();
    return;
  }
  req.on('data', count);
}

function replyInternalError(exchange: Exchange, error: unknown): void {
  if (exchange.res.headersSent) {
    exchange.res.destroy();
    return;
  }
  const message = error instanceof Error ? error.message : 'Internal error';
  if (exchange.url.pathname.startsWith('/attachments.data.gov.sg/')) {
    replyS3Error(exchange, { status: 500, code: 'InternalError', message });
    return;
  }
  replyJson(exchange, 500, { statusCode: 500, message });
}

function statusOf(state: ServerState, datasetId: string): DatasetStatusView {
  const record = state.api.ingestion.peek(knownDataset(state, datasetId));
  const spelling = state.options.statusSpelling ?? DEFAULTS.statusSpelling;
  return { ...record, status: spellStatus(record.status, spelling) };
}

function knownDataset(state: ServerState, datasetId: string): string {
  if (!findDataset(state.options, datasetId)) throw new Error(`Unknown dataset ${datasetId}`);
  return datasetId;
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

async function shutdown(state: ServerState, server: Server, ownsStorage: boolean): Promise<void> {
  state.timers.clearAll();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
  if (ownsStorage) await rm(state.storageDir, { recursive: true, force: true });
}

function closeOnce(close: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= close();
    return closing;
  };
}
