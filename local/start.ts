/**
 * `npm start`: the whole pipeline on this machine, on loopback only, with no AWS account.
 *   npm start                 real wait times (the first status check comes after 30 s)
 *   npm start -- --fast       every Wait state and retry shortened to FAST_WAIT_MS (default 200 ms)
 *   npm start -- --demo       drops the example files (CSVs and a Performance Platform NDJSON),
 *                             waits for their outcomes, prints the reports and exits 0 only if
 *                             each ended as expected (implies --fast; free ports, so it runs
 *                             beside an `npm start`)
 * LOCAL_S3_PORT and LOCAL_HTTP_PORT (default 4569 and 4570; 0 takes a free one) place the drop
 * bucket and the HTTP API. DGS_API_BASE_URL + DGS_API_KEY publish to a real data.gov.sg instead of
 * the local one.
 */
import { readFileSync } from 'node:fs';
import { removeLocalRun, writeLocalRun } from '../lib/cli/local-run.js';
import { escapeControls } from '../lib/cli/output.js';
import { consoleLog, progressPrinter } from './console-log.js';

const args = new Set(process.argv.slice(2));
const demo = args.has('--demo');
const fast = demo || args.has('--fast');
// The service's JSON logs would drown the readable lines; set POWERTOOLS_LOG_LEVEL to see them.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
// The SDK's advisory about Node 20 (supported here: README, Quick start) is not about this run.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { LOCAL_API_KEY, startLocalPipeline } = await import('./pipeline.js');
const external = Boolean(process.env.DGS_API_BASE_URL);
if (external && !process.env.DGS_API_KEY) {
  process.stderr.write(
    'DGS_API_BASE_URL is set but DGS_API_KEY is not: set both to publish to a real data.gov.sg.\n',
  );
  process.exit(2);
}
const ports = {
  LOCAL_S3_PORT: portSetting('LOCAL_S3_PORT', demo ? 0 : 4569),
  LOCAL_HTTP_PORT: portSetting('LOCAL_HTTP_PORT', demo ? 0 : 4570),
};
const pipeline = await startLocalPipeline({
  env: {
    ...process.env,
    ...(external ? { UPLOAD_ALLOWED_ORIGINS: process.env.UPLOAD_ALLOWED_ORIGINS } : {}),
  },
  s3Port: ports.LOCAL_S3_PORT,
  httpPort: ports.LOCAL_HTTP_PORT,
  ...(fast ? { fastWaitMs: Number(process.env.FAST_WAIT_MS ?? 200) } : {}),
  log: consoleLog(),
  onProgress: progressPrinter(),
  // The template's schedules (the sweep) run as in AWS; the demo waits for its files only.
  runSchedules: !demo,
  onPackage: () =>
    process.stdout.write(
      'Reading the wiring from serverless.yml (serverless package, about 10 s, once per change of it)...\n',
    ),
}).catch((error: unknown) => {
  const port = (error as NodeJS.ErrnoException & { port?: number }).port;
  if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === undefined) throw error;
  const variable = Object.entries(ports).find(([, value]) => value === port)?.[0] ?? 'LOCAL_S3_PORT';
  process.stderr.write(
    `Port ${port} is already in use on 127.0.0.1 (${variable}): another govpub, serverless-s3-local (whose default is also 4569) or another program holds it. Stop that program, or choose another port: ${variable}=<port> npm start (0 takes any free port).\n`,
  );
  process.exit(2);
});

/** `export` lines a person can paste into a shell, one variable a line. */
function cliExports(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([name, value]) => `  export ${name}=${/^[\w@%+=:,./-]+$/.test(value) ? value : `'${value}'`}`)
    .join('\n');
}

/** A port from the environment: an integer from 0 (any free port) to 65535, else exit 2. */
function portSetting(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (Number.isInteger(port) && port >= 0 && port <= 65_535) return port;
  process.stderr.write(`${name} must be a port number from 0 (any free port) to 65535, not "${raw}".\n`);
  process.exit(2);
}

// What the notification rules send to the topic: what its e-mail subscribers would read.
pipeline.sns.onMessage((notification) => {
  let text = notification.message;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'string') text = parsed;
  } catch {
    // Not a JSON string: shown as sent.
  }
  process.stdout.write(`notification (${notification.from}): ${escapeControls(text)}\n`);
});

const s3 = pipeline.localS3.endpoint;
const http = pipeline.httpApi.endpoint;
const pp = pipeline.performancePlatform;
if (demo) {
  process.stdout.write(
    `govpub demo: a local pipeline on free ports with shortened waits; dropping the example files and waiting for their outcomes\n`,
  );
} else {
  process.stdout.write(`govpub is running locally (Ctrl-C to stop)
  drop bucket    s3://${pipeline.bucket} at ${s3} (path-style, access key S3RVER / secret S3RVER)
  HTTP API       ${http} (no auth locally; IAM in AWS)
  data.gov.sg    ${pipeline.dataGovSg ? `${pipeline.dataGovSg.baseUrl} (local stand-in, API key ${LOCAL_API_KEY})` : `${process.env.DGS_API_BASE_URL} (real)`}
  Perf. Platform ${pp ? `${pp.baseUrl} (local write API, data sets in config/performance-platform-local.json)` : `${process.env.PP_BASE_URL} (configured)`}
  waits          ${fast ? `shortened to ${process.env.FAST_WAIT_MS ?? 200} ms` : 'real (first status check after 30 s)'}
  wiring         serverless.yml's routes, rules, schedules and time limits (read from its packaged template)
  notifications  printed here as the topic's e-mail subscribers would read them

Publish a CSV (any S3 client works, or the govpub CLI, which finds this run's bucket on its own):
  npx govpub drop examples/resident-population.csv --dataset resident-population --replace
  AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER aws --endpoint-url ${s3} \\
    s3 cp examples/resident-population.csv s3://${pipeline.bucket}/incoming/resident-population/replace/resident-population.csv
The govpub CLI against this local run (pp send also needs PP_TOKEN, from config/performance-platform-local.json):
${cliExports(pipeline.cliEnvironment())}
Ask for an upload link, or look at a dataset:
  curl -s -X POST -H 'content-type: application/json' -d '{"mode":"replace"}' ${http}/datasets/resident-population/uploads
  curl -s ${http}/datasets/resident-population
Forward records to the Performance Platform:
  curl -s -X POST -H 'content-type: application/json' -d '[{"_timestamp":"2024-01-01T00:00:00Z","count":1}]' ${http}/performance/carers-allowance/transaction-count
See what became of each file (processed/, failed/ or unconfirmed/, a .report.json beside it):
  npx govpub reports                  newest first; --failed, --dataset D, --since 24h narrow it
  npx govpub report <report key>      one report, readable; --json for scripts

`);
}

if (!demo) {
  // For the govpub CLI to find this run (endpoints only, no secret); removed when it stops.
  writeLocalRun({
    pid: process.pid,
    bucket: pipeline.bucket,
    s3Endpoint: s3,
    dataGovSgIsLocal: pipeline.dataGovSg !== undefined,
    startedAt: new Date().toISOString(),
  });
  process.on('exit', () => removeLocalRun(process.pid));
}

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
