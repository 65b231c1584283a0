import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import type { S3Event, S3EventRecord } from 'aws-lambda';
import S3rver, { type S3rverEvent, type S3rverEventRecord, type S3rverMiddleware } from 's3rver';
import {
  closeServer,
  LOCAL_HOST,
  LOCAL_REGION,
  listenLocal,
  localEndpoint,
  notifyAll,
  rethrowLater,
} from './common.js';
import { conditionalRequests, makeObjectWritesAtomic } from './s3-atomic.js';

/**
 * The principal every local event names. s3rver knows one identity (the access key S3RVER), and
 * makes up a random principal for each event; AWS names the same principal for every put of one
 * identity (`AWS:AIDA…` for a user, `AWS:AROA…:<session>` for a role), never an access key.
 */
export const LOCAL_PRINCIPAL_ID = 'AWS:LOCAL-DEVELOPER';

/** The record shape a Lambda function receives in an S3 notification. */
export type S3EventRecordLike = S3EventRecord;

export type ObjectCreatedListener = (record: S3EventRecordLike) => void;

export interface LocalS3Options {
  /** 0 or omitted: a free port. */
  port?: number;
  /** Where objects are stored; a fresh temp directory (removed on close) when omitted. */
  directory?: string;
  buckets: string[];
}

export interface LocalS3 {
  endpoint: string;
  port: number;
  server: S3rver;
  close(): Promise<void>;
  /** Called synchronously, before the response is sent, for every ObjectCreated:* event. */
  onObjectCreated(listener: ObjectCreatedListener): () => void;
}

/**
 * s3rver seals ListObjectsV2 continuation tokens with single DES, which Node 17+ (OpenSSL 3)
 * refuses: a listing with more than 1 000 keys then fails with a 500, where S3 answers a first page
 * and a token. Only s3rver asks for 'des'; it gets triple DES with the key repeated, which is the
 * same cipher (EDE with one key) under a name OpenSSL 3 still serves. Tokens stay opaque.
 */
function letS3rverSealContinuationTokens(): void {
  const crypto = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto') & {
    govpubDesPatched?: boolean;
  };
  if (crypto.govpubDesPatched) return;
  const createCipheriv = crypto.createCipheriv;
  const createDecipheriv = crypto.createDecipheriv;
  const asTripleDes = (key: Buffer) => Buffer.concat([key, key, key]);
  Object.assign(crypto, {
    govpubDesPatched: true,
    createCipheriv: (algorithm: string, key: Buffer, iv: Buffer, ...rest: unknown[]) =>
      algorithm === 'des'
        ? createCipheriv('des-ede3-cbc', asTripleDes(key), iv)
        : (createCipheriv as (...args: unknown[]) => unknown)(algorithm, key, iv, ...rest),
    createDecipheriv: (algorithm: string, key: Buffer, iv: Buffer, ...rest: unknown[]) =>
      algorithm === 'des'
        ? createDecipheriv('des-ede3-cbc', asTripleDes(key), iv)
        : (createDecipheriv as (...args: unknown[]) => unknown)(algorithm, key, iv, ...rest),
  });
}

export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  letS3rverSealContinuationTokens();
  // s3rver's own listen leaves EADDRINUSE as an unhandled 'error' event (a crash, its promise
  // never settles): try the port first, so that a port in use is an error its caller can explain.
  if (options.port) {
    const probe = createServer();
    await listenLocal(probe, options.port);
    await closeServer(probe);
  }
  const ownDirectory = options.directory === undefined;
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), 'local-s3-')));
  const server = new S3rver({
    address: LOCAL_HOST,
    port: options.port ?? 0,
    silent: true,
    directory,
    vhostBuckets: false,
    configureBuckets: options.buckets.map((name) => ({ name })),
  });
  server.middleware.unshift(normalizeCopySource, conditionalRequests);
  makeObjectWritesAtomic(server.store);
  const listeners = new Set<ObjectCreatedListener>();
  const nextSequencer = sequencerSource();
  server.on('event', (event: S3rverEvent) => {
    for (const raw of event.Records) {
      if (!raw.eventName.startsWith('ObjectCreated:')) continue;
      deliver(listeners, () => toS3EventRecord(raw, resolveETag(server, raw), nextSequencer()));
    }
  });
  const { port } = await server.run();
  return {
    endpoint: localEndpoint(port),
    port,
    server,
    close: () => closeLocalS3(server, ownDirectory ? directory : undefined),
    onObjectCreated(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** The S3 client settings for a local endpoint (s3rver needs path-style and its own keys). */
export function localS3ClientConfig(endpoint: string): S3ClientConfig {
  return {
    endpoint,
    region: LOCAL_REGION,
    forcePathStyle: true,
    // A fresh object: the SDK writes into the one it is given.
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    // Otherwise a streamed PutObject is stored with aws-chunked framing by s3rver.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
}

export function toS3Event(records: readonly S3EventRecordLike[]): S3Event {
  return { Records: [...records] };
}

/**
 * Encodes a key the way S3 writes it into event notifications: form-urlencoding (space as
 * '+', UTF-8 percent-encoded, only `A-Za-z0-9 . - _ *` left as is) except that '/' is kept.
 */
export function encodeS3EventKey(key: string): string {
  return encodeURIComponent(key)
    .replace(/%20/g, '+')
    .replace(/%2F/g, '/')
    .replace(/[!'()~]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * s3rver reads `x-amz-copy-source` with decodeURI, which leaves %2B, %2F, %3A... encoded, so
 * copying a key with such characters, encoded as S3 expects, fails with NoSuchKey. Re-encode
 * the header so that decodeURI yields the real key.
 */
const normalizeCopySource: S3rverMiddleware = (ctx, next) => {
  const header = ctx.req.headers['x-amz-copy-source'];
  if (typeof header === 'string') {
    const queryStart = header.indexOf('?');
    const path = queryStart === -1 ? header : header.slice(0, queryStart);
    const query = queryStart === -1 ? '' : header.slice(queryStart);
    ctx.req.headers['x-amz-copy-source'] = `${encodeURI(safeDecodeURIComponent(path))}${query}`;
  }
  return next();
};

function safeDecodeURIComponent(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function toS3EventRecord(raw: S3rverEventRecord, eTag: string, sequencer: string): S3EventRecord {
  const bucketName = raw.s3.bucket.name;
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: LOCAL_REGION,
    eventTime: raw.eventTime,
    eventName: raw.eventName,
    userIdentity: { principalId: LOCAL_PRINCIPAL_ID },
    requestParameters: { sourceIPAddress: raw.requestParameters.sourceIPAddress },
    responseElements: {
      'x-amz-request-id': raw.responseElements['x-amz-request-id'] ?? '',
      'x-amz-id-2': raw.responseElements['x-amz-id-2'] ?? '',
    },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: raw.s3.configurationId,
      bucket: {
        name: bucketName,
        ownerIdentity: { principalId: raw.s3.bucket.ownerIdentity.principalId },
        // s3rver writes 'arn:aws:s3: : :<bucket>'.
        arn: `arn:aws:s3:::${bucketName}`,
      },
      object: {
        key: encodeS3EventKey(raw.s3.object.key),
        size: raw.s3.object.size ?? 0,
        eTag,
        sequencer,
      },
    },
  };
}

/** s3rver leaves the ETag out of Copy events; it keeps the MD5 next to the object. */
function resolveETag(server: S3rver, raw: S3rverEventRecord): string {
  if (raw.s3.object.eTag !== undefined) return raw.s3.object.eTag;
  const md5Path = server.store.getResourcePath(raw.s3.bucket.name, raw.s3.object.key, 'object.md5');
  return readFileSync(md5Path, 'utf8').trim();
}

/** Hex, growing with every event (s3rver's is Date.now(), equal for events in the same ms). */
function sequencerSource(): () => string {
  let counter = 0;
  return () => {
    counter += 1;
    const millis = Date.now().toString(16).padStart(12, '0');
    return `${millis}${counter.toString(16).padStart(6, '0')}`.toUpperCase();
  };
}

/** Runs inside s3rver's request handling: a failing conversion must not fail the PutObject. */
function deliver(listeners: ReadonlySet<ObjectCreatedListener>, build: () => S3EventRecordLike): void {
  if (listeners.size === 0) return;
  try {
    notifyAll(listeners, build());
  } catch (error) {
    rethrowLater(error);
  }
}

async function closeLocalS3(server: S3rver, ownDirectory: string | undefined): Promise<void> {
  if (server.httpServer) await closeServer(server.httpServer);
  if (ownDirectory) await rm(ownDirectory, { recursive: true, force: true });
}
