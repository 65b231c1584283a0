import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../lib/aws-clients/s3.js';
import { localS3ClientConfig } from '../../local/aws/s3.js';
import { localPpDataSets } from '../../local/pipeline.js';
import { exposeToScan, testSecret } from '../leak-scan.js';
import { runGovpub } from './govpub-cli.js';

const START = ['--import', 'tsx', 'local/start.ts'];
const ENV = {
  ...process.env,
  LOCAL_S3_PORT: '0',
  LOCAL_HTTP_PORT: '0',
  FAST_WAIT_MS: '20',
  DGS_API_BASE_URL: '',
  DGS_API_KEY: '',
  PP_BASE_URL: '',
};
/** Where the running npm start tells the CLI about itself; this test's own, never a developer's. */
const LOCAL_RUN_FILE = join(mkdtempSync(join(tmpdir(), 'govpub-local-run-')), 'local-run.json');

// What the local run prints is scanned for secrets. Its banner shows the local data.gov.sg key on
// purpose (a user needs it); the write API's tokens must never be printed.
beforeAll(() => {
  for (const dataSet of localPpDataSets()) testSecret(dataSet.bearerToken);
});

/** Resolves with the first stdout match of `pattern`, failing after `ms`. */
function waitForOutput(child: ChildProcess, pattern: RegExp, ms: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${ms} ms; output:\n${seen}`)), ms);
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const match = seen.match(pattern);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    });
  });
}

/** Holds a port on 127.0.0.1 (0: a free one), as another program would; undefined if it is taken. */
async function holdPort(port: number): Promise<(Server & { port: number }) | undefined> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () =>
      resolve(Object.assign(server, { port: (server.address() as { port: number }).port })),
    );
  });
}

/** Runs the local run to its end: its exit code and output. */
function runToEnd(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [...START, ...args], { env, timeout: 90_000 }, (_, out, err) => {
      exposeToScan(`local run ${args.join(' ')} stdout`, out);
      exposeToScan(`local run ${args.join(' ')} stderr`, err);
      resolve({ code: child.exitCode, stdout: out, stderr: err });
    });
  });
}

describe('the local run (npm start)', () => {
  it('runs the demo on free ports beside a running npm start: publishes the examples, files the bad one, prints the reports, exits 0', async () => {
    // npm start's default ports, held as a running npm start (or serverless-s3-local) holds them.
    const held = await Promise.all([holdPort(4569), holdPort(4570)]);
    try {
      const { LOCAL_S3_PORT: _s3, LOCAL_HTTP_PORT: _http, ...env } = ENV;
      const { code, stdout } = await runToEnd(['--demo'], env);
      expect(code, stdout).toBe(0);
      expect(stdout.match(/^as expected: /gm)).toHaveLength(4);
      expect(stdout).toMatch(/published incoming\/resident-population\/replace\/resident-population\.csv/);
      expect(stdout).toMatch(/failed .*\[UNKNOWN_ALIAS\]/);
      // The notification rules of serverless.yml run locally: the failed file is told.
      expect(stdout).toMatch(
        /^notification \(NotifyPublishProblemsRule\): Dataset Publish Failed: dataset .*, file incoming\/no-such-dataset\/replace\/resident-population\.csv\. UNKNOWN_ALIAS: /m,
      );
      expect(stdout).toMatch(/"outcome": "published"/);
      // Not the banner of a run that stays up: the demo exits.
      expect(stdout).not.toMatch(/Ctrl-C|curl /);
    } finally {
      for (const server of held) server?.close();
    }
  }, 120_000);

  it.each(['LOCAL_S3_PORT', 'LOCAL_HTTP_PORT'])(
    'says which setting to change when %s is in use, and leaves nothing behind',
    async (variable) => {
      const taken = await holdPort(0);
      if (!taken) throw new Error('no free port');
      const temporary = mkdtempSync(join(tmpdir(), 'govpub-port-clash-'));
      try {
        const { code, stdout, stderr } = await runToEnd(['--fast'], {
          ...ENV,
          [variable]: String(taken.port),
          TMPDIR: temporary,
        });
        expect(code, `${stdout}\n${stderr}`).toBe(2);
        expect(stderr).toContain(`Port ${taken.port} is already in use on 127.0.0.1 (${variable})`);
        expect(stderr).toContain(`${variable}=<port> npm start`);
        expect(stderr).not.toMatch(/^\s+at /m);
        expect(stdout).not.toMatch(/running locally/);
        expect(readdirSync(temporary).filter((name) => name.startsWith('local-s3-'))).toEqual([]);
      } finally {
        taken.close();
        rmSync(temporary, { recursive: true, force: true });
      }
    },
    60_000,
  );

  it('refuses a port setting that is not a port number', async () => {
    const { code, stderr } = await runToEnd(['--fast'], { ...ENV, LOCAL_HTTP_PORT: '45a' });
    expect(code).toBe(2);
    expect(stderr).toContain(
      'LOCAL_HTTP_PORT must be a port number from 0 (any free port) to 65535, not "45a".',
    );
  }, 60_000);

  it('prints its endpoints, publishes a file dropped by any S3 client, and stops cleanly on Ctrl-C', async () => {
    const child = spawn(process.execPath, [...START, '--fast'], {
      env: { ...ENV, GOVPUB_LOCAL_RUN_FILE: LOCAL_RUN_FILE },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk: Buffer) => exposeToScan('npm start stdout', chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => exposeToScan('npm start stderr', chunk.toString()));
    try {
      const [, bucket = '', endpoint = '', httpApi = '', exports = ''] = await waitForOutput(
        child,
        /drop bucket\s+s3:\/\/(\S+) at (http:\/\/127\.0\.0\.1:\d+)[\s\S]*?HTTP API\s+(http:\/\/127\.0\.0\.1:\d+)[\s\S]*?The govpub CLI against this local run[^\n]*\n((?: {2}export [^\n]+\n)+)/,
        60_000,
      );
      const published = waitForOutput(
        child,
        /published incoming\/resident-population\/replace\/by-hand\.csv/,
        30_000,
      );
      await createS3Client(localS3ClientConfig(endpoint)).send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: 'incoming/resident-population/replace/by-hand.csv',
          Body: 'year,sex,population\n2024,female,1\n',
        }),
      );
      await published;
      const view = await fetch(`${httpApi}/datasets/resident-population`);
      expect(await view.json()).toMatchObject({ lastOutcome: { outcome: 'published' } });

      // The banner's exports are all the CLI needs; with --fast its own waits are short too.
      const cliEnv = Object.fromEntries(
        [...exports.matchAll(/export (\w+)=(\S+)/g)].map(([, name = '', value = '']) => [name, value]),
      );
      expect(cliEnv).toMatchObject({ DGS_API_KEY: expect.any(String), POLL_FIRST_WAIT_SECONDS: '1' });
      const byCli = await runGovpub(
        [
          'publish',
          'examples/resident-population.csv',
          '--dataset',
          'resident-population',
          '--replace',
          '--wait',
        ],
        cliEnv,
        undefined,
        { keyIsPublic: true },
      );
      expect(byCli.code, byCli.stderr).toBe(0);
      expect(byCli.stdout + byCli.stderr).toMatch(/Ingestion Success/);

      // With no bucket named, the CLI finds this run's bucket: drop, then read the outcomes.
      const localCli = { ...cliEnv, GOVPUB_LOCAL_RUN_FILE: LOCAL_RUN_FILE };
      const appended = waitForOutput(
        child,
        /published incoming\/operating-expenditure\/append\/operating-expenditure-fy2024\.csv/,
        30_000,
      );
      const dropped = await runGovpub(
        [
          'drop',
          'examples/operating-expenditure-fy2024.csv',
          '--dataset',
          'operating-expenditure',
          '--append',
        ],
        localCli,
        undefined,
        { keyIsPublic: true },
      );
      expect(dropped.code, dropped.stderr).toBe(0);
      // Said on stderr: stdout stays the command's own output.
      expect(dropped.stderr).toContain(
        `Using the local run started by npm start: s3://${bucket} at ${endpoint}.`,
      );
      expect(dropped.stdout).not.toContain('Using the local run');
      await appended;
      const listed = await runGovpub(['reports'], localCli, undefined, { keyIsPublic: true });
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout).toMatch(
        /published\s+operating-expenditure\s+incoming\/operating-expenditure\/append\/operating-expenditure-fy2024\.csv\n {2}(processed\/operating-expenditure\/append\/operating-expenditure-fy2024\.\S+\.report\.json)\n[\s\S]*published\s+resident-population\s+incoming\/resident-population\/replace\/by-hand\.csv\n/,
      );
      expect(listed.stdout).toMatch(/2 in s3:\/\/\S+, newest first; govpub report <key> shows one\./);
      const reportKey =
        /(processed\/operating-expenditure\/append\/operating-expenditure-fy2024\.\S+\.report\.json)/.exec(
          listed.stdout,
        )?.[1] ?? '';
      const [one, asJson, failedOnly] = await Promise.all([
        runGovpub(['report', reportKey], localCli, undefined, { keyIsPublic: true }),
        runGovpub(['report', reportKey.replace(/\.report\.json$/, ''), '--json'], localCli, undefined, {
          keyIsPublic: true,
        }),
        runGovpub(['reports', '--failed', '--since', '1h'], localCli, undefined, { keyIsPublic: true }),
      ]);
      expect(one.code, one.stderr).toBe(0);
      expect(one.stdout).toMatch(/^outcome {6}published\n/m);
      expect(one.stdout).toMatch(/^CSV check {4}passed: 2 rows, 0 errors, 0 warnings$/m);
      expect(one.stdout).toMatch(/^status {7}Ingestion Success/m);
      expect(JSON.parse(asJson.stdout)).toMatchObject({
        ok: true,
        key: reportKey,
        report: { outcome: 'published', mode: 'append' },
      });
      expect(failedOnly.code, failedOnly.stderr).toBe(0);
      expect(failedOnly.stdout).toContain('No filed outcomes found');
      // The SDK's advisory about Node 20 is not the command's business.
      for (const run of [dropped, listed, one, failedOnly])
        expect(run.stderr).not.toMatch(/NodeVersionSupportWarning/);
      // The status comes from data.gov.sg: without the banner's DGS_* lines, say so.
      const statusWithoutKey = await runGovpub(['status', 'resident-population'], {
        GOVPUB_LOCAL_RUN_FILE: LOCAL_RUN_FILE,
      });
      expect(statusWithoutKey.code).toBe(2);
      expect(statusWithoutKey.stderr).toContain("DGS_API_BASE_URL is not the local run's");
      expect(statusWithoutKey.stderr).toMatch(/hint: .*export the DGS_\* lines its banner prints/);

      child.kill('SIGINT');
      const [code] = await once(child, 'exit');
      expect(code).toBe(0);
      // Stopped, it no longer tells the CLI where it was.
      expect(readdirSync(join(LOCAL_RUN_FILE, '..'))).toEqual([]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 120_000);
});
