/**
 * `npm start`: the whole pipeline on this machine, on loopback only, with no AWS account.
 *   npm start                 real wait times (the first status check comes after 30 s)
 *   npm start -- --fast       every Wait state and retry shortened to FAST_WAIT_MS (default 200 ms)
 *   npm start -- --demo       drops the example files (CSVs and a Performance Platform NDJSON),
 *                             waits for their outcomes, prints the reports and exits 0 only if
 *                             each ended as expected (implies --fast)
 * DGS_API_BASE_URL + DGS_API_KEY publish to a real data.gov.sg instead of the local one.
 */
import { readFileSync } from 'node:fs';
import { consoleLog, progressPrinter } from './console-log.js';

const args = new Set(process.argv.slice(2));
const demo = args.has('--demo');
const fast = demo || args.has('--fast');
// The service's JSON logs would drown the readable lines; set POWERTOOLS_LOG_LEVEL to see them.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';

const { LOCAL_API_KEY, startLocalPipeline } = await import('./pipeline.js');
const external = Boolean(process.env.DGS_API_BASE_URL);
if (external && !process.env.DGS_API_KEY) {
  process.stderr.write(
    'DGS_API_BASE_URL is set but DGS_API_KEY is not: set both to publish to a real data.gov.sg.\n',
  );
  process.exit(2);
}
const pipeline = await startLocalPipeline({
  env: {
    ...process.env,
    ...(external ? { UPLOAD_ALLOWED_ORIGINS: process.env.UPLOAD_ALLOWED_ORIGINS } : {}),
  },
  s3Port: Number(process.env.LOCAL_S3_PORT ?? 4569),
  httpPort: Number(process.env.LOCAL_HTTP_PORT ?? 4570),
  ...(fast ? { fastWaitMs: Number(process.env.FAST_WAIT_MS ?? 200) } : {}),
  log: consoleLog(),
  onProgress: progressPrinter(),
});

const s3 = pipeline.localS3.endpoint;
const http = pipeline.httpApi.endpoint;
const pp = pipeline.performancePlatform;
process.stdout.write(`govpub is running locally (Ctrl-C to stop)
  drop bucket    s3://${pipeline.bucket} at ${s3} (path-style, access key S3RVER / secret S3RVER)
  HTTP API       ${http} (no auth locally; IAM in AWS)
  data.gov.sg    ${pipeline.dataGovSg ? `${pipeline.dataGovSg.baseUrl} (local stand-in, API key ${LOCAL_API_KEY})` : `${process.env.DGS_API_BASE_URL} (real)`}
  Perf. Platform ${pp ? `${pp.baseUrl} (local write API, data sets in config/performance-platform-local.json)` : `${process.env.PP_BASE_URL} (configured)`}
  waits          ${fast ? `shortened to ${process.env.FAST_WAIT_MS ?? 200} ms` : 'real (first status check after 30 s)'}

Publish a CSV (any S3 client works, or the govpub CLI):
  DROP_BUCKET=${pipeline.bucket} npx govpub drop examples/resident-population.csv --dataset resident-population --replace --endpoint ${s3}
  AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER aws --endpoint-url ${s3} \\
    s3 cp examples/resident-population.csv s3://${pipeline.bucket}/incoming/resident-population/replace/resident-population.csv
Ask for an upload link, or look at a dataset:
  curl -s -X POST -H 'content-type: application/json' -d '{"mode":"replace"}' ${http}/datasets/resident-population/uploads
  curl -s ${http}/datasets/resident-population
Forward records to the Performance Platform:
  curl -s -X POST -H 'content-type: application/json' -d '[{"_timestamp":"2024-01-01T00:00:00Z","count":1}]' ${http}/performance/carers-allowance/transaction-count
Then look in processed/, failed/ or unconfirmed/ for each file and its .report.json.

`);

if (demo) {
  const expected = [
    [
      'incoming/resident-population/replace/resident-population.csv',
      'examples/resident-population.csv',
      'published',
    ],
    [
      'incoming/operating-expenditure/append/fy2024.csv',
      'examples/operating-expenditure-fy2024.csv',
      'published',
    ],
    [
      'incoming/no-such-dataset/replace/resident-population.csv',
      'examples/resident-population.csv',
      'failed',
    ],
    [
      'incoming/performance/carers-allowance/transaction-count/daily.ndjson',
      'examples/carers-allowance-transactions.ndjson',
      'forwarded',
    ],
  ] as const;
  for (const [key, file] of expected) await pipeline.drop(key, readFileSync(file));
  await pipeline.whenIdle();
  let allAsExpected = true;
  for (const [key, , outcome] of expected) {
    const report = (await pipeline.outcomes(key)).at(-1);
    // Both report shapes (CSV publication, forwarded records) carry `outcome`.
    const got = (report as { outcome?: string } | undefined)?.outcome;
    const ok = got === outcome;
    allAsExpected &&= ok;
    process.stdout.write(`\n${ok ? 'as expected' : 'UNEXPECTED'}: ${key} -> ${got ?? 'no report'}\n`);
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  }
  await pipeline.close();
  process.exit(allAsExpected ? 0 : 1);
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nstopping...\n');
    pipeline.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`failed to stop cleanly: ${String(error)}\n`);
        process.exit(1);
      },
    );
  });
}
