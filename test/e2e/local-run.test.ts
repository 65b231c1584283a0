import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../lib/aws-clients.js';
import { localS3ClientConfig } from '../../local/aws/s3.js';
import { localPpDataSets } from '../../local/pipeline.js';
import { exposeToScan, testSecret } from '../leak-scan.js';

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

describe('the local run (npm start)', () => {
  it('runs the demo: publishes the examples, files the bad one, prints the reports, exits 0', async () => {
    const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) => {
      execFile(process.execPath, [...START, '--demo'], { env: ENV, timeout: 90_000 }, (error, out, err) => {
        exposeToScan('npm run demo stdout', out);
        exposeToScan('npm run demo stderr', err);
        if (error) reject(new Error(`${error.message}\n${out}`));
        else resolve({ stdout: out });
      });
    });
    expect(stdout.match(/^as expected: /gm)).toHaveLength(4);
    expect(stdout).toMatch(/published incoming\/resident-population\/replace\/resident-population\.csv/);
    expect(stdout).toMatch(/failed .*\[UNKNOWN_ALIAS\]/);
    expect(stdout).toMatch(/"outcome": "published"/);
  }, 120_000);

  it('prints its endpoints, publishes a file dropped by any S3 client, and stops cleanly on Ctrl-C', async () => {
    const child = spawn(process.execPath, [...START, '--fast'], {
      env: ENV,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk: Buffer) => exposeToScan('npm start stdout', chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => exposeToScan('npm start stderr', chunk.toString()));
    try {
      const [, bucket = '', endpoint = '', httpApi = ''] = await waitForOutput(
        child,
        /drop bucket\s+s3:\/\/(\S+) at (http:\/\/127\.0\.0\.1:\d+)[\s\S]*?HTTP API\s+(http:\/\/127\.0\.0\.1:\d+)/,
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
      child.kill('SIGINT');
      const [code] = await once(child, 'exit');
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 120_000);
});
