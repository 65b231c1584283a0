import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { INCOMING_PREFIX, NEW_COLUMNS_FOLDER, parseDropKey } from '../drop-key.js';
import { resolveBucket } from './bucket.js';
import {
  type CommonOptions,
  cliDatasets,
  fileSize,
  modeOf,
  newColumnsOf,
  readFileOnce,
  resolveDataset,
  settingsFromEnv,
} from './common.js';
import { EXIT, type ExitCode } from './exit.js';
import type { Output } from './output.js';
import { cliS3Client } from './s3.js';

export interface DropOptions extends CommonOptions {
  dataset: string;
  append?: boolean;
  replace?: boolean;
  newColumns?: boolean;
  bucket?: string;
  endpoint?: string;
}

/**
 * `govpub drop FILE --dataset ID --append|--replace`: puts a file into the drop bucket at
 * `incoming/<dataset>/<mode>/<file name>`, streamed in one PutObject (up to 5 GiB, the pipeline's
 * limit) with its Content-MD5 so S3 checks the bytes. With --endpoint (the local s3rver): path
 * style and s3rver's credentials; otherwise the default AWS credential chain.
 */
export async function drop(out: Output, file: string, options: DropOptions): Promise<ExitCode> {
  const mode = modeOf(options);
  const settings = settingsFromEnv();
  const { bucket, endpoint, sampleAliases } = resolveBucket(out, options, settings.DROP_BUCKET);
  const datasets = cliDatasets(sampleAliases);
  resolveDataset(options.dataset, datasets);
  const folder = newColumnsOf(options, mode) ? NEW_COLUMNS_FOLDER : mode;
  const key = `${INCOMING_PREFIX}${options.dataset}/${folder}/${basename(file)}`;
  // The same checks the pipeline makes, so a file that would only fail there is refused here.
  const { datasetId } = parseDropKey(key, datasets);
  const size = await fileSize(file, settings.MAX_FILE_BYTES);
  const { md5Hex, md5Base64 } = await readFileOnce(file, undefined);
  const s3 = cliS3Client(out, endpoint);
  try {
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: createReadStream(file),
        ContentLength: size,
        ContentMD5: md5Base64,
        ContentType: 'text/csv',
      }),
    );
    out.info(
      `Dropped ${file} at s3://${bucket}/${key}; the pipeline publishes it to ${datasetId} (${mode}) and files it under processed/ or failed/ with a report.`,
    );
    out.result({
      ok: true,
      command: 'drop',
      file,
      bucket,
      key,
      datasetId,
      mode,
      size,
      md5: md5Hex,
      etag: put.ETag?.replaceAll('"', '') ?? null,
    });
    return EXIT.ok;
  } finally {
    s3.destroy();
  }
}
