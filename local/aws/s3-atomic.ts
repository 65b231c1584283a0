import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { S3rverFilesystemStore, S3rverMiddleware, S3rverObject } from 's3rver';

/** s3rver's error class: its handler turns anything else into a 500. */
const S3Error = createRequire(import.meta.url)('s3rver/lib/models/error.js') as new (
  code: string,
  message: string,
  detail?: Record<string, string>,
) => Error;

/** A request's ETag conditions, for the store (which sees no headers). */
const conditions = new AsyncLocalStorage<{
  copyIfMatch: string | undefined;
  deleteIfMatch: string | undefined;
}>();

/**
 * Passes a copy's `x-amz-copy-source-if-match` and a delete's `if-match` to the store, which
 * s3rver otherwise ignores: S3 copies or deletes only the version named (or answers 412), which is
 * how a move copies only the file it handled and never deletes a newer one. Checked under the
 * key's lock, so no overwrite can slip in between check and copy or delete.
 */
export const conditionalRequests: S3rverMiddleware = (ctx, next) => {
  const header = (name: string) => {
    const value = ctx.req.headers[name];
    return typeof value === 'string' ? value : undefined;
  };
  return conditions.run(
    {
      copyIfMatch: header('x-amz-copy-source-if-match'),
      deleteIfMatch: ctx.req.method === 'DELETE' ? header('if-match') : undefined,
    },
    next,
  );
};

function preconditionFailed(condition: string): Error {
  return new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
    Condition: condition,
  });
}

/**
 * Makes s3rver's object writes atomic, as S3's are. s3rver writes an object in place and its MD5
 * and metadata beside it afterwards, so a read during a write sees a half-written object, or one
 * object's bytes with another's ETag; a listing sees a key before its upload ended. Here the bytes
 * go to a hidden temporary file first, and the swap (rename, MD5, metadata) happens under a lock
 * per key that reads of that key's metadata (HEAD, GET, listings) wait for. A GET's stream keeps
 * reading the file it opened (the rename gives the new object a new inode), as S3 serves the
 * version a GET began with.
 */
export function makeObjectWritesAtomic(store: S3rverFilesystemStore): void {
  const locks = new KeyLocks();
  const getMetadata = store.getMetadata.bind(store);
  const getObject = store.getObject.bind(store);
  // s3rver's copy reads the target's metadata itself, inside the write lock: it gets the unlocked read.
  const copyObject = store.copyObject.bind(Object.create(store, { getMetadata: { value: getMetadata } }));
  const deleteObject = store.deleteObject.bind(store);
  const keyOf = (bucket: string, key: string) => `${bucket}/${key}`;

  store.getMetadata = (bucket, key) => locks.read(keyOf(bucket, key), () => getMetadata(bucket, key));
  store.getObject = (bucket, key, options) =>
    locks.read(keyOf(bucket, key), () => getObject(bucket, key, options));
  store.deleteObject = (bucket, key) =>
    locks.write(keyOf(bucket, key), async () => {
      const ifMatch = conditions.getStore()?.deleteIfMatch;
      if (ifMatch !== undefined && ifMatch !== '*') {
        const etag = String((await getMetadata(bucket, key)).etag);
        if (unquote(etag) !== unquote(ifMatch)) throw preconditionFailed('If-Match');
      }
      return deleteObject(bucket, key);
    });
  store.copyObject = (srcBucket, srcKey, destBucket, destKey, metadata) => {
    const copy = () => copyObject(srcBucket, srcKey, destBucket, destKey, metadata);
    const [source, target] = [keyOf(srcBucket, srcKey), keyOf(destBucket, destKey)];
    // Onto itself (new metadata): one write; a read of the same key inside would wait forever.
    const checked = async () => {
      const ifMatch = conditions.getStore()?.copyIfMatch;
      const etag = ifMatch === undefined ? undefined : String((await getMetadata(srcBucket, srcKey)).etag);
      if (ifMatch !== undefined && unquote(etag ?? '') !== unquote(ifMatch)) {
        throw preconditionFailed('x-amz-copy-source-If-Match');
      }
      return copy();
    };
    if (source === target) return locks.write(target, checked);
    return locks.read(source, () => locks.write(target, checked));
  };
  // S3 gives an object uploaded in parts the ETag `<MD5 of the parts' MD5s>-<parts>`, which is not
  // its MD5; s3rver gives it the MD5. Code that takes a single-part ETag for the MD5 (the append
  // link's md5) must meet the real form here too.
  const putObjectMultipart = store.putObjectMultipart.bind(store);
  store.putObjectMultipart = (bucket, uploadId, parts) =>
    multipartETag.run(multipartETagOf(parts), () => putObjectMultipart(bucket, uploadId, parts));
  store.putObject = async (object: S3rverObject) => {
    const objectPath = store.getResourcePath(object.bucket, object.key, 'object');
    // Not ending in the object suffix: listings never see it.
    const temporary = `${objectPath}.uploading-${randomBytes(6).toString('hex')}`;
    await mkdir(dirname(objectPath), { recursive: true });
    const hash = createHash('md5');
    let size = 0;
    try {
      const source = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
      await pipeline(
        source,
        new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            hash.update(chunk);
            size += chunk.length;
            callback(null, chunk);
          },
        }),
        createWriteStream(temporary),
      );
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    const md5 = multipartETag.getStore() ?? hash.digest('hex');
    await locks.write(keyOf(object.bucket, object.key), async () => {
      await rename(temporary, objectPath);
      await store.putMetadata(object.bucket, object.key, object.metadata, md5);
    });
    return { size, md5 };
  };
}

/** The ETag of the multipart upload being completed, for the store's putObject. */
const multipartETag = new AsyncLocalStorage<string>();

/** S3's multipart ETag: the MD5 of the parts' binary MD5s, a dash, and how many parts. */
export function multipartETagOf(parts: ReadonlyArray<{ number: number; etag: string }>): string {
  const digests = [...parts]
    .sort((a, b) => a.number - b.number)
    .map((part) => Buffer.from(unquote(part.etag), 'hex'));
  return `${createHash('md5').update(Buffer.concat(digests)).digest('hex')}-${parts.length}`;
}

/**
 * Readers share a key, a writer has it alone. Readers do not wait for queued writers, so a read
 * nested in a read (s3rver's GET reads the metadata) cannot deadlock.
 */
class KeyLocks {
  readonly #readers = new Map<string, number>();
  readonly #writing = new Map<string, Promise<void>>();
  readonly #idle = new Map<string, Array<() => void>>();

  async read<T>(key: string, work: () => Promise<T>): Promise<T> {
    for (let writing = this.#writing.get(key); writing; writing = this.#writing.get(key)) await writing;
    this.#readers.set(key, (this.#readers.get(key) ?? 0) + 1);
    try {
      return await work();
    } finally {
      const left = (this.#readers.get(key) ?? 1) - 1;
      if (left > 0) this.#readers.set(key, left);
      else {
        this.#readers.delete(key);
        for (const wake of this.#idle.get(key) ?? []) wake();
        this.#idle.delete(key);
      }
    }
  }

  async write<T>(key: string, work: () => Promise<T>): Promise<T> {
    for (;;) {
      const writing = this.#writing.get(key);
      if (writing) {
        await writing;
        continue;
      }
      if ((this.#readers.get(key) ?? 0) > 0) {
        await new Promise<void>((resolve) => this.#idle.set(key, [...(this.#idle.get(key) ?? []), resolve]));
        continue;
      }
      break;
    }
    let done: () => void = () => {};
    this.#writing.set(
      key,
      new Promise<void>((resolve) => {
        done = resolve;
      }),
    );
    try {
      return await work();
    } finally {
      this.#writing.delete(key);
      done();
    }
  }
}

function unquote(etag: string): string {
  return etag.replaceAll('"', '');
}
