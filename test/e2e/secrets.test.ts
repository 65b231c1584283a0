import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recordingLog } from '../fakes/recording-log.js';
import { findLeaks } from '../leak-scan.js';
import { cliEnvironment, runGovpub } from './govpub-cli.js';
import { everythingFiled, POPULATION, POPULATION_CSV, startFastPipeline } from './support.js';

// Every test file is scanned for secrets after it runs (test/setup.ts); this file drives the paths
// most likely to leak one (refusals, retried links, rejected digests, --debug) and asserts on the
// scan directly, so a leak fails a named test here and not only the file.

const API_KEY = 'k3y-that-must-never-leak-7f3a9c';
const WRONG_KEY = 'wrong-k3y-that-must-never-leak-2b8e';
const WRONG_TOKEN = 'wrong-t0ken-that-must-never-leak-91d4';

describe('secrets never leak', () => {
  it('keeps the API key and presigned URL signatures out of logs, reports, events and errors', async () => {
    const log = recordingLog();
    const pipeline = await startFastPipeline({
      env: { DGS_API_KEY: API_KEY },
      dataGovSg: { apiKeys: [API_KEY], signedHeaders: ['host', 'content-md5'] },
      log,
    });
    let filed: string;
    try {
      // A success, an expired link that is retried, a rejected digest, and a refused key.
      await pipeline.drop(`incoming/${POPULATION.alias}/append/ok.csv`, POPULATION_CSV);
      await pipeline.whenIdle();
      pipeline.dataGovSg?.fault({
        endpoint: 'put',
        status: 403,
        body: '<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>',
        times: 1,
      });
      await pipeline.drop(`incoming/${POPULATION.alias}/append/retried.csv`, POPULATION_CSV);
      await pipeline.whenIdle();
      pipeline.dataGovSg?.fault({
        endpoint: 'put',
        status: 400,
        body: '<Error><Code>BadDigest</Code></Error>',
        times: 1,
      });
      await pipeline.drop(`incoming/${POPULATION.alias}/append/digest.csv`, POPULATION_CSV);
      await pipeline.whenIdle();
      if (pipeline.dataGovSg) pipeline.dataGovSg.options.apiKeys = [WRONG_KEY];
      await pipeline.drop(`incoming/${POPULATION.alias}/append/refused.csv`, POPULATION_CSV);
      await pipeline.whenIdle();
      filed = await everythingFiled(pipeline);
    } finally {
      await pipeline.close();
    }

    // The paths ran (so the scan had something to look at) and nothing readable holds a secret.
    expect(log.lines.length).toBeGreaterThan(10);
    expect(filed).toContain('DGS_AUTH');
    expect(filed).toContain('BadDigest');
    expect(findLeaks()).toEqual([]);
  });

  it('keeps the key and tokens out of what the CLI prints with --debug, on success and on refusal', async () => {
    const pipeline = await startFastPipeline();
    const dir = await mkdtemp(join(tmpdir(), 'govpub-secrets-'));
    try {
      const csv = join(dir, 'population.csv');
      await writeFile(csv, POPULATION_CSV);
      const records = JSON.stringify([{ _timestamp: '2024-01-01T00:00:00Z', channel: 'web', count: 1 }]);
      const env = cliEnvironment(pipeline);
      const group = ['carers-allowance', 'transaction-count'];
      const runs = await Promise.all([
        runGovpub(
          [
            'publish',
            csv,
            '--dataset',
            POPULATION.alias,
            '--append',
            '--wait',
            '--poll-interval-ms',
            '20',
            '--debug',
          ],
          env,
        ),
        runGovpub(['whoami', '--debug'], { ...env, DGS_API_KEY: WRONG_KEY }),
        runGovpub(['pp', 'send', ...group, '-', '--debug'], env, records),
        runGovpub(['pp', 'send', ...group, '-', '--debug'], { ...env, PP_TOKEN: WRONG_TOKEN }, records),
      ]);

      expect(runs.map((run) => run.code)).toEqual([0, 3, 0, 3]);
      // --debug printed what the library logged while it held a presigned link and a token.
      expect(runs[0]?.stderr).toMatch(/UPLOAD_SENT/);
      expect(runs[2]?.stderr).toMatch(/PP_CHUNK_STORED/);
      expect(findLeaks()).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
      await pipeline.close();
    }
  });
});
