import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { INCOMING_PREFIX, isDroppedFile, REQUESTED_BY_METADATA } from './drop-key.js';
import { SourceChangedError } from './errors.js';
import { REPORT_SUFFIX } from './outcome-keys.js';

/** A file waiting under `incoming/`, as listed or headed. */
export interface DroppedObject {
  bucket: string;
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
  /**
   * Who asked for it, when it came through the HTTP API or an event (the object's
   * `x-amz-meta-requested-by`); only a HEAD reads it.
   */
  requestedBy?: string;
}

export { REQUESTED_BY_METADATA };

/**
 * `source-replaced`: another version is at the source key, and the one named was not copied;
 * `copied-newer-kept`: it was copied, but a newer version arrived at the source during the copy
 * and was left there.
 */
export type MoveResult = 'moved' | 'already-moved' | 'missing' | 'source-replaced' | 'copied-newer-kept';

/** S3's CopyObject limit; larger objects are copied in parts. */
const SINGLE_COPY_MAX = 5 * 1024 ** 3;
const COPY_PART_SIZE = 512 * 1024 ** 2;

/** The drop bucket's operations, over one S3 client. */
export class DropBucket {
  constructor(
    readonly s3: S3Client,
    private readonly copyPartSize = COPY_PART_SIZE,
    private readonly singleCopyMax = SINGLE_COPY_MAX,
  ) {}

  /** Files waiting under `incoming/<ref>/` for any of `refs`, in key order. */
  async listWaiting(bucket: string, refs: readonly string[]): Promise<DroppedObject[]> {
    const lists = await Promise.all(refs.map((ref) => this.list(bucket, `${INCOMING_PREFIX}${ref}/`)));
    return lists.flat().sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Every file under a prefix (paginated). */
  async list(bucket: string, prefix: string): Promise<DroppedObject[]> {
    return this.listMatching(bucket, prefix, isDroppedFile);
  }

  /** Every report under a prefix (`processed/…` or `failed/…`). */
  async listReports(bucket: string, prefix: string): Promise<DroppedObject[]> {
    return this.listMatching(bucket, prefix, (key) => key.endsWith(REPORT_SUFFIX));
  }

  async getJson(bucket: string, key: string): Promise<unknown> {
    const output = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return JSON.parse((await output.Body?.transformToString()) ?? 'null');
  }

  private async listMatching(
    bucket: string,
    prefix: string,
    keep: (key: string) => boolean,
  ): Promise<DroppedObject[]> {
    const found: DroppedObject[] = [];
    let continuationToken: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: continuationToken }),
      );
      for (const item of page.Contents ?? []) {
        if (!item.Key || !keep(item.Key)) continue;
        found.push({
          bucket,
          key: item.Key,
          size: item.Size ?? 0,
          etag: unquote(item.ETag),
          lastModified: item.LastModified ?? new Date(0),
        });
      }
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken);
    return found;
  }

  /** The object's current state, or undefined when it is gone. */
  async head(
    bucket: string,
    key: string,
  ): Promise<(DroppedObject & { serverSideEncryption?: string }) | undefined> {
    try {
      const head = await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return {
        bucket,
        key,
        size: head.ContentLength ?? 0,
        etag: unquote(head.ETag),
        lastModified: head.LastModified ?? new Date(0),
        ...(head.ServerSideEncryption ? { serverSideEncryption: head.ServerSideEncryption } : {}),
        ...(head.Metadata?.[REQUESTED_BY_METADATA]
          ? { requestedBy: head.Metadata[REQUESTED_BY_METADATA] }
          : {}),
      };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /**
   * Opens the object for streaming, pinned to the ETag it was chosen with: if it was replaced or
   * deleted since, SourceChangedError (the new version gets its own turn). The ETag is checked
   * on the answer too, not only sent as If-Match, so a store that ignores the precondition
   * cannot hand over another version.
   */
  async open(object: DroppedObject): Promise<Readable> {
    try {
      const output = await this.s3.send(
        new GetObjectCommand({ Bucket: object.bucket, Key: object.key, IfMatch: `"${object.etag}"` }),
      );
      const body = output.Body as Readable;
      if (unquote(output.ETag) !== object.etag) {
        body.destroy();
        throw new SourceChangedError(`${object.key} was replaced after it was chosen for upload`);
      }
      return body;
    } catch (error) {
      if (error instanceof SourceChangedError) throw error;
      if (isNotFound(error) || isPreconditionFailed(error)) {
        throw new SourceChangedError(`${object.key} changed or disappeared before it could be uploaded`, {
          cause: error,
        });
      }
      throw error;
    }
  }

  /**
   * The MD5 of the object: a single-part ETag under SSE-S3 or no encryption is the hex MD5, so no
   * read is needed; otherwise it is hashed from one streamed read (constant memory).
   */
  async md5(
    object: DroppedObject & { serverSideEncryption?: string },
  ): Promise<{ hex: string; base64: string }> {
    const hex = this.md5NeedsRead(object) ? await this.hash(object) : object.etag.toLowerCase();
    return { hex, base64: Buffer.from(hex, 'hex').toString('base64') };
  }

  /** True when the ETag is not the MD5 (multipart, SSE-KMS), so md5() reads the whole object. */
  md5NeedsRead(object: DroppedObject & { serverSideEncryption?: string }): boolean {
    return !/^[0-9a-f]{32}$/i.test(object.etag) || object.serverSideEncryption === 'aws:kms';
  }

  private async hash(object: DroppedObject): Promise<string> {
    const hash = createHash('md5');
    for await (const chunk of await this.open(object)) hash.update(chunk as Buffer);
    return hash.digest('hex');
  }

  async putJson(
    bucket: string,
    key: string,
    value: unknown,
    metadata?: Record<string, string>,
  ): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: `${JSON.stringify(value, null, 2)}\n`,
        ContentType: 'application/json',
        ...(metadata ? { Metadata: metadata } : {}),
      }),
    );
  }

  /**
   * Moves an object (copy, then delete). Idempotent: when the source is already gone and the
   * target exists, a retried move is complete. With `expectedEtag`, only that version moves: a
   * file dropped again at the same key meanwhile stays in place for its own turn. Objects over
   * 5 GiB are copied in parts.
   */
  async move(bucket: string, from: string, to: string, expectedEtag?: string): Promise<MoveResult> {
    const source = await this.head(bucket, from);
    if (!source) return (await this.head(bucket, to)) ? 'already-moved' : 'missing';
    if (expectedEtag && source.etag !== expectedEtag) {
      // A retry after a copy that found a newer version waiting: the copy stands.
      return (await this.head(bucket, to))?.etag === expectedEtag ? 'copied-newer-kept' : 'source-replaced';
    }
    if (from === to) throw new Error(`Refusing to move ${from} onto itself`);
    try {
      await this.copy(bucket, from, to, source);
    } catch (error) {
      if (!isNotFound(error) && !isPreconditionFailed(error)) throw error;
      // Another run moved it first (a duplicate event filing the same file): that move stands.
      if (await this.head(bucket, to)) return 'already-moved';
      // A new version replaced it between the look and the copy (CopySourceIfMatch refused).
      if (isPreconditionFailed(error)) return 'source-replaced';
      throw error;
    }
    // Deleted only if it is still the version copied (S3's conditional delete): a version dropped
    // during the move, even between a last look and the delete, is kept and waits for its turn.
    try {
      await this.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: from, IfMatch: `"${source.etag}"` }));
    } catch (error) {
      if (isPreconditionFailed(error) || isConflict(error)) return 'copied-newer-kept';
      if (!isNotFound(error)) throw error;
    }
    return 'moved';
  }

  private async copy(bucket: string, from: string, to: string, source: DroppedObject): Promise<void> {
    if (source.size > this.singleCopyMax) {
      await this.copyInParts(bucket, from, to, source.size);
    } else {
      await this.s3.send(
        new CopyObjectCommand({
          Bucket: bucket,
          Key: to,
          CopySource: copySource(bucket, from),
          CopySourceIfMatch: `"${source.etag}"`,
          MetadataDirective: 'COPY',
        }),
      );
    }
  }

  private async copyInParts(bucket: string, from: string, to: string, size: number): Promise<void> {
    const { UploadId } = await this.s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: to }));
    try {
      const parts = [];
      for (let start = 0, number = 1; start < size; start += this.copyPartSize, number++) {
        const end = Math.min(start + this.copyPartSize, size) - 1;
        const { CopyPartResult } = await this.s3.send(
          new UploadPartCopyCommand({
            Bucket: bucket,
            Key: to,
            UploadId,
            PartNumber: number,
            CopySource: copySource(bucket, from),
            CopySourceRange: `bytes=${start}-${end}`,
          }),
        );
        parts.push({ PartNumber: number, ETag: CopyPartResult?.ETag });
      }
      await this.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: to,
          UploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    } catch (error) {
      await this.s3
        .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: to, UploadId }))
        .catch(() => undefined);
      throw error;
    }
  }
}

function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

function unquote(etag: string | undefined): string {
  return (etag ?? '').replaceAll('"', '');
}

function isNotFound(error: unknown): boolean {
  return (
    error instanceof NoSuchKey ||
    error instanceof NotFound ||
    (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404)
  );
}

function isPreconditionFailed(error: unknown): boolean {
  return error instanceof S3ServiceException && error.$metadata.httpStatusCode === 412;
}

/** S3's answer to a conditional delete that met a concurrent write to the key. */
function isConflict(error: unknown): boolean {
  return error instanceof S3ServiceException && error.$metadata.httpStatusCode === 409;
}
