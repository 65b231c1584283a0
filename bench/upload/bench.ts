/**
 * Sections 1, 2 and the upload half of 6: S3 (s3rver) → presigned PUT (the local data.gov.sg),
 * each path in a child process of its own, sizes and repetitions interleaved.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { isIdle, normalizeStatus } from '../../lib/datagovsg/status.js';
import { localS3ClientConfig, startLocalS3 } from '../../local/aws/s3.js';
import { type LocalDataGovSg, SAMPLE_DATASETS, startLocalDataGovSg } from '../../local/datagovsg/server.js';
import { runNodeChild } from '../lib/child.js';
import { MIB, max, median, pairedRatio, rotation } from '../lib/stats.js';
import { writeCsv } from './csv.js';
import { UPLOAD_PATHS, type UploadChildArgs, type UploadChildResult, type UploadPath } from './protocol.js';

const BUCKET = 'bench-drop';
const API_KEY = 'local-dev-key';
/** Children are killed past this: a minute plus the size at 2 MiB/s, far below any real run. */
const timeoutFor = (bytes: number) => 60_000 + (bytes / (2 * MIB)) * 1000;

export interface UploadBenchOptions {
  sizesMiB: readonly number[];
  reps: number;
  /** Where the CSVs are generated, s3rver keeps its objects and the sink writes (tmpfs if possible). */
  storeDir: string;
  bundles: { bare: string; ours: string };
  log: (message: string) => void;
}

export interface UploadSample {
  rep: number;
  position: number;
  ms: number;
  mibPerSec: number;
  maxRssBytes: number;
  /** CPU ms of the child (client side) and of this process (s3rver and the sink) during the run. */
  cpuMs: number;
  serverCpuMs: number;
}

export interface UploadPathResult {
  samples: UploadSample[];
  medianMiBps: number;
  /** The highest peak RSS over the repetitions (the figure the memory targets use). */
  peakRssBytes: number;
  medianRssBytes: number;
}

export interface UploadSizeResult {
  sizeMiB: number;
  bytes: number;
  paths: Record<UploadPath, UploadPathResult>;
  /**
   * Paired throughput ratios (median over repetitions of each path's MiB/s ÷ the other's in the same
   * repetition): against the bare pipe; the check's own cost (checked ÷ unchecked); and an object
   * uploaded in parts, MD5 read included, against the same bytes in one part (multipart ÷ sendFile).
   */
  ratios: {
    ours: number;
    oursCheck: number;
    checkedOverUnchecked: number;
    oursMultipart: number;
    multipartOverSingle: number;
  };
}

export interface UploadBenchResult {
  datasetId: string;
  columns: Array<{ name: string; dataType: string }>;
  sizes: UploadSizeResult[];
}

export async function runUploadBench(options: UploadBenchOptions): Promise<UploadBenchResult> {
  const dataset = SAMPLE_DATASETS[0];
  if (!dataset) throw new Error('no sample dataset');
  const s3Dir = await mkdtemp(join(options.storeDir, 'bench-s3-'));
  const sinkDir = await mkdtemp(join(options.storeDir, 'bench-sink-'));
  const s3 = await startLocalS3({ buckets: [BUCKET], directory: s3Dir });
  const dgs = await startLocalDataGovSg({
    apiKeys: [API_KEY],
    datasets: SAMPLE_DATASETS,
    stepDelayMs: 1,
    storageDir: sinkDir,
  });
  const client = new S3Client(localS3ClientConfig(s3.endpoint));
  try {
    const objects = new Map<
      number,
      { key: string; multipartKey: string; bytes: number; etag: string; rows: number }
    >();
    for (const sizeMiB of options.sizesMiB) {
      options.log(`upload: generating a ${sizeMiB} MiB CSV`);
      objects.set(sizeMiB, await putCsv(client, options.storeDir, sizeMiB, dataset.columns));
    }
    const argsFor = (sizeMiB: number, path: UploadPath): UploadChildArgs => {
      const object = objects.get(sizeMiB);
      if (!object) throw new Error(`no object of ${sizeMiB} MiB`);
      return {
        s3Endpoint: s3.endpoint,
        bucket: BUCKET,
        key: path === 'ours-multipart' ? object.multipartKey : object.key,
        size: object.bytes,
        dgsBaseUrl: dgs.baseUrl,
        uploadOrigin: dgs.uploadOrigin,
        apiKey: API_KEY,
        datasetId: dataset.datasetId,
        ...(path === 'ours-check' ? { checkColumns: dataset.columns } : {}),
        ...(path === 'ours-multipart' ? { md5Measured: true } : {}),
      };
    };
    const run = async (
      sizeMiB: number,
      path: UploadPath,
    ): Promise<UploadChildResult & { serverCpuMs: number }> => {
      const args = argsFor(sizeMiB, path);
      await waitUntilIdle(dgs, dataset.datasetId);
      const before = dgs.uploads(dataset.datasetId).length;
      const serverCpu = process.cpuUsage();
      const script = path === 'bare' ? options.bundles.bare : options.bundles.ours;
      const result = await runNodeChild<UploadChildResult>(
        script,
        [JSON.stringify(args)],
        timeoutFor(args.size),
      );
      const serverUsed = process.cpuUsage(serverCpu);
      await checkReceived(dgs, dataset.datasetId, before, objects.get(sizeMiB)?.etag ?? '', args.size);
      // A fast but wrong check cannot pass: it must have passed the file and counted every row.
      const rows = objects.get(sizeMiB)?.rows;
      if (path === 'ours-check' && (result.checkPassed !== true || result.checkRows !== rows))
        throw new Error(`the CSV check failed the file or counted ${result.checkRows} of its ${rows} rows`);
      return { ...result, serverCpuMs: (serverUsed.user + serverUsed.system) / 1000 };
    };

    const smallest = Math.min(...options.sizesMiB);
    options.log(`upload: warm-up (${smallest} MiB, each path once, not recorded)`);
    for (const path of UPLOAD_PATHS) await run(smallest, path);

    const samples = new Map<string, UploadSample[]>();
    for (let rep = 0; rep < options.reps; rep++) {
      for (const sizeMiB of options.sizesMiB) {
        const order = rotation(UPLOAD_PATHS, rep);
        for (const [position, path] of order.entries()) {
          const result = await run(sizeMiB, path);
          const mibPerSec = result.bytes / MIB / (result.ms / 1000);
          const list = samples.get(`${sizeMiB}/${path}`) ?? [];
          list.push({
            rep,
            position,
            ms: result.ms,
            mibPerSec,
            maxRssBytes: result.maxRssBytes,
            cpuMs: result.cpuMs,
            serverCpuMs: result.serverCpuMs,
          });
          samples.set(`${sizeMiB}/${path}`, list);
          options.log(
            `upload: rep ${rep + 1}/${options.reps} ${sizeMiB} MiB ${path}: ${mibPerSec.toFixed(1)} MiB/s, ` +
              `peak RSS ${(result.maxRssBytes / MIB).toFixed(0)} MiB, CPU ${result.cpuMs.toFixed(0)} ms ` +
              `(servers ${result.serverCpuMs.toFixed(0)} ms)`,
          );
        }
      }
    }

    const sizes = options.sizesMiB.map((sizeMiB): UploadSizeResult => {
      const paths = Object.fromEntries(
        UPLOAD_PATHS.map((path) => [path, summarise(samples.get(`${sizeMiB}/${path}`) ?? [])]),
      ) as Record<UploadPath, UploadPathResult>;
      return {
        sizeMiB,
        bytes: objects.get(sizeMiB)?.bytes ?? 0,
        paths,
        ratios: {
          ours: pairedRatio(throughputs(paths.ours), throughputs(paths.bare)),
          oursCheck: pairedRatio(throughputs(paths['ours-check']), throughputs(paths.bare)),
          checkedOverUnchecked: pairedRatio(throughputs(paths['ours-check']), throughputs(paths.ours)),
          oursMultipart: pairedRatio(throughputs(paths['ours-multipart']), throughputs(paths.bare)),
          multipartOverSingle: pairedRatio(throughputs(paths['ours-multipart']), throughputs(paths.ours)),
        },
      };
    });
    return { datasetId: dataset.datasetId, columns: dataset.columns, sizes };
  } finally {
    client.destroy();
    await dgs.close();
    await s3.close();
    await rm(s3Dir, { recursive: true, force: true });
    await rm(sinkDir, { recursive: true, force: true });
  }
}

function throughputs(result: UploadPathResult): Array<{ rep: number; value: number }> {
  return result.samples.map((sample) => ({ rep: sample.rep, value: sample.mibPerSec }));
}

function summarise(samples: UploadSample[]): UploadPathResult {
  return {
    samples,
    medianMiBps: median(samples.map((sample) => sample.mibPerSec)),
    peakRssBytes: max(samples.map((sample) => sample.maxRssBytes)),
    medianRssBytes: median(samples.map((sample) => sample.maxRssBytes)),
  };
}

async function putCsv(
  client: S3Client,
  workDir: string,
  sizeMiB: number,
  columns: Array<{ name: string; dataType: string }>,
): Promise<{ key: string; multipartKey: string; bytes: number; etag: string; rows: number }> {
  const bytes = Math.round(sizeMiB * MIB);
  const file = join(workDir, `upload-${sizeMiB}.csv`);
  const key = `bench/${sizeMiB}MiB.csv`;
  const multipartKey = `bench/${sizeMiB}MiB-in-parts.csv`;
  try {
    const rows = await writeCsv(file, bytes, columns);
    const put = await client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: key,
        Body: createReadStream(file),
        ContentLength: bytes,
        ContentType: 'text/csv',
      }),
    );
    await putInParts(client, file, multipartKey, bytes);
    return { key, multipartKey, bytes, etag: (put.ETag ?? '').replaceAll('"', ''), rows };
  } finally {
    await rm(file, { force: true });
  }
}

/** The AWS CLI's default part size (and threshold): any file it copies above 8 MiB is in parts. */
const PART_BYTES = 8 * MIB;

/** The same bytes as a multipart upload: its ETag is `<md5 of the part md5s>-<parts>`, not its MD5. */
async function putInParts(client: S3Client, file: string, key: string, bytes: number): Promise<void> {
  const { UploadId } = await client.send(
    new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key, ContentType: 'text/csv' }),
  );
  const parts: Array<{ ETag: string; PartNumber: number }> = [];
  for (let start = 0, number = 1; start < bytes; start += PART_BYTES, number++) {
    const end = Math.min(bytes, start + PART_BYTES);
    const { ETag } = await client.send(
      new UploadPartCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId,
        PartNumber: number,
        Body: createReadStream(file, { start, end: end - 1 }),
        ContentLength: end - start,
      }),
    );
    parts.push({ ETag: ETag ?? '', PartNumber: number });
  }
  const done = await client.send(
    new CompleteMultipartUploadCommand({
      Bucket: BUCKET,
      Key: key,
      UploadId,
      MultipartUpload: { Parts: parts },
    }),
  );
  // A file of one part would not show the double read this path measures.
  if (!/-\d+"?$/.test(done.ETag ?? '')) throw new Error(`${key} was not stored in parts (ETag ${done.ETag})`);
}

/** sendFile refuses to start while an ingestion is in progress; the stand-in steps every 1 ms. */
async function waitUntilIdle(dgs: LocalDataGovSg, datasetId: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!isIdle(normalizeStatus(dgs.statusOf(datasetId).status))) {
    if (Date.now() > deadline) throw new Error(`${datasetId} stayed busy`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The sink must have stored exactly the object: one new upload, every byte, the same MD5. */
async function checkReceived(
  dgs: LocalDataGovSg,
  datasetId: string,
  before: number,
  etag: string,
  bytes: number,
): Promise<void> {
  const uploads = dgs.uploads(datasetId).slice(before);
  const upload = uploads[0];
  if (uploads.length !== 1 || !upload) throw new Error(`expected one upload, got ${uploads.length}`);
  await rm(upload.path, { force: true });
  if (upload.bytes !== bytes || upload.md5Hex !== etag) {
    throw new Error(`the sink stored ${upload.bytes} bytes (md5 ${upload.md5Hex}), not ${bytes} (${etag})`);
  }
}
