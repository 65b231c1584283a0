import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logger } from '../../lib/observability.js';
import type { LocalPipeline } from '../../local/pipeline.js';
import { recordingLog } from '../fakes/silent-log.js';
import { POPULATION, POPULATION_CSV, startFastPipeline } from './support.js';

const API_KEY = 'k3y-that-must-never-leak-7f3a9c';
const WRONG_KEY = 'wrong-k3y-that-must-never-leak-2b8e';

/** Everything a person or another system could read: logs, reports, events, function errors. */
async function everythingReadable(pipeline: LocalPipeline, logs: string[]): Promise<string> {
  const reports = await Promise.all(
    (await pipeline.keys(''))
      .filter((key) => key.endsWith('.report.json'))
      .map((key) => pipeline.report(key.replace(/\.report\.json$/, ''))),
  );
  return JSON.stringify({
    logs,
    reports,
    events: pipeline.eventBridge.events(),
    invocations: pipeline.lambda.invocations(),
    executions: pipeline.stepFunctions.executions(),
  });
}

describe('secrets never leak', () => {
  const written: string[] = [];
  const originalWrite = process.stdout.write.bind(process.stdout);

  beforeAll(() => {
    logger.setLogLevel('DEBUG');
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      written.push(String(chunk));
      return originalWrite(chunk, ...rest);
    }) as typeof process.stdout.write;
  });
  afterAll(() => {
    process.stdout.write = originalWrite;
    logger.setLogLevel('SILENT');
  });

  it('keeps the API key and presigned URL signatures out of logs, reports, events and errors', async () => {
    const log = recordingLog();
    const pipeline = await startFastPipeline({
      env: { DGS_API_KEY: API_KEY },
      dataGovSg: { apiKeys: [API_KEY], signedHeaders: ['host', 'content-md5'] },
      log,
    });
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

      const readable = await everythingReadable(pipeline, [
        ...written,
        ...log.lines.map((line) => JSON.stringify(line)),
      ]);
      expect(log.lines.length).toBeGreaterThan(10);
      expect(readable).toContain('DGS_AUTH');
      expect(readable).not.toContain(API_KEY);
      expect(readable).not.toContain(WRONG_KEY);
      expect(readable).not.toMatch(/X-Amz-Signature=(?!REDACTED)[0-9a-fA-F]/);
      expect(readable).not.toMatch(/X-Amz-Security-Token=(?!REDACTED)[^&"\s]/);
      expect(readable).not.toMatch(/X-Amz-Credential=(?!REDACTED)[^&"\s]/);
    } finally {
      await pipeline.close();
    }
  });
});
