// The bad input catalogue (issue 6): one table per way in (drop keys, dropped files, HTTP bodies,
// EventBridge details, configuration values, CLI arguments). Every row asserts a specific error
// (a report's code, a status and message, an event, a ConfigError, an exit code and one sentence)
// and that nothing reached data.gov.sg or the Performance Platform half-way. One pipeline serves
// every row; the drops are made at once, the CLI rows run concurrently.
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventBridgeClient } from '../../lib/aws-clients/eventbridge.js';
import { loadSettings } from '../../lib/config.js';
import { createDatasetDirectory } from '../../lib/datasets.js';
import { ConfigError } from '../../lib/errors.js';
import { localEventBridgeClientConfig } from '../../local/aws/eventbridge.js';
import type { LocalPipeline } from '../../local/pipeline.js';
import { type CliRun, cliEnvironment, runGovpub } from './govpub-cli.js';
import {
  crashedInvocations,
  POPULATION,
  POPULATION_CSV,
  REQUEST_SOURCE,
  startFastPipeline,
} from './support.js';

/** MAX_FILE_BYTES of the shared pipeline: small enough to drop MAX + 1 bytes, above the 2 MB line. */
const MAX_FILE_BYTES = 3_000_000;
/** S3's longest key, in UTF-8 bytes. */
const S3_MAX_KEY_BYTES = 1024;
/** Lambda's synchronous response payload limit: a larger answer becomes API Gateway's 500. */
const LAMBDA_MAX_RESPONSE_BYTES = 6 * 1024 * 1024;
const GROUP = 'carers-allowance';
const TYPE = 'transaction-count';
const PP_PATH = `/performance/${GROUP}/${TYPE}`;
const UPLOADS_PATH = `/datasets/${POPULATION.alias}/uploads`;
const HEADER = 'year,sex,population\n';
const STACK_TRACE = /^\s+at \S/m;

let pipeline: LocalPipeline;
let dir: string;

beforeAll(async () => {
  pipeline = await startFastPipeline({ env: { MAX_FILE_BYTES: String(MAX_FILE_BYTES) } });
  dir = await mkdtemp(join(tmpdir(), 'govpub-bad-input-'));
}, 60_000);

afterAll(async () => {
  await pipeline?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const md5 = (body: string | Buffer) => createHash('md5').update(body).digest('hex');
const dgs = () => {
  if (!pipeline.dataGovSg) throw new Error('no local data.gov.sg');
  return pipeline.dataGovSg;
};
const pp = () => {
  if (!pipeline.performancePlatform) throw new Error('no local Performance Platform');
  return pipeline.performancePlatform;
};

/** What a bad input must leave as it was: the bucket, data.gov.sg's uploads, the stored records. */
async function sideEffects() {
  return {
    keys: await pipeline.keys(''),
    dgsUploads: dgs().uploads().length,
    ppWrites: pp()
      .requests()
      .filter((request) => request.method !== 'GET').length,
    ppRecords: (await pp().records(GROUP, TYPE)).length,
  };
}

// ---------------------------------------------------------------------------------------------
// Drop keys and dropped files
// ---------------------------------------------------------------------------------------------

type DropExpectation =
  | {
      outcome: 'failed';
      code: string;
      message: RegExp;
      /** A problem of this code in the report's CSV check. */
      problem?: string;
    }
  | { outcome: 'published'; fileKey: RegExp }
  /** A console folder marker: left alone, no report, no event. */
  | { outcome: 'ignored' }
  /** S3 refuses keys over 1024 bytes: nothing may be sent unless it can also be filed. */
  | { outcome: 'filed-within-s3-key-limit' };

interface DropRow {
  input: string;
  key: string;
  body: string | Buffer;
  expected: DropExpectation;
}

/** A key of exactly S3's maximum length, made of short folders (the local S3 stores one file per key). */
function keyOfMaxLength(): string {
  let key = `incoming/${POPULATION.alias}/replace/`;
  while (key.length + 51 < S3_MAX_KEY_BYTES - 20) key += `${'f'.repeat(50)}/`;
  return `${key}${'n'.repeat(S3_MAX_KEY_BYTES - key.length - 4)}.csv`;
}

const layout = /does not follow the (drop )?layout/;
const notAnId = /is not a datasetId: a datasetId is d_ followed by 32 lower-case hex digits/;
/** A valid CSV with content of its own, so that what data.gov.sg received can be told apart. */
const csv = (row: number) => `${HEADER}2023,female,${2_100_000 + row}\n`;
const junk = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256));

const DROPS: DropRow[] = [
  // Keys
  {
    input: 'path traversal at the front: incoming/../<dataset>/replace/x.csv',
    key: `incoming/../${POPULATION.alias}/replace/traversal.csv`,
    body: csv(1),
    expected: { outcome: 'failed', code: 'KEY_LAYOUT', message: layout },
  },
  {
    input: 'path traversal inside the key: …/replace/../x.csv',
    key: `incoming/${POPULATION.alias}/replace/../inner-traversal.csv`,
    body: csv(2),
    expected: { outcome: 'failed', code: 'KEY_LAYOUT', message: layout },
  },
  {
    input: 'a "." segment',
    key: `incoming/${POPULATION.alias}/replace/./dot.csv`,
    body: csv(3),
    expected: { outcome: 'failed', code: 'KEY_LAYOUT', message: layout },
  },
  {
    input: 'URL-encoded slashes (%2F) instead of folders are not decoded twice',
    key: `incoming/${POPULATION.alias}%2Freplace%2Fencoded.csv`,
    body: csv(4),
    expected: { outcome: 'failed', code: 'KEY_LAYOUT', message: layout },
  },
  {
    input: 'an encoded traversal (%2F..%2F) in the name stays one literal name',
    key: `incoming/${POPULATION.alias}/replace/a%2F..%2F..%2Fb.csv`,
    body: csv(5),
    expected: {
      outcome: 'published',
      fileKey:
        /^processed\/resident-population\/replace\/a%2F\.\.%2F\.\.%2Fb\.\d{8}T\d{6}Z-[0-9a-z]{8}\.csv$/,
    },
  },
  {
    input: 'a datasetId with a Cyrillic "а" for the last hex digit',
    key: `incoming/${POPULATION.id.slice(0, -1)}\u0430/replace/cyrillic.csv`,
    body: csv(6),
    expected: { outcome: 'failed', code: 'BAD_DATASET_ID', message: notAnId },
  },
  {
    input: 'a datasetId with a fullwidth digit "３"',
    key: `incoming/d_\uff13${POPULATION.id.slice(3)}/replace/fullwidth.csv`,
    body: csv(7),
    expected: { outcome: 'failed', code: 'BAD_DATASET_ID', message: notAnId },
  },
  {
    input: 'an alias with a Cyrillic "о" (resident-pоpulation)',
    key: 'incoming/resident-p\u043epulation/replace/lookalike.csv',
    body: csv(8),
    expected: { outcome: 'failed', code: 'BAD_DATASET_ID', message: notAnId },
  },
  {
    input: 'an alias with a zero-width space',
    key: 'incoming/resident\u200b-population/replace/zero-width.csv',
    body: csv(9),
    expected: { outcome: 'failed', code: 'BAD_DATASET_ID', message: notAnId },
  },
  {
    input: 'a datasetId in upper case',
    key: `incoming/${POPULATION.id.toUpperCase()}/replace/upper.csv`,
    body: csv(10),
    expected: { outcome: 'failed', code: 'BAD_DATASET_ID', message: notAnId },
  },
  {
    input: 'an over-long alias (200 characters)',
    key: `incoming/${'a'.repeat(200)}/replace/long-alias.csv`,
    body: csv(11),
    expected: { outcome: 'failed', code: 'BAD_DATASET_ID', message: notAnId },
  },
  {
    input: 'the reserved alias "performance" used as a dataset',
    key: 'incoming/performance/replace/reserved.csv',
    body: csv(12),
    expected: { outcome: 'failed', code: 'KEY_LAYOUT', message: /incoming\/performance\/<data-group>/ },
  },
  {
    input: 'incoming/performance/../<dataset>/… (out of the forwarder’s folder)',
    key: `incoming/performance/../${POPULATION.alias}/replace/pp-escape.csv`,
    body: csv(13),
    expected: { outcome: 'failed', code: 'KEY_LAYOUT', message: layout },
  },
  {
    input: 'incoming/performance/.. (a dot-dot file name in the forwarder’s folder)',
    key: 'incoming/performance/..',
    body: '[]',
    expected: { outcome: 'failed', code: 'KEY_LAYOUT', message: layout },
  },
  {
    input: 'a key with only a dataset (incoming/<dataset>)',
    key: `incoming/${POPULATION.alias}`,
    body: csv(14),
    expected: { outcome: 'failed', code: 'KEY_LAYOUT', message: layout },
  },
  {
    input: 'a folder marker only (incoming/<dataset>/replace/)',
    key: `incoming/${POPULATION.alias}/replace/`,
    body: '',
    expected: { outcome: 'ignored' },
  },
  {
    input: 'a key of 1024 bytes (S3’s maximum): its processed/ and report keys would be longer',
    key: keyOfMaxLength(),
    body: csv(15),
    expected: { outcome: 'filed-within-s3-key-limit' },
  },
  // Files
  {
    input: 'a 0-byte file',
    key: `incoming/${POPULATION.alias}/replace/empty.csv`,
    body: '',
    expected: { outcome: 'failed', code: 'EMPTY_FILE', message: /The file is empty \(0 bytes\)/ },
  },
  {
    input: 'a file of MAX_FILE_BYTES + 1 bytes',
    key: `incoming/${POPULATION.alias}/replace/too-large.csv`,
    body: Buffer.concat([Buffer.from(HEADER), Buffer.alloc(MAX_FILE_BYTES + 1 - HEADER.length, '1')]),
    expected: {
      outcome: 'failed',
      code: 'TOO_LARGE',
      message: new RegExp(`${MAX_FILE_BYTES + 1} bytes, over the ${MAX_FILE_BYTES}-byte limit`),
    },
  },
  {
    input: 'binary junk',
    key: `incoming/${POPULATION.alias}/replace/junk.csv`,
    body: junk,
    expected: { outcome: 'failed', code: 'CSV_INVALID', message: /not valid UTF-8/, problem: 'INVALID_UTF8' },
  },
  {
    input: 'a CSV that is only a byte order mark',
    key: `incoming/${POPULATION.alias}/replace/bom-only.csv`,
    body: Buffer.from([0xef, 0xbb, 0xbf]),
    expected: {
      outcome: 'failed',
      code: 'CSV_INVALID',
      message: /no header and no rows/,
      problem: 'EMPTY_FILE',
    },
  },
  {
    input: 'a 2 MB single line (no line break)',
    key: `incoming/${POPULATION.alias}/replace/one-line.csv`,
    body: 'y'.repeat(2 * 1024 * 1024),
    expected: {
      outcome: 'failed',
      code: 'CSV_INVALID',
      message: /longer than 1048576 bytes/,
      problem: 'RECORD_TOO_LARGE',
    },
  },
  {
    input: 'NUL bytes in a value',
    key: `incoming/${POPULATION.alias}/replace/nul.csv`,
    body: `${HEADER}2023,fe\u0000male,2100000\n`,
    expected: {
      outcome: 'failed',
      code: 'CSV_INVALID',
      message: /The first: Row 2, column "sex" holds the control character U\+0000 \(NUL\)/,
    },
  },
  {
    input: 'a file of NUL bytes only',
    key: `incoming/${POPULATION.alias}/replace/all-nul.csv`,
    body: Buffer.alloc(1000, 0),
    // The first error named is the NUL itself; the missing rows are listed too.
    expected: { outcome: 'failed', code: 'CSV_INVALID', message: /U\+0000 \(NUL\)/, problem: 'NO_ROWS' },
  },
  {
    input: 'UTF-16 with a byte order mark',
    key: `incoming/${POPULATION.alias}/replace/utf16.csv`,
    body: Buffer.from(`\ufeff${HEADER}2023,female,1\n`, 'utf16le'),
    expected: {
      outcome: 'failed',
      code: 'CSV_INVALID',
      message: /UTF-16 text .*CSV UTF-8/,
      problem: 'UTF16',
    },
  },
  {
    input: 'a gzip-compressed CSV named .csv',
    key: `incoming/${POPULATION.alias}/replace/compressed.csv`,
    body: gzipSync(`${HEADER}2023,female,1\n`),
    expected: { outcome: 'failed', code: 'CSV_INVALID', message: /gzip-compressed/, problem: 'COMPRESSED' },
  },
  {
    input: 'a header without rows',
    key: `incoming/${POPULATION.alias}/replace/header-only.csv`,
    body: HEADER,
    expected: { outcome: 'failed', code: 'CSV_INVALID', message: /header but no rows/, problem: 'NO_ROWS' },
  },
  {
    input: 'a quote left open',
    key: `incoming/${POPULATION.alias}/replace/open-quote.csv`,
    body: `${HEADER}2023,"female,2100000\n2023,male,2050000\n`,
    expected: { outcome: 'failed', code: 'CSV_INVALID', message: /quot/i, problem: 'QUOTING' },
  },
  {
    input: 'a Performance Platform .json of 100 000 nested "["',
    key: `incoming/performance/${GROUP}/${TYPE}/bomb.json`,
    body: `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
    expected: { outcome: 'failed', code: 'PP_INVALID_RECORDS', message: /invalid|problem|record/i },
  },
  {
    input: 'a Performance Platform .ndjson with a 2 MB line',
    key: `incoming/performance/${GROUP}/${TYPE}/long-line.ndjson`,
    body: `{"_timestamp":"2024-01-01T00:00:00Z","v":"${'x'.repeat(2 * 1024 * 1024)}"}\n`,
    expected: { outcome: 'failed', code: 'PP_INVALID_RECORDS', message: /invalid|problem|record|line/i },
  },
  {
    input: 'a 0-byte Performance Platform .json',
    key: `incoming/performance/${GROUP}/${TYPE}/empty.json`,
    body: '',
    expected: { outcome: 'failed', code: 'PP_INVALID_RECORDS', message: /JSON|empty/i },
  },
];

interface Filed {
  /** Where the report is in the bucket (which may differ from what it says if a key was resolved). */
  listedReportKey: string;
  report: {
    outcome: string;
    sourceKey: string;
    fileKey: string;
    reportKey: string;
    error: { code: string; message: string } | null;
    check?: { problems: Array<{ code: string }> } | null;
  };
}

describe('drop keys and dropped files', () => {
  const filed = new Map<string, Filed>();
  let keysAfter: string[] = [];
  let eventsAfter: Array<{ detailType: string; detail: unknown }> = [];

  beforeAll(async () => {
    // One at a time: each row's outcome is its own (a crash filing one key would otherwise strand
    // the dataset's other files until the sweep).
    for (const row of DROPS) {
      await pipeline.drop(row.key, row.body);
      await pipeline.whenIdle();
    }
    keysAfter = await pipeline.keys('');
    eventsAfter = pipeline.eventBridge.events().map(({ detailType, detail }) => ({ detailType, detail }));
    for (const key of keysAfter.filter((candidate) => candidate.endsWith('.report.json'))) {
      const report = (await pipeline.report(key.slice(0, -'.report.json'.length))) as
        | Filed['report']
        | undefined;
      if (report) filed.set(report.sourceKey, { listedReportKey: key, report });
    }
  }, 90_000);

  it.each(DROPS)('$input', ({ key, body, expected }) => {
    const uploadedMd5s = dgs()
      .uploads()
      .map((upload) => upload.md5Hex);
    const entry = filed.get(key);
    if (expected.outcome === 'ignored') {
      expect(entry).toBeUndefined();
      expect(keysAfter).toContain(key);
      expect(JSON.stringify(eventsAfter)).not.toContain(JSON.stringify(key));
      return;
    }
    expect(entry, `no report for ${key}; the bucket holds ${keysAfter.join(', ')}`).toBeDefined();
    if (!entry) return;
    const { report, listedReportKey } = entry;
    if (expected.outcome === 'filed-within-s3-key-limit') {
      const tooLong = keysAfter.filter((candidate) => Buffer.byteLength(candidate) > S3_MAX_KEY_BYTES);
      expect(tooLong.map((candidate) => Buffer.byteLength(candidate))).toEqual([]);
      if (report.outcome === 'failed') expect(uploadedMd5s).not.toContain(md5(body));
      return;
    }
    if (expected.outcome === 'published') {
      expect(report).toMatchObject({
        outcome: 'published',
        fileKey: expect.stringMatching(expected.fileKey),
      });
      expect(keysAfter).toContain(report.fileKey);
      return;
    }
    // Failed: a report naming the problem, the file kept beside it under failed/, nothing sent.
    expect(report.error?.code).toBe(expected.code);
    expect(report.error?.message).toMatch(expected.message);
    if (expected.problem) {
      expect(report.check?.problems.map((problem) => problem.code)).toContain(expected.problem);
    }
    expect(listedReportKey.startsWith('failed/'), `report filed at ${listedReportKey}`).toBe(true);
    expect(keysAfter, 'the rejected file is kept under failed/').toContain(
      listedReportKey.slice(0, -'.report.json'.length),
    );
    expect(keysAfter).not.toContain(key);
    if (Buffer.byteLength(body) > 0) expect(uploadedMd5s).not.toContain(md5(body));
  });

  it('leaves nothing outside incoming/, processed/ and failed/, and no function crashed', () => {
    expect.soft(crashedInvocations(pipeline)).toEqual([]);
    expect
      .soft(
        pp()
          .requests()
          .filter((request) => request.method === 'POST'),
      )
      .toEqual([]);
    expect.soft(keysAfter.filter((key) => !/^(incoming|processed|failed)\//.test(key))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// HTTP API bodies, on every route
// ---------------------------------------------------------------------------------------------

interface HttpAnswer {
  status: number;
  /** Set when the connection failed instead of answering. */
  error?: string;
  text: string;
  ms: number;
}

/** One raw request (node:http: any method with any body, any header, any path bytes). */
function call(
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<HttpAnswer> {
  const started = Date.now();
  const { hostname, port } = new URL(pipeline.httpApi.endpoint);
  return new Promise((resolve) => {
    const length = body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    const req = httpRequest({ hostname, port, method, path, headers: { ...headers, ...length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          text: Buffer.concat(chunks).toString('utf8'),
          ms: Date.now() - started,
        }),
      );
      res.on('error', (error: NodeJS.ErrnoException) =>
        resolve({ status: 0, error: error.code ?? error.message, text: '', ms: Date.now() - started }),
      );
    });
    req.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ status: 0, error: error.code ?? error.message, text: '', ms: Date.now() - started }),
    );
    req.end(body);
  });
}

interface HttpRow {
  input: string;
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  body?: () => string | Buffer;
  headers?: Record<string, string>;
  status: number | number[];
  message?: RegExp;
  /** The answer's size is bounded (Lambda answers at most 6 MB). */
  bounded?: boolean;
}

const JSON_HEADERS = { 'content-type': 'application/json' };
const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const gzipBomb = () => gzipSync(Buffer.from(`[${'0,'.repeat(5.5 * 1024 * 1024)}0]`));
const GZIP_HEADERS = { 'content-type': 'application/json', 'content-encoding': 'gzip' };
const uploadsShape = /The body must be \{"mode": "replace"\|"append"/;
const notJson = /not valid JSON/;
const putOnlyEmpties = /PUT only empties a data set, with the body \[\]/;
const unknownDataset = /is neither a datasetId \(d_ and 32 hex digits\) nor a known alias/;

const HTTP_ROWS: HttpRow[] = [
  // POST /datasets/{dataset}/uploads
  {
    input: 'uploads: 100 000 nested "["',
    method: 'POST',
    path: UPLOADS_PATH,
    body: () => nested(100_000),
    status: 400,
    message: uploadsShape,
  },
  {
    input: 'uploads: 100 000 unclosed "["',
    method: 'POST',
    path: UPLOADS_PATH,
    body: () => '['.repeat(100_000),
    status: 400,
    message: uploadsShape,
  },
  {
    input: 'uploads: 50 000 nested objects',
    method: 'POST',
    path: UPLOADS_PATH,
    body: () => `${'{"mode":'.repeat(50_000)}"replace"${'}'.repeat(50_000)}`,
    status: 400,
    message: uploadsShape,
  },
  {
    input: 'uploads: an array of 1 000 000 tiny records',
    method: 'POST',
    path: UPLOADS_PATH,
    body: () => `[${'{},'.repeat(999_999)}{}]`,
    status: 400,
    message: uploadsShape,
  },
  {
    input: 'uploads: Content-Type text/plain',
    method: 'POST',
    path: UPLOADS_PATH,
    body: () => '{"mode":"replace"}',
    headers: { 'content-type': 'text/plain' },
    status: 415,
    message: /Content-Type: application\/json/,
  },
  {
    input: 'uploads: no Content-Type',
    method: 'POST',
    path: UPLOADS_PATH,
    body: () => '{"mode":"replace"}',
    headers: {},
    status: 415,
    message: /Content-Type: application\/json/,
  },
  {
    input: 'uploads: a missing body',
    method: 'POST',
    path: UPLOADS_PATH,
    status: 400,
    message: uploadsShape,
  },
  {
    input: 'uploads: a number for mode',
    method: 'POST',
    path: UPLOADS_PATH,
    body: () => '{"mode":1}',
    status: 400,
    message: uploadsShape,
  },
  {
    input: 'uploads: a number for name',
    method: 'POST',
    path: UPLOADS_PATH,
    body: () => '{"mode":"replace","name":5}',
    status: 400,
    message: uploadsShape,
  },
  {
    input: 'uploads: a number for key',
    method: 'POST',
    path: UPLOADS_PATH,
    body: () => '{"key":123}',
    status: 400,
    message: uploadsShape,
  },
  {
    input: 'uploads: a name with a traversal',
    method: 'POST',
    path: UPLOADS_PATH,
    body: () => '{"mode":"replace","name":"../../processed/x.csv"}',
    status: 400,
    message: /not a usable file name/,
  },
  {
    input: 'uploads: a key with a traversal',
    method: 'POST',
    path: UPLOADS_PATH,
    body: () => '{"key":"incoming/../etc/passwd.csv","mode":"replace"}',
    status: 400,
    // Refused by its layout, before the bucket is asked: the answer says nothing of objects.
    message: /The key incoming\/\.\.\/etc\/passwd\.csv does not follow the drop layout/,
  },
  {
    input: 'uploads: a 10 MiB+ gzip bomb (Content-Encoding: gzip)',
    method: 'POST',
    path: UPLOADS_PATH,
    body: gzipBomb,
    headers: GZIP_HEADERS,
    status: [400, 415],
    message: /JSON|encoding|body must be/i,
  },
  {
    input: 'uploads: a body of 10 MiB + 1 (over API Gateway’s limit)',
    method: 'POST',
    path: UPLOADS_PATH,
    body: () => Buffer.alloc(10 * 1024 * 1024 + 1, ' '),
    status: 413,
  },
  {
    input: 'uploads: a Cyrillic lookalike alias in the path',
    method: 'POST',
    path: '/datasets/resident-p%D0%BEpulation/uploads',
    body: () => '{"mode":"replace"}',
    status: 404,
    message: unknownDataset,
  },
  {
    input: 'uploads: a fullwidth digit in the datasetId',
    method: 'POST',
    path: `/datasets/d_%EF%BC%93${POPULATION.id.slice(3)}/uploads`,
    body: () => '{"mode":"replace"}',
    status: 404,
    message: unknownDataset,
  },
  {
    input: 'uploads: URL-encoded slashes and .. in the dataset',
    method: 'POST',
    path: `/datasets/${POPULATION.alias}%2F..%2Fx/uploads`,
    body: () => '{"mode":"replace"}',
    status: 404,
    message: unknownDataset,
  },
  {
    input: 'uploads: the reserved alias "performance"',
    method: 'POST',
    path: '/datasets/performance/uploads',
    body: () => '{"mode":"replace"}',
    status: 404,
    message: unknownDataset,
  },
  {
    input: 'uploads: headers over node’s 16 KiB limit',
    method: 'POST',
    path: UPLOADS_PATH,
    body: () => '{"mode":"replace"}',
    headers: { ...JSON_HEADERS, 'x-padding': 'a'.repeat(20_000) },
    status: 431,
  },
  // GET /datasets/{dataset}
  {
    input: 'GET dataset: a Cyrillic lookalike alias',
    method: 'GET',
    path: '/datasets/resident-p%D0%BEpulation',
    status: 404,
    message: unknownDataset,
  },
  {
    input: 'GET dataset: a malformed %-escape',
    method: 'GET',
    path: '/datasets/%E0%A4%A',
    status: [400, 404],
  },
  {
    input: 'GET dataset: a 5 MB body and a JSON bomb are ignored',
    method: 'GET',
    path: `/datasets/${POPULATION.alias}`,
    body: () => nested(100_000).repeat(25),
    status: 200,
  },
  {
    input: 'GET dataset: headers over node’s 16 KiB limit',
    method: 'GET',
    path: `/datasets/${POPULATION.alias}`,
    headers: { 'x-padding': 'a'.repeat(20_000) },
    status: 431,
  },
  // POST /performance/{group}/{type}
  {
    input: 'POST records: 100 000 nested "["',
    method: 'POST',
    path: PP_PATH,
    body: () => nested(100_000),
    status: 400,
    message: /^1 problem in 1 of 1 record; nothing was sent\.$/,
  },
  {
    input: 'POST records: a record holding 100 000 nested "["',
    method: 'POST',
    path: PP_PATH,
    body: () => `[{"_timestamp":"2024-01-01T00:00:00Z","x":${nested(100_000)}}]`,
    status: 400,
    message: /^\d+ problems? in 1 of 1 record; nothing was sent\.$/,
  },
  {
    input: 'POST records: 100 000 unclosed "["',
    method: 'POST',
    path: PP_PATH,
    body: () => '['.repeat(100_000),
    status: 400,
    message: notJson,
  },
  {
    input: 'POST records: 1 000 000 tiny invalid records (2 MB) get a bounded answer',
    method: 'POST',
    path: PP_PATH,
    body: () => `[${'1,'.repeat(999_999)}1]`,
    status: 400,
    message: /^1000000 problems in 1000000 of 1000000 records; nothing was sent\.$/,
    bounded: true,
  },
  {
    input: 'POST records: Content-Type text/plain',
    method: 'POST',
    path: PP_PATH,
    body: () => '[]',
    headers: { 'content-type': 'text/plain' },
    status: 415,
    message: /Content-Type: application\/json/,
  },
  {
    input: 'POST records: a missing body',
    method: 'POST',
    path: PP_PATH,
    status: 400,
    message: notJson,
  },
  {
    input: 'POST records: a bare number',
    method: 'POST',
    path: PP_PATH,
    body: () => '42',
    status: 400,
    message: /must be a JSON object \(one record\) or an array/,
  },
  {
    input: 'POST records: numbers where strings are expected',
    method: 'POST',
    path: PP_PATH,
    body: () => '[{"_timestamp":12345,"channel":1,"count":1}]',
    status: 400,
    message: /^\d+ problems? in 1 of 1 record; nothing was sent\.$/,
  },
  {
    input: 'POST records: a 10 MiB+ gzip bomb',
    method: 'POST',
    path: PP_PATH,
    body: gzipBomb,
    headers: GZIP_HEADERS,
    status: [400, 415],
    message: /JSON|encoding/i,
  },
  {
    input: 'POST records: a data group in upper case',
    method: 'POST',
    path: `/performance/Carers-Allowance/${TYPE}`,
    body: () => '[]',
    status: 400,
    message: /lower-case letters, digits and "-"/,
  },
  {
    input: 'POST records: headers over node’s 16 KiB limit',
    method: 'POST',
    path: PP_PATH,
    body: () => '[]',
    headers: { ...JSON_HEADERS, 'x-padding': 'a'.repeat(20_000) },
    status: 431,
  },
  // PUT /performance/{group}/{type}
  {
    input: 'PUT: 100 000 nested "["',
    method: 'PUT',
    path: PP_PATH,
    body: () => nested(100_000),
    status: 400,
    message: putOnlyEmpties,
  },
  {
    input: 'PUT: an array of 1 000 000 tiny records',
    method: 'PUT',
    path: PP_PATH,
    body: () => `[${'{},'.repeat(999_999)}{}]`,
    status: 400,
    message: putOnlyEmpties,
  },
  {
    input: 'PUT: Content-Type text/plain',
    method: 'PUT',
    path: PP_PATH,
    body: () => '[]',
    headers: { 'content-type': 'text/plain' },
    status: 415,
    message: /Content-Type: application\/json/,
  },
  {
    input: 'PUT: a missing body',
    method: 'PUT',
    path: PP_PATH,
    status: 400,
    message: notJson,
  },
  {
    input: 'PUT: a number instead of []',
    method: 'PUT',
    path: PP_PATH,
    body: () => '0',
    status: 400,
    message: putOnlyEmpties,
  },
  {
    input: 'PUT: a 10 MiB+ gzip bomb',
    method: 'PUT',
    path: PP_PATH,
    body: gzipBomb,
    headers: GZIP_HEADERS,
    status: [400, 415],
    message: /JSON|encoding/i,
  },
];

describe('HTTP API bodies', () => {
  beforeAll(async () => {
    // Something to lose: a bad request must leave these records where they are.
    const seeded = await call(
      'POST',
      PP_PATH,
      JSON.stringify([{ _timestamp: '2024-01-01T00:00:00Z', channel: 'seed', count: 1 }]),
    );
    expect(seeded.status).toBe(200);
  });

  it.each(HTTP_ROWS)('$input', { timeout: 30_000 }, async (row) => {
    const before = await sideEffects();
    const answer = await call(row.method, row.path, row.body?.(), row.headers ?? JSON_HEADERS);
    expect(answer.error, `the connection failed (${answer.error}) instead of an answer`).toBeUndefined();
    expect([row.status].flat()).toContain(answer.status);
    if (row.message) {
      const body = JSON.parse(answer.text) as { message?: unknown };
      expect(body.message).toMatch(row.message);
    }
    if (row.bounded) expect(Buffer.byteLength(answer.text)).toBeLessThan(LAMBDA_MAX_RESPONSE_BYTES);
    expect(answer.ms, 'answered without expanding or walking the input for long').toBeLessThan(10_000);
    expect(answer.text).not.toMatch(STACK_TRACE);
    expect(answer.text).not.toMatch(/TypeError|RangeError|SyntaxError|at Object\./);
    // Still up, and nothing half-done.
    expect((await call('GET', `/datasets/${POPULATION.alias}`, undefined, {})).status).toBe(200);
    expect(await sideEffects()).toEqual(before);
  });
});

// ---------------------------------------------------------------------------------------------
// EventBridge details
// ---------------------------------------------------------------------------------------------

interface EventRow {
  input: string;
  detailType: 'Publish Dataset Requested' | 'Performance Records Submitted';
  detail: () => unknown;
  setup?: () => Promise<void>;
  /** The answer expected on the bus. */
  answer: 'Dataset Publish Failed' | 'Performance Records Forward Failed';
  code?: string;
  message: RegExp;
}

const PUBLISH = 'Publish Dataset Requested';
const SUBMIT = 'Performance Records Submitted';

const EVENT_ROWS: EventRow[] = [
  {
    input: 'Publish Dataset Requested without a key',
    detailType: PUBLISH,
    detail: () => ({ bucket: pipeline.bucket, dataset: POPULATION.alias, mode: 'replace' }),
    answer: 'Dataset Publish Failed',
    message: /key/,
  },
  {
    input: 'Publish Dataset Requested with a number for the key',
    detailType: PUBLISH,
    detail: () => ({ bucket: pipeline.bucket, key: 42, dataset: POPULATION.alias, mode: 'replace' }),
    answer: 'Dataset Publish Failed',
    message: /key/,
  },
  {
    input: 'Publish Dataset Requested with mode "upsert"',
    detailType: PUBLISH,
    detail: () => ({ bucket: pipeline.bucket, key: 'etl/ok.csv', dataset: POPULATION.alias, mode: 'upsert' }),
    setup: () => put('etl/ok.csv', POPULATION_CSV),
    answer: 'Dataset Publish Failed',
    message: /mode|replace|append/,
  },
  {
    input: 'Publish Dataset Requested for another bucket',
    detailType: PUBLISH,
    detail: () => ({
      bucket: 'someone-elses-bucket',
      key: 'x.csv',
      dataset: POPULATION.alias,
      mode: 'replace',
    }),
    answer: 'Dataset Publish Failed',
    code: 'KEY_LAYOUT',
    message: /Only objects of the drop bucket/,
  },
  {
    input: 'Publish Dataset Requested for a key under processed/ (already published)',
    detailType: PUBLISH,
    detail: () => ({
      bucket: pipeline.bucket,
      key: `processed/${POPULATION.alias}/append/published-before.csv`,
      dataset: POPULATION.alias,
      mode: 'append',
    }),
    setup: () => put(`processed/${POPULATION.alias}/append/published-before.csv`, POPULATION_CSV),
    answer: 'Dataset Publish Failed',
    code: 'KEY_LAYOUT',
    message: /processed\//,
  },
  {
    input: 'Publish Dataset Requested for incoming/../processed/…',
    detailType: PUBLISH,
    detail: () => ({
      bucket: pipeline.bucket,
      key: `incoming/../processed/${POPULATION.alias}/append/published-before.csv`,
      dataset: POPULATION.alias,
      mode: 'append',
    }),
    answer: 'Dataset Publish Failed',
    code: 'KEY_LAYOUT',
    message: /does not follow the drop layout|no object/,
  },
  {
    input: 'Publish Dataset Requested for a lookalike alias',
    detailType: PUBLISH,
    detail: () => ({
      bucket: pipeline.bucket,
      key: 'etl/ok.csv',
      dataset: 'resident-p\u043epulation',
      mode: 'replace',
    }),
    setup: () => put('etl/ok.csv', POPULATION_CSV),
    answer: 'Dataset Publish Failed',
    code: 'BAD_DATASET_ID',
    message: notAnId,
  },
  {
    input: 'Performance Records Submitted with records not an array',
    detailType: SUBMIT,
    detail: () => ({ dataGroup: GROUP, dataType: TYPE, records: { _timestamp: '2024-01-01T00:00:00Z' } }),
    answer: 'Performance Records Forward Failed',
    message: /records/,
  },
  {
    input: 'Performance Records Submitted without records',
    detailType: SUBMIT,
    detail: () => ({ dataGroup: GROUP, dataType: TYPE }),
    answer: 'Performance Records Forward Failed',
    message: /records/,
  },
  {
    input: 'Performance Records Submitted with a dataGroup in upper case',
    detailType: SUBMIT,
    detail: () => ({ dataGroup: 'Carers-Allowance', dataType: TYPE, records: [] }),
    answer: 'Performance Records Forward Failed',
    message: /dataGroup|lower-case/,
  },
  {
    input: 'Performance Records Submitted with numbers where strings are expected',
    detailType: SUBMIT,
    detail: () => ({ dataGroup: GROUP, dataType: TYPE, records: [{ _timestamp: 5, channel: 7 }] }),
    answer: 'Performance Records Forward Failed',
    message: /should be .*, not the number (5|7)/,
  },
  {
    input: 'Performance Records Submitted with 30 000 invalid records (within the 256 KB event)',
    detailType: SUBMIT,
    detail: () => ({ dataGroup: GROUP, dataType: TYPE, records: Array(30_000).fill(1) }),
    answer: 'Performance Records Forward Failed',
    message: /the record should be an object such as \{"_timestamp": .*\}, not the number 1/,
  },
];

async function put(key: string, body: string): Promise<void> {
  await pipeline.s3.send(new PutObjectCommand({ Bucket: pipeline.bucket, Key: key, Body: body }));
}

describe('EventBridge details', () => {
  it.each(EVENT_ROWS)('$input', async (row) => {
    await row.setup?.();
    await pipeline.whenIdle();
    const before = await sideEffects();
    const seen = pipeline.eventBridge.events().length;
    const invoked = pipeline.lambda.invocations().length;
    const output = await createEventBridgeClient(
      localEventBridgeClientConfig(pipeline.eventBridge.endpoint),
    ).send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: pipeline.settings.EVENT_BUS_NAME,
            Source: REQUEST_SOURCE,
            DetailType: row.detailType,
            Detail: JSON.stringify(row.detail()),
          },
        ],
      }),
    );
    expect(output.FailedEntryCount ?? 0).toBe(0);
    await pipeline.whenIdle();

    const crashed = pipeline.lambda
      .invocations()
      .slice(invoked)
      .filter((invocation) => invocation.status === 'FAILED')
      .map(
        (invocation) =>
          `${invocation.functionName}: ${invocation.error?.errorType}: ${invocation.error?.errorMessage}`,
      );
    expect(crashed, 'a bad detail must be answered, not crash the function').toEqual([]);
    const answers = pipeline.eventBridge
      .events()
      .slice(seen)
      .filter((event) => event.source === 'govpub');
    expect(answers.map((event) => event.detailType)).toEqual([row.answer]);
    const detail = answers[0]?.detail as {
      error?: { code?: string; message?: string };
      errors?: Array<{ message: string }>;
    };
    const said = detail?.error?.message ?? detail?.errors?.map((error) => error.message).join('; ') ?? '';
    expect(said).toMatch(row.message);
    if (row.code) expect(detail?.error?.code).toBe(row.code);

    const after = await sideEffects();
    expect(after.dgsUploads).toBe(before.dgsUploads);
    expect(after.ppRecords).toBe(before.ppRecords);
    expect(after.keys.filter((key) => !before.keys.includes(key))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Configuration values
// ---------------------------------------------------------------------------------------------

interface ConfigRow {
  input: string;
  load: () => unknown;
  /** Every name the one ConfigError must mention; none of the others. */
  names: string[];
}

const CONFIG_ROWS: ConfigRow[] = [
  {
    input:
      'POLL_BACKOFF_RATE=abc, MAX_FILE_BYTES=6000000000, DGS_API_BASE_URL=not a url, CSV_CHECK=maybe (and a blank UPLOAD_ALLOWED_ORIGINS)',
    load: () =>
      loadSettings({
        POLL_BACKOFF_RATE: 'abc',
        MAX_FILE_BYTES: '6000000000',
        DGS_API_BASE_URL: 'not a url',
        UPLOAD_ALLOWED_ORIGINS: '',
        CSV_CHECK: 'maybe',
      }),
    names: ['POLL_BACKOFF_RATE', 'MAX_FILE_BYTES', 'DGS_API_BASE_URL', 'CSV_CHECK'],
  },
  {
    input: 'UPLOAD_ALLOWED_ORIGINS="," (a list without one origin)',
    load: () => loadSettings({ UPLOAD_ALLOWED_ORIGINS: ' , ' }),
    names: ['UPLOAD_ALLOWED_ORIGINS'],
  },
  {
    input: 'UPLOAD_ALLOWED_ORIGINS with a path that does not end in "/" (it would match /bucket.other/)',
    load: () =>
      loadSettings({
        UPLOAD_ALLOWED_ORIGINS: 'https://s3.ap-southeast-1.amazonaws.com/attachments.data.gov.sg',
      }),
    names: ['UPLOAD_ALLOWED_ORIGINS'],
  },
  {
    input: 'DGS_API_BASE_URL=ftp://… (not http)',
    load: () => loadSettings({ DGS_API_BASE_URL: 'ftp://api-production.data.gov.sg' }),
    names: ['DGS_API_BASE_URL'],
  },
  {
    input: 'DGS_API_BASE_URL=http://… off loopback (the API key would travel in clear)',
    load: () => loadSettings({ DGS_API_BASE_URL: 'http://api-production.data.gov.sg' }),
    names: ['DGS_API_BASE_URL'],
  },
  {
    input: 'MAX_FILE_BYTES=0 and DGS_MAX_ATTEMPTS=1.5',
    load: () => loadSettings({ MAX_FILE_BYTES: '0', DGS_MAX_ATTEMPTS: '1.5' }),
    names: ['MAX_FILE_BYTES', 'DGS_MAX_ATTEMPTS'],
  },
  {
    input: 'the reserved alias "performance" in config/datasets.json',
    load: () => createDatasetDirectory({ aliases: { performance: POPULATION.id } }),
    names: ['performance'],
  },
  {
    input: 'a lookalike alias (Cyrillic "о") in config/datasets.json',
    load: () => createDatasetDirectory({ aliases: { 'resident-p\u043epulation': POPULATION.id } }),
    names: ['resident-p\u043epulation'],
  },
];

describe('configuration values', () => {
  it.each(CONFIG_ROWS)('$input', ({ load, names }) => {
    let thrown: unknown;
    try {
      load();
    } catch (error) {
      thrown = error;
    }
    expect(thrown, 'no ConfigError was thrown').toBeInstanceOf(ConfigError);
    const message = (thrown as Error).message;
    for (const name of names) expect(message).toContain(name);
    expect(message).not.toMatch(STACK_TRACE);
  });

  it('a blank UPLOAD_ALLOWED_ORIGINS means the default list, as README says (never "anywhere")', () => {
    expect(loadSettings({ UPLOAD_ALLOWED_ORIGINS: '' }).UPLOAD_ALLOWED_ORIGINS).toEqual([
      'https://s3.ap-southeast-1.amazonaws.com/attachments.data.gov.sg/',
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// CLI arguments (subprocesses, concurrently)
// ---------------------------------------------------------------------------------------------

/** `node bin/govpub.mjs …` with the pipeline's settings; `undefined` in `env` removes a variable. */
function govpub(
  args: string[],
  env: Record<string, string | undefined> = {},
  input?: string,
): Promise<CliRun> {
  return runGovpub(args, { ...cliEnvironment(pipeline), ...env }, input);
}

interface CliRow {
  input: string;
  args: (files: Record<string, string>) => string[];
  env?: Record<string, string | undefined>;
  stdin?: string;
  code: number;
  /** The one error line. */
  error: RegExp;
}

const ONE_RECORD = '[{"_timestamp":"2024-01-01T00:00:00Z","channel":"cli","count":1}]';

const CLI_ROWS: CliRow[] = [
  {
    input: 'publish without --dataset',
    args: (f) => ['publish', `${f.ok}`, '--replace'],
    code: 2,
    error: /^error: required option '--dataset <id>' not specified$/,
  },
  {
    input: 'publish with both --append and --replace',
    args: (f) => ['publish', `${f.ok}`, '--dataset', POPULATION.alias, '--append', '--replace'],
    code: 2,
    error: /^govpub publish: Choose one of --append and --replace, not both\.$/,
  },
  {
    input: 'publish a missing file',
    args: (f) => ['publish', `${f.dir}/missing.csv`, '--dataset', POPULATION.alias, '--append'],
    code: 2,
    error: /^govpub publish: Cannot read .*missing\.csv \(ENOENT\)\.$/,
  },
  {
    input: 'publish a directory',
    args: (f) => ['publish', `${f.dir}`, '--dataset', POPULATION.alias, '--append'],
    code: 2,
    error: /^govpub publish: .* is not a file\.$/,
  },
  {
    input: 'publish --dataset ../x',
    args: (f) => ['publish', `${f.ok}`, '--dataset', '../x', '--append'],
    code: 2,
    error: /^govpub publish: "\.\.\/x" is not a datasetId .* nor an alias\.$/,
  },
  {
    input: 'publish --dataset with a fullwidth digit',
    args: (f) => ['publish', `${f.ok}`, '--dataset', `d_\uff13${POPULATION.id.slice(3)}`, '--append'],
    code: 2,
    error: /^govpub publish: "d_３.*" is not a datasetId/,
  },
  {
    input: 'an unknown command',
    args: () => ['frobnicate'],
    code: 2,
    error: /^error: unknown command 'frobnicate'$/,
  },
  {
    input: 'publish --wait --timeout abc',
    args: (f) => [
      'publish',
      `${f.ok}`,
      '--dataset',
      POPULATION.alias,
      '--append',
      '--wait',
      '--timeout',
      'abc',
    ],
    code: 2,
    error: /^error: option '--timeout <seconds>' argument 'abc' is invalid\. Not a positive number\.$/,
  },
  {
    input: 'publish with POLL_BACKOFF_RATE=abc in the environment',
    args: (f) => ['publish', `${f.ok}`, '--dataset', POPULATION.alias, '--append'],
    env: { POLL_BACKOFF_RATE: 'abc' },
    code: 2,
    error: /^govpub publish: Invalid configuration: POLL_BACKOFF_RATE: /,
  },
  {
    input: 'publish a 0-byte file',
    args: (f) => ['publish', `${f.empty}`, '--dataset', POPULATION.alias, '--append'],
    code: 4,
    error: /^govpub publish: .*empty\.csv is empty\.$/,
  },
  {
    input: 'publish a file of MAX_FILE_BYTES + 1',
    args: (f) => ['publish', `${f.ok}`, '--dataset', POPULATION.alias, '--append'],
    env: { MAX_FILE_BYTES: String(POPULATION_CSV.length - 1) },
    code: 4,
    error: new RegExp(`is ${POPULATION_CSV.length} bytes, over the ${POPULATION_CSV.length - 1}-byte limit`),
  },
  {
    input: 'whoami without DGS_API_KEY (missing token)',
    args: () => ['whoami'],
    env: { DGS_API_KEY: undefined },
    code: 2,
    error: /^govpub whoami: Set DGS_API_KEY or DGS_API_KEY_PARAMETER\.$/,
  },
  {
    input: 'publish without DGS_API_KEY (missing token)',
    args: (f) => ['publish', `${f.ok}`, '--dataset', POPULATION.alias, '--append'],
    env: { DGS_API_KEY: undefined },
    code: 2,
    error: /^govpub publish: Set DGS_API_KEY or DGS_API_KEY_PARAMETER\.$/,
  },
  {
    input: 'publish with a wrong DGS_API_KEY (wrong token)',
    args: (f) => ['publish', `${f.ok}`, '--dataset', POPULATION.alias, '--append'],
    env: { DGS_API_KEY: 'wrong-key-5d1e' },
    code: 3,
    error: /^govpub publish: data\.gov\.sg refused the API key/,
  },
  {
    input: 'pp send without PP_TOKEN (missing token)',
    args: () => ['pp', 'send', GROUP, TYPE],
    env: { PP_TOKEN: undefined },
    stdin: ONE_RECORD,
    code: 2,
    error: /^govpub pp send: No token is configured for carers-allowance\/transaction-count; set PP_TOKEN/,
  },
  {
    input: 'pp send with a wrong PP_TOKEN (wrong token)',
    args: () => ['pp', 'send', GROUP, TYPE],
    env: { PP_TOKEN: 'wrong-token-91ab' },
    stdin: ONE_RECORD,
    code: 3,
    error: /^govpub pp send: Nothing was stored in .*refused the token \(HTTP 401\)/,
  },
  {
    input: 'pp send 100 000 nested "[" on stdin',
    args: () => ['pp', 'send', GROUP, TYPE],
    stdin: nested(100_000),
    code: 4,
    error:
      /^govpub pp send: 1 problem in 1 of 1 record for carers-allowance\/transaction-count; nothing was sent\.$/,
  },
  {
    input: 'pp send to a data group in upper case',
    args: () => ['pp', 'send', 'Carers', TYPE],
    stdin: '[]',
    code: 2,
    error: /^govpub pp send: The data group and data type are lower-case letters, digits and "-"\.$/,
  },
  {
    input: 'drop without a bucket',
    args: (f) => ['drop', `${f.ok}`, '--dataset', POPULATION.alias, '--append'],
    code: 2,
    error: /^govpub drop: Say which bucket: --bucket or DROP_BUCKET \(or start the local run: npm start\)\.$/,
  },
];

describe('CLI arguments', () => {
  const files: Record<string, string> = {};
  let before: Awaited<ReturnType<typeof sideEffects>>;

  beforeAll(async () => {
    await pipeline.whenIdle();
    before = await sideEffects();
    files.dir = dir;
    files.ok = join(dir, 'ok.csv');
    files.empty = join(dir, 'empty.csv');
    await writeFile(files.ok, POPULATION_CSV);
    await writeFile(files.empty, '');
  });

  describe.concurrent('each exits with its documented code and one sentence, no stack trace', () => {
    it.each(CLI_ROWS)('$input', { timeout: 90_000 }, async (row) => {
      const run = await govpub(row.args(files), row.env, row.stdin);
      expect(run.code, run.stderr).toBe(row.code);
      const lines = run.stderr.trimEnd().split('\n');
      const errorLines = lines.filter((line) => /^(govpub |error: )/.test(line));
      expect(errorLines, run.stderr).toHaveLength(1);
      expect(errorLines[0]).toMatch(row.error);
      // Besides it: commander's usage pointer, hints, and the problems found in the input.
      const others = lines.filter((line) => line !== errorLines[0]);
      // (the records' problems: a heading per record, then its problems indented)
      for (const line of others)
        expect(line).toMatch(/^\(add --help for usage\)$|^ {2}hint: |^record \d+( \(line \d+\))?:$|^ {2}\S/);
      expect(run.stderr).not.toMatch(STACK_TRACE);
      expect(`${run.stdout}${run.stderr}`).not.toMatch(/wrong-key-5d1e|wrong-token-91ab/);
    });
  });

  it('no CLI row sent anything anywhere', async () => {
    const after = await sideEffects();
    expect(after.dgsUploads).toBe(before.dgsUploads);
    expect(after.ppRecords).toBe(before.ppRecords);
    expect(after.keys).toEqual(before.keys);
  });
});
