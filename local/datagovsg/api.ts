import { createHash } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { type Exchange, replyJson, singleHeader } from './http.js';
import { type IngestionSimulator, spellStatus } from './ingestion.js';
import { type LinkRegistry, UPLOAD_PATH_PREFIX } from './presigned-links.js';
import type { FaultEndpoint, LocalDataGovSgOptions, LocalDatasetConfig, UploadMode } from './types.js';

export const DEFAULTS = {
  envelope: 'bare',
  statusSpelling: 'legend',
  signedHeaders: ['host'],
  linkTtlSeconds: 3600,
  stepDelayMs: 200,
  staleFirstPolls: 0,
  concurrentUpload: 'fail-ingestion',
  authFailureStatus: 401,
} as const satisfies Partial<LocalDataGovSgOptions>;

export type Route =
  | { kind: 'admin'; endpoint: 'whoami' }
  | { kind: 'admin'; endpoint: 'upload-link' | 'append-link' | 'ingestion-status'; datasetId: string }
  | { kind: 'admin'; endpoint: 'unknown' }
  | { kind: 'public'; endpoint: 'metadata'; datasetId: string }
  | { kind: 'upload'; endpoint: 'put' | 'other-method' }
  | { kind: 'unknown'; endpoint: 'unknown' };

export interface ApiContext {
  options: LocalDataGovSgOptions;
  links: LinkRegistry;
  ingestion: IngestionSimulator;
  uploadOrigin: string;
  startedAt: number;
  now(): number;
}

const DATASET_ROUTE = /^\/v2\/admin\/api\/datasets\/([^/]+)\/(upload-link|append-link|ingestion-status)$/;
const METADATA_ROUTE = /^\/v2\/public\/api\/datasets\/([^/]+)\/metadata$/;
const INTERNAL_COLUMNS = [
  { id: '_id', name: '_id', dataType: 'NUMERIC' },
  { id: '_full_text', name: '_full_text', dataType: 'TEXT' },
] as const;

export function routeOf(method: string, pathname: string): Route {
  if (pathname.startsWith(UPLOAD_PATH_PREFIX)) {
    return { kind: 'upload', endpoint: method === 'PUT' ? 'put' : 'other-method' };
  }
  if (pathname.startsWith('/v2/admin/')) return adminRouteOf(method, pathname);
  const metadata = METADATA_ROUTE.exec(pathname);
  if (method === 'GET' && metadata?.[1]) {
    return { kind: 'public', endpoint: 'metadata', datasetId: safeDecode(metadata[1]) };
  }
  return { kind: 'unknown', endpoint: 'unknown' };
}

function adminRouteOf(method: string, pathname: string): Route {
  if (method !== 'GET') return { kind: 'admin', endpoint: 'unknown' };
  if (pathname === '/v2/admin/api/auth/whoami') return { kind: 'admin', endpoint: 'whoami' };
  const match = DATASET_ROUTE.exec(pathname);
  const datasetId = match?.[1];
  const endpoint = match?.[2];
  if (
    datasetId &&
    (endpoint === 'upload-link' || endpoint === 'append-link' || endpoint === 'ingestion-status')
  ) {
    return { kind: 'admin', endpoint, datasetId: safeDecode(datasetId) };
  }
  return { kind: 'admin', endpoint: 'unknown' };
}

export function faultEndpointOf(route: Route): FaultEndpoint | undefined {
  return route.endpoint === 'unknown' || route.endpoint === 'other-method' ? undefined : route.endpoint;
}

export function handleAdmin(exchange: Exchange, route: Route & { kind: 'admin' }, context: ApiContext): void {
  if (!isAuthorised(exchange, context.options)) {
    const status = context.options.authFailureStatus ?? DEFAULTS.authFailureStatus;
    replyAdminError(exchange, context.options, status, 'Invalid or missing x-dgs-admin-api-key');
    return;
  }
  if (route.endpoint === 'unknown') {
    replyAdminError(exchange, context.options, 404, `Cannot ${exchange.req.method} ${exchange.url.pathname}`);
    return;
  }
  if (route.endpoint === 'whoami') {
    replyAdmin(exchange, context.options, 200, {
      user: { userId: '167', email: 'local-admin@example.gov.sg' },
    });
    return;
  }
  const dataset = findDataset(context.options, route.datasetId);
  if (!dataset) {
    replyAdminError(exchange, context.options, 404, 'Dataset not found');
    return;
  }
  if (route.endpoint === 'ingestion-status') {
    replyIngestionStatus(exchange, context, dataset.datasetId);
    return;
  }
  replyLink(exchange, context, dataset.datasetId, route.endpoint === 'upload-link' ? 'replace' : 'append');
}

export function handleMetadata(exchange: Exchange, datasetId: string, context: ApiContext): void {
  const dataset = findDataset(context.options, datasetId);
  if (!dataset) {
    replyJson(exchange, 200, { code: 1, data: null, errorMsg: 'Dataset not found' });
    return;
  }
  const lastUpdatedAt = context.ingestion.peek(dataset.datasetId).updatedAt;
  replyJson(exchange, 200, {
    code: 0,
    data: metadataOf(dataset, context.startedAt, lastUpdatedAt),
    errorMsg: '',
  });
}

export function replyNotFound(exchange: Exchange): void {
  replyJson(exchange, 404, {
    statusCode: 404,
    message: `Cannot ${exchange.req.method} ${exchange.url.pathname}`,
  });
}

export function findDataset(
  options: LocalDataGovSgOptions,
  datasetId: string,
): LocalDatasetConfig | undefined {
  return options.datasets.find((dataset) => dataset.datasetId === datasetId);
}

function isAuthorised(exchange: Exchange, options: LocalDataGovSgOptions): boolean {
  const key = singleHeader(exchange.req, 'x-dgs-admin-api-key');
  return key !== undefined && key !== '' && options.apiKeys.includes(key);
}

function replyIngestionStatus(exchange: Exchange, context: ApiContext, datasetId: string): void {
  const record = context.ingestion.read(datasetId);
  const spelling = context.options.statusSpelling ?? DEFAULTS.statusSpelling;
  replyAdmin(exchange, context.options, 200, {
    version: record.version,
    userId: 1,
    updatedAt: record.updatedAt,
    status: spellStatus(record.status, spelling),
    failures: record.failures,
  });
}

function replyLink(exchange: Exchange, context: ApiContext, datasetId: string, mode: UploadMode): void {
  const { options } = context;
  const concurrentUpload = options.concurrentUpload ?? DEFAULTS.concurrentUpload;
  if (concurrentUpload === 'refuse-link' && context.ingestion.isBusy(datasetId)) {
    replyAdminError(exchange, options, 409, 'An upload for this dataset is still being processed');
    return;
  }
  const md5 = mode === 'append' ? exchange.url.searchParams.get('md5') || undefined : undefined;
  const url = context.links.issue({
    origin: context.uploadOrigin,
    datasetId,
    mode,
    md5,
    ttlSeconds: options.linkTtlSeconds ?? DEFAULTS.linkTtlSeconds,
    signedHeaders: options.signedHeaders ?? DEFAULTS.signedHeaders,
    now: context.now(),
  });
  replyAdmin(exchange, options, 201, { url });
}

function replyAdmin(exchange: Exchange, options: LocalDataGovSgOptions, status: number, data: unknown): void {
  const wrapped = (options.envelope ?? DEFAULTS.envelope) === 'wrapped';
  replyJson(exchange, status, wrapped ? { code: 0, data, errorMsg: '' } : data);
}

function replyAdminError(
  exchange: Exchange,
  options: LocalDataGovSgOptions,
  status: number,
  message: string,
): void {
  const wrapped = (options.envelope ?? DEFAULTS.envelope) === 'wrapped';
  const payload = wrapped
    ? { code: status, data: null, errorMsg: message }
    : { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message };
  replyJson(exchange, status, payload);
}

function metadataOf(dataset: LocalDatasetConfig, createdAt: number, lastUpdatedAt: number): unknown {
  const columns = [
    INTERNAL_COLUMNS[0],
    ...dataset.columns.map((column) => ({ id: columnId(dataset.datasetId, column.name), ...column })),
    INTERNAL_COLUMNS[1],
  ];
  return {
    datasetId: dataset.datasetId,
    name: dataset.name,
    status: 'active',
    format: 'CSV',
    createdAt: singaporeIso(createdAt),
    lastUpdatedAt: singaporeIso(lastUpdatedAt),
    columnMetadata: {
      order: columns.map((column) => column.id),
      map: Object.fromEntries(columns.map((column) => [column.id, column.name])),
      metaMapping: Object.fromEntries(
        columns.map((column, index) => [
          column.id,
          {
            name: column.name,
            columnTitle: titleOf(column.name),
            dataType: column.dataType,
            // The real API gives the index as a string.
            index: String(index),
          },
        ]),
      ),
    },
  };
}

function columnId(datasetId: string, name: string): string {
  return `c_${createHash('md5').update(`${datasetId}:${name}`).digest('hex')}`;
}

function titleOf(name: string): string {
  if (name.startsWith('_')) return name;
  return name
    .split(/[_\s]+/)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join(' ');
}

function singaporeIso(ms: number): string {
  const shifted = new Date(ms + 8 * 3600 * 1000).toISOString().slice(0, 19);
  return `${shifted}+08:00`;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
