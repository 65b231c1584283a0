import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbClient } from '../../lib/aws-clients/dynamodb.js';
import { DynamoDatasetLock } from '../../lib/dataset-lock.js';
import { localDynamoClientConfig } from '../../local/aws/dynamodb.js';
import { SAMPLE_DATASETS, startLocalDataGovSg } from '../../local/datagovsg/server.js';
import { LOCAL_API_KEY, LOCAL_TABLE, type LocalPipeline } from '../../local/pipeline.js';
import { type CliRun, cliEnvironment, runGovpub } from './govpub-cli.js';
import {
  EXPENDITURE,
  outcomeOf,
  POPULATION,
  POPULATION_CSV,
  startFastPipeline,
  TRANSACTIONS,
} from './support.js';

const GROUP = 'carers-allowance';
const TYPE = 'transaction-count';
const BAD_CSV = 'year,sex,population\n2023,female,2100000\n2023,male,lots\n';

let pipeline: LocalPipeline;
let dir: string;
/** A port nothing listens on, and a server that accepts connections and never answers. */
let closedPort: number;
let silent: Server;
const held = new Set<Socket>();

/** `node bin/govpub.mjs …` with the local pipeline's settings, overridden by `env`. */
function govpub(args: string[], env: Record<string, string> = {}, input?: string): Promise<CliRun> {
  return runGovpub(args, { ...cliEnvironment(pipeline), ...env }, input);
}

async function file(name: string, content: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

function records(count: number, from = 0) {
  return Array.from({ length: count }, (_, i) => ({
    _timestamp: `2024-01-${String(((from + i) % 28) + 1).padStart(2, '0')}T00:00:00Z`,
    channel: `channel_${from + i}`,
    count: from + i,
  }));
}

beforeAll(async () => {
  pipeline = await startFastPipeline();
  dir = await mkdtemp(join(tmpdir(), 'govpub-cli-'));
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  closedPort = (probe.address() as { port: number }).port;
  probe.close();
  silent = createServer((socket) => {
    held.add(socket);
    socket.on('close', () => held.delete(socket));
  });
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
});

afterAll(async () => {
  for (const socket of held) socket.destroy();
  silent?.close();
  await pipeline?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const silentUrl = () => `http://127.0.0.1:${(silent.address() as { port: number }).port}`;

// The four groups run at once (each runs its commands in order where order matters): the file
// stays well under a minute although each subprocess loads the TypeScript sources through tsx.
describe.concurrent('govpub, run as a subprocess', { timeout: 90_000 }, () => {
  it('whoami gives the hints that fit the failure: a missing key, an unreachable API', async () => {
    const [missing, unreachable] = await Promise.all([
      govpub(['whoami'], { DGS_API_KEY: '', DGS_API_KEY_PARAMETER: '' }),
      govpub(['whoami'], { DGS_API_BASE_URL: 'http://127.0.0.1:1' }),
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/hint: Set DGS_API_KEY to your data\.gov\.sg API key/);
    expect(missing.stderr).not.toMatch(/internet|expired/);
    expect(unreachable.code).toBe(6);
    expect(unreachable.stderr).toMatch(/hint: Check the internet connection to http:\/\/127\.0\.0\.1:1/);
    expect(unreachable.stderr).not.toMatch(/expired|regenerate/);
  });

  it('refuses a base URL with a user name or password in it, before any request, and never prints the password', async () => {
    const [dgs, pp] = await Promise.all([
      govpub(['whoami'], { DGS_API_BASE_URL: 'https://agency:hunter2-not-a-key@api-staging.data.gov.sg' }),
      govpub(
        ['pp', 'send', 'carers-allowance', 'transaction-count'],
        {
          PP_BASE_URL: 'https://agency:hunter2-not-a-key@performance.example',
          PP_TOKEN: 'x',
        },
        '[]',
      ),
    ]);
    for (const [run, setting] of [
      [dgs, 'DGS_API_BASE_URL'],
      [pp, 'PP_BASE_URL'],
    ] as const) {
      expect(run.code, `${setting}: ${run.stderr}`).toBe(2);
      expect(run.stderr).toContain(`${setting}: must not hold a user name or password`);
      expect(`${run.stdout}${run.stderr}`).not.toContain('hunter2');
    }
  });

  it('validate says what it could not check, and checks offline against a columns file', async () => {
    const offline = { DGS_API_BASE_URL: 'http://127.0.0.1:1', DGS_MAX_ATTEMPTS: '1' };
    const metadata = await (
      await fetch(`${pipeline.dataGovSg?.baseUrl}/v2/public/api/datasets/${POPULATION.id}/metadata`)
    ).text();
    const [good, bad, saved, names, unrelated, broken] = await Promise.all([
      file('good-offline.csv', POPULATION_CSV),
      file('bad-offline.csv', BAD_CSV),
      file('metadata.json', metadata),
      file('names.txt', 'year\nsex\npopulation\n'),
      file('unrelated.json', '["ministry", "amount"]'),
      file('broken.json', '{"columns": 1}'),
    ]);
    const [unchecked, numeric, listed, differs, refused, sampleOnStaging] = await Promise.all([
      govpub(['validate', good, '--dataset', POPULATION.alias], offline),
      govpub(['validate', bad, '--dataset', POPULATION.alias, '--columns', saved], offline),
      govpub(['validate', good, '--dataset', POPULATION.alias, '--columns', names, '--json'], offline),
      govpub(['validate', good, '--dataset', POPULATION.alias, '--columns', unrelated], offline),
      govpub(['validate', good, '--dataset', POPULATION.alias, '--columns', broken], offline),
      govpub(['validate', good, '--dataset', POPULATION.alias], {
        DGS_API_BASE_URL: 'https://api-staging.data.gov.sg',
      }),
    ]);
    // A local bucket does not make the status, which comes from data.gov.sg, a sample's.
    const statusOnStaging = await govpub(
      ['status', POPULATION.alias, '--bucket', pipeline.bucket, '--endpoint', pipeline.localS3.endpoint],
      { DGS_API_BASE_URL: 'https://api-staging.data.gov.sg' },
    );
    expect(statusOnStaging.code).toBe(2);
    expect(statusOnStaging.stderr).toContain('is not a known dataset alias');
    // The stand-in's sample alias never names a dataset on data.gov.sg.
    expect(sampleOnStaging.code).toBe(2);
    expect(sampleOnStaging.stderr).toContain(
      `"${POPULATION.alias}" is not a known dataset alias; add it to config/datasets.json or use the datasetId.`,
    );
    expect(sampleOnStaging.stderr).toMatch(
      /hint: .*sample of the local stand-in \(config\/datasets-local\.json\)/,
    );
    // Not a pass: the header and NUMERIC values need the dataset's columns.
    expect(unchecked.code, unchecked.stderr).toBe(8);
    expect(unchecked.stderr).toMatch(
      /no problem in what could be checked .*header and NUMERIC values were not checked/,
    );
    expect(unchecked.stderr).toContain('--columns FILE');
    expect(unchecked.stdout).not.toMatch(/passes/);
    // The saved metadata says population is NUMERIC: "lots" is found without data.gov.sg.
    expect(numeric.code, numeric.stderr).toBe(4);
    expect(numeric.stdout + numeric.stderr).toMatch(
      /row 3, column "population": must be a number \(NUMERIC\), not "lots"/,
    );
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject({
      ok: true,
      check: { metadata: 'compared', passed: true },
    });
    expect(differs.code).toBe(4);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/not what the metadata endpoint answers/);
  });

  it('prints what a file holds with its control characters escaped: an escape sequence cannot steer the terminal', async () => {
    const path = await file(
      'escape.csv',
      'year,\u001b[2J\u001b]0;owned\u0007sex,population\n2023,female,1\n',
    );
    const run = await govpub(['validate', path, '--dataset', POPULATION.alias, '--append']);
    expect(run.code).toBe(4);
    const printed = run.stdout + run.stderr;
    expect(printed).toContain('\\x1b[2J\\x1b]0;owned\\x07sex');
    expect(printed).not.toContain('\u001b');
    expect(printed).not.toContain('\u0007');
  });

  it("publish takes the pipeline's lock when LOCK_TABLE_NAME is set: a dataset the pipeline holds is refused, exit 5, nothing sent", async () => {
    const functionEnv = pipeline.uploadFunctionEnvironment();
    const lockEnv = {
      LOCK_TABLE_NAME: LOCAL_TABLE,
      AWS_REGION: functionEnv.AWS_REGION ?? '',
      AWS_ACCESS_KEY_ID: 'local-test-key-id',
      AWS_SECRET_ACCESS_KEY: 'local-test-secret-7f3a',
      AWS_ENDPOINT_URL_DYNAMODB: functionEnv.AWS_ENDPOINT_URL_DYNAMODB ?? '',
    };
    const lock = new DynamoDatasetLock(
      createDynamoDbClient(localDynamoClientConfig(lockEnv.AWS_ENDPOINT_URL_DYNAMODB)),
      LOCAL_TABLE,
    );
    const csv = 'month,service,transactions,digital_share_pct\n2024-01,passport,1200,88.5\n';
    const path = await file('transactions.csv', csv);
    const uploadsBefore = pipeline.dataGovSg?.uploads(TRANSACTIONS.id).length ?? 0;
    // The pipeline holds the dataset for a file of its own.
    const held = await lock.acquire(TRANSACTIONS.id, 60_000);
    if (!held.acquired) throw new Error('the test could not take the lock');
    await lock.update(TRANSACTIONS.id, held.token, {
      phase: 'uploading',
      holderKey: `incoming/${TRANSACTIONS.alias}/append/theirs.csv`,
      leaseMs: 60_000,
    });
    const refused = await govpub(['publish', path, '--dataset', TRANSACTIONS.alias, '--append'], lockEnv);
    expect(refused.code, refused.stderr).toBe(5);
    expect(refused.stderr).toContain(
      `govpub publish: ${TRANSACTIONS.id} is busy: the pipeline is publishing incoming/${TRANSACTIONS.alias}/append/theirs.csv`,
    );
    expect(pipeline.dataGovSg?.uploads(TRANSACTIONS.id).length ?? 0).toBe(uploadsBefore);
    // Once the pipeline is done, the CLI takes the lock for its send and gives it back.
    await lock.release(TRANSACTIONS.id, held.token);
    const sent = await govpub(
      ['publish', path, '--dataset', TRANSACTIONS.alias, '--append', '--wait'],
      lockEnv,
    );
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stderr).toContain(`Holding ${TRANSACTIONS.id} in the pipeline's lock table (${LOCAL_TABLE})`);
    expect(sent.stderr + refused.stderr).not.toMatch(/NodeVersionSupportWarning/);
    expect(pipeline.dataGovSg?.uploads(TRANSACTIONS.id).length ?? 0).toBe(uploadsBefore + 1);
    expect(await lock.get(TRANSACTIONS.id)).toBeUndefined();
  });

  it('documents the commands and exit codes; whoami; validate; usage errors exit 2', async () => {
    const [help, fromSource, noMode, unknown, ok, refused, good, bad] = await Promise.all([
      govpub(['--help']),
      // The TypeScript through tsx, as a checkout without the bundle runs it.
      govpub(['--help'], { GOVPUB_CLI_FROM_SOURCE: '1' }),
      govpub(['publish', 'x.csv', '--dataset', POPULATION.alias]),
      govpub(['status', 'no-such-alias']),
      govpub(['whoami', '--json']),
      govpub(['whoami'], { DGS_API_KEY: 'not-the-key-4f9a2c' }),
      file('good.csv', POPULATION_CSV).then((path) =>
        govpub(['validate', path, '--dataset', POPULATION.alias]),
      ),
      file('bad-validate.csv', BAD_CSV).then((path) =>
        govpub(['validate', path, '--dataset', POPULATION.id, '--replace', '--json']),
      ),
    ]);
    expect(help.code).toBe(0);
    // The bundle npm ci builds is this checkout's code.
    expect(fromSource.code).toBe(0);
    expect(help.stdout).toBe(fromSource.stdout);
    for (const command of ['whoami', 'publish', 'status', 'validate', 'pp', 'drop', 'reports', 'report']) {
      expect(help.stdout).toContain(command);
    }
    expect(help.stdout).toMatch(/Exit codes:[\s\S]*7 {2}timeout/);
    expect(noMode.code).toBe(2);
    expect(noMode.stderr.trim().split('\n')).toEqual([
      'govpub publish: Say how to publish: --append adds the rows, --replace replaces the whole dataset.',
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/not a known dataset alias/);

    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, command: 'whoami', userId: expect.any(String) });
    expect(ok.stdout + ok.stderr).not.toContain(LOCAL_API_KEY);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/^govpub whoami: data\.gov\.sg refused the API key/);
    expect(refused.stderr).toMatch(/hint: Check the API URL: .*staging/);
    expect(refused.stderr).toMatch(/hint: .*regenerate it/);
    // A refused key is not a connection problem.
    expect(refused.stderr).not.toMatch(/internet/);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
    expect(refused.stdout + refused.stderr).not.toContain('not-the-key-4f9a2c');

    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toMatch(/passes the check for append to d_3c55/);
    expect(bad.code).toBe(4);
    expect(bad.stderr).toContain('row 3, column "population": must be a number (NUMERIC), not "lots".');
    expect(JSON.parse(bad.stdout)).toMatchObject({
      ok: false,
      exitCode: 4,
      check: { passed: false, errors: 1 },
    });
  });

  it('publish --replace --wait to Ingestion Success, status, then a bad CSV that is never sent', async () => {
    const run = await govpub([
      'publish',
      await file('population.csv', POPULATION_CSV),
      '--dataset',
      POPULATION.alias,
      '--replace',
      '--wait',
      '--poll-interval-ms',
      '20',
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/upload 100%/);
    expect(run.stderr).toMatch(/status {2}Ingestion Success {2}\(version/);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({
      ok: true,
      outcome: 'published',
      datasetId: POPULATION.id,
      mode: 'replace',
      size: POPULATION_CSV.length,
      check: { passed: true },
      finalStatus: { status: 'INGESTION_SUCCESS' },
    });
    expect(result.statuses.at(-1)).toMatchObject({ status: 'INGESTION_SUCCESS', ofThisUpload: true });
    const uploads = pipeline.dataGovSg?.uploads(POPULATION.id) ?? [];
    expect(uploads).toHaveLength(1);
    expect(uploads[0]?.md5Hex).toBe(result.md5);

    const status = await govpub(['status', POPULATION.alias]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/status {6}Ingestion Success/);
    expect(status.stdout).toMatch(/updated at {2}.+\(\d{4}-\d\d-\d\dT[\d:.]+Z\)/);
    expect(status.stdout).toMatch(/failures {4}none/);

    const before = pipeline.dataGovSg?.requests().length ?? 0;
    const bad = await govpub([
      'publish',
      await file('bad.csv', BAD_CSV),
      '--dataset',
      POPULATION.alias,
      '--append',
    ]);
    expect(bad.code).toBe(4);
    expect(bad.stderr).toContain('row 3, column "population"');
    expect(bad.stderr).toMatch(
      /govpub publish: .*bad\.csv has 1 CSV error\(s\) and was not sent to data\.gov\.sg\./,
    );
    const asked = (pipeline.dataGovSg?.requests() ?? [])
      .slice(before)
      .map((request) => request.path)
      .filter((path) => path.includes(POPULATION.id));
    expect(asked).toEqual([expect.stringMatching(/\/public\/api\/datasets\/d_\w+\/metadata$/)]);
    expect(pipeline.dataGovSg?.uploads(POPULATION.id)).toHaveLength(1);
  });

  it('publish --wait: exit 4 on Validation Failed, 7 at the deadline; drop puts the file under the right key', async () => {
    const dgs = pipeline.dataGovSg;
    if (!dgs) throw new Error('no local data.gov.sg');
    dgs.script(EXPENDITURE.id, ['validation-failed']);
    // A data.gov.sg that takes a minute per step, for the deadline.
    const slow = await startLocalDataGovSg({
      apiKeys: [LOCAL_API_KEY],
      datasets: SAMPLE_DATASETS,
      stepDelayMs: 60_000,
    });
    try {
      const expenditure = 'financial_year,ministry,expenditure_sgd_million\n2023,MOF,1.5\n';
      const transactions = 'month,service,transactions,digital_share_pct\n2024-01,renewal,10,99.5\n';
      const [failed, late] = await Promise.all([
        file('expenditure.csv', expenditure).then((path) =>
          govpub(['publish', path, '--dataset', EXPENDITURE.id, '--replace', '--wait'], {
            POLL_FIRST_WAIT_SECONDS: '1',
          }),
        ),
        file('transactions.csv', transactions).then((path) =>
          govpub(
            [
              'publish',
              path,
              '--dataset',
              TRANSACTIONS.alias,
              '--append',
              '--wait',
              '--timeout',
              '0.5',
              '--poll-interval-ms',
              '50',
            ],
            { DGS_API_BASE_URL: slow.baseUrl, UPLOAD_ALLOWED_ORIGINS: slow.uploadOrigin },
          ),
        ),
      ]);
      expect(failed.code, failed.stderr).toBe(4);
      expect(failed.stdout).toMatch(/status {2}Validation Failed/);
      expect(failed.stderr).toMatch(/govpub publish: data\.gov\.sg answered Validation Failed/);
      expect(late.code, late.stderr).toBe(7);
      expect(late.stderr).toMatch(
        /had not finished ingesting within 0\.5 s .*govpub status online-transactions/,
      );
    } finally {
      await slow.close();
    }

    const csv = 'financial_year,ministry,expenditure_sgd_million\n2024,MOF,2.5\n';
    const [dropped, notCsv] = await Promise.all([
      file('fy2024.csv', csv).then((path) =>
        govpub(
          [
            'drop',
            path,
            '--dataset',
            EXPENDITURE.alias,
            '--append',
            '--endpoint',
            pipeline.localS3.endpoint,
            '--json',
          ],
          { DROP_BUCKET: pipeline.bucket },
        ),
      ),
      file('notes.txt', 'x').then((path) =>
        govpub(['drop', path, '--dataset', EXPENDITURE.alias, '--append', '--bucket', 'b']),
      ),
    ]);
    expect(dropped.code, dropped.stderr).toBe(0);
    const key = 'incoming/operating-expenditure/append/fy2024.csv';
    expect(JSON.parse(dropped.stdout)).toMatchObject({
      ok: true,
      bucket: pipeline.bucket,
      key,
      size: csv.length,
    });
    await pipeline.whenIdle();
    expect(await outcomeOf(pipeline, key)).toMatchObject({
      outcome: 'published',
      sourceKey: key,
      mode: 'append',
      size: csv.length,
    });
    expect(notCsv.code).toBe(2);
    expect(notCsv.stderr).toMatch(/Only \.csv files can be published/);

    // status lists the dataset's filed outcomes, each at its own stamped key.
    const filed = await govpub(['status', EXPENDITURE.alias, '--endpoint', pipeline.localS3.endpoint], {
      DROP_BUCKET: pipeline.bucket,
    });
    expect(filed.code, filed.stderr).toBe(0);
    expect(filed.stdout).toMatch(
      /published {3}processed\/operating-expenditure\/append\/fy2024\.\d{8}T\d{6}Z-[0-9a-f]{8}\.csv\n/,
    );
    const asJson = await govpub(
      [
        'status',
        EXPENDITURE.alias,
        '--endpoint',
        pipeline.localS3.endpoint,
        '--bucket',
        pipeline.bucket,
        '--json',
      ],
      {},
    );
    expect(JSON.parse(asJson.stdout).outcomes).toEqual([
      expect.objectContaining({
        outcome: 'published',
        sourceKey: key,
        reportKey: expect.stringMatching(/\.report\.json$/),
      }),
    ]);
  });

  it('reports lists what was not published, report shows one with its CSV problems; a missing report exits 5', async () => {
    const key = 'incoming/resident-population/replace/reports-bad.csv';
    await pipeline.drop(key, BAD_CSV);
    await pipeline.whenIdle();
    const where = ['--bucket', pipeline.bucket, '--endpoint', pipeline.localS3.endpoint];
    const listed = await govpub([
      'reports',
      '--failed',
      '--dataset',
      POPULATION.alias,
      '--since',
      '1h',
      ...where,
    ]);
    expect(listed.code, listed.stderr).toBe(0);
    const line = new RegExp(
      `failed\\s+resident-population\\s+CSV_INVALID\\s+${key.replaceAll('/', '\\/').replaceAll('.', '\\.')}\\n {2}(failed\\/\\S+\\.report\\.json)\\n`,
    );
    expect(listed.stdout).toMatch(line);
    expect(listed.stdout).not.toMatch(/^\S+\s+published/m);
    const reportKey = line.exec(listed.stdout)?.[1] ?? '';
    const [shown, asJson, missing, badSince] = await Promise.all([
      govpub(['report', `s3://${pipeline.bucket}/${reportKey}`, '--endpoint', pipeline.localS3.endpoint]),
      govpub(['reports', '--failed', '--limit', '1', '--json', ...where]),
      govpub(['report', 'failed/resident-population/replace/none.csv', ...where]),
      govpub(['reports', '--since', 'yesterday', ...where]),
    ]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/^outcome {6}failed \(CSV_INVALID\)$/m);
    expect(shown.stdout).toMatch(/^CSV check {4}failed: 2 rows, 1 error, 0 warnings$/m);
    expect(shown.stdout).toMatch(
      /^ {2}error {4}row 3, column "population": must be a number \(NUMERIC\), not "lots"/m,
    );
    expect(shown.stdout).toMatch(/^dropped by {3}AWS:LOCAL-DEVELOPER$/m);
    expect(shown.stdout).toContain(`report       ${reportKey}`);
    const json = JSON.parse(asJson.stdout);
    expect(json).toMatchObject({ ok: true, command: 'reports', bucket: pipeline.bucket });
    expect(json.reports).toHaveLength(1);
    expect(json.total).toBeGreaterThanOrEqual(1);
    expect(missing.code).toBe(5);
    expect(missing.stderr).toContain(
      `govpub report: There is no report at s3://${pipeline.bucket}/failed/resident-population/replace/none.csv.report.json.`,
    );
    expect(missing.stderr).toContain('hint: govpub reports lists');
    expect(badSince.code).toBe(2);
    expect(badSince.stderr).toMatch(/--since takes a duration \(30m, 24h, 7d\) or a date/);
  });

  it('pp send from a file and from stdin, pp empty; exit 4, 3, 6 and 7 for invalid records, a refused token, no connection, no answer', async () => {
    const pp = pipeline.performancePlatform;
    if (!pp) throw new Error('no local Performance Platform');
    const ndjson = records(2, 10)
      .map((record) => JSON.stringify(record))
      .join('\n');
    const one = JSON.stringify(records(1, 20));
    const [fromFile, fromStdin, invalid, refused, unreachable, timedOut] = await Promise.all([
      file('records.json', JSON.stringify(records(3))).then((path) =>
        govpub(['pp', 'send', GROUP, TYPE, path]),
      ),
      govpub(['pp', 'send', GROUP, TYPE, '--ndjson', '--json'], {}, ndjson),
      govpub(['pp', 'send', GROUP, TYPE, '-'], {}, JSON.stringify([{ 'bad key': 1 }])),
      govpub(['pp', 'send', GROUP, TYPE], { PP_TOKEN: 'wrong-token-7c1e' }, one),
      govpub(
        ['pp', 'send', GROUP, TYPE],
        { PP_BASE_URL: `http://127.0.0.1:${closedPort}`, PP_MAX_ATTEMPTS: '2' },
        one,
      ),
      govpub(['pp', 'empty', GROUP, TYPE, '--json'], {
        PP_BASE_URL: silentUrl(),
        PP_REQUEST_TIMEOUT_MS: '300',
        PP_MAX_ATTEMPTS: '1',
      }),
    ]);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(fromFile.stdout).toMatch(/Forwarded 3 record\(s\) to carers-allowance\/transaction-count/);
    expect(fromStdin.code, fromStdin.stderr).toBe(0);
    expect(JSON.parse(fromStdin.stdout)).toMatchObject({ ok: true, outcome: 'forwarded', records: 2 });
    expect(await pp.records(GROUP, TYPE)).toHaveLength(5);

    expect(invalid.code).toBe(4);
    expect(invalid.stderr).toMatch(
      /^record 0:\n {2}_timestamp is missing\n {2}"bad key" is not a valid field name/,
    );
    expect(invalid.stderr).toMatch(
      /2 problems in 1 of 1 record for carers-allowance\/transaction-count; nothing was sent/,
    );
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/^govpub pp send: Nothing was stored in .*refused the token/);
    expect(refused.stdout + refused.stderr).not.toContain('wrong-token-7c1e');
    expect(unreachable.code).toBe(6);
    expect(unreachable.stderr).toMatch(/could not be reached \(ECONNREFUSED\)/);
    expect(timedOut.code).toBe(7);
    expect(JSON.parse(timedOut.stdout)).toMatchObject({ ok: false, exitCode: 7, attempts: 1 });

    const emptied = await govpub(['pp', 'empty', GROUP, TYPE]);
    expect(emptied.code, emptied.stderr).toBe(0);
    expect(emptied.stdout).toMatch(/now holds 0 records/);
    expect(await pp.records(GROUP, TYPE)).toHaveLength(0);
  });

  it('pp send lists invalid records for people, grouped by record, with the counts, and exits 4', async () => {
    // Prepare: three of four records invalid, one of them twice.
    const [group, type] = ['vehicle-licensing', 'transactions-by-channel'] as const;
    const env = { PP_TOKEN: 'local-pp-token-vehicle-licensing' };
    const path = await file(
      'four-records.json',
      JSON.stringify([
        { channel: 'online', count: 3, period: 'week' },
        { _timestamp: '2024-13-01', channel: 'online', count: 1 },
        { _timestamp: '2024-01-01T00:00:00Z', channel: 'post', count: '12', period: 'fortnight' },
        { _timestamp: '2024-01-02T00:00:00Z', channel: 'phone', count: 2 },
      ]),
    );

    // Act
    const [people, scripts] = await Promise.all([
      govpub(['pp', 'send', group, type, path], env),
      govpub(['pp', 'send', group, type, path, '--json'], env),
    ]);

    // Assess: one plain line per problem under its record, then the counts; backdrop's texts in --json.
    expect(people.code).toBe(4);
    expect(people.stdout).toBe('');
    expect(people.stderr).toBe(
      [
        'record 0:',
        '  _timestamp is missing',
        'record 1:',
        '  _timestamp "2024-13-01" is not a date and time such as 2024-01-31T00:00:00Z',
        'record 2:',
        '  count should be a whole number, not the text "12"',
        '  period should be one of hour, day, week, month, year, decade or century, not the text "fortnight"',
        'govpub pp send: 4 problems in 3 of 4 records for vehicle-licensing/transactions-by-channel; nothing was sent.',
        '',
      ].join('\n'),
    );
    expect(scripts.code).toBe(4);
    const json = JSON.parse(scripts.stdout) as Record<string, unknown>;
    expect(json).toMatchObject({
      ok: false,
      exitCode: 4,
      outcome: 'invalid',
      records: 4,
      errorCount: 4,
      recordsWithProblems: 3,
      errors: [
        {
          index: 0,
          field: '_timestamp',
          code: 'REQUIRED',
          message: '_timestamp is missing',
          backdropMessage: "u'_timestamp' is a required property",
        },
        {
          index: 1,
          field: '_timestamp',
          code: 'NOT_DATE_TIME',
          backdropMessage: "'2024-13-01' is not a u'date-time'",
        },
        { index: 2, field: 'count', code: 'WRONG_TYPE', backdropMessage: "'12' is not of type u'integer'" },
        { index: 2, field: 'period', code: 'NOT_ONE_OF' },
      ],
    });
    expect(json.errors).toHaveLength(4);
    expect(await pipeline.performancePlatform?.records(group, type)).toEqual([]);
  });
});
