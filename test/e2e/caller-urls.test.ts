/**
 * Issue 6, security: no way in fetches, or sends data to, a URL its caller supplies. A canary on
 * loopback counts every connection; URLs naming it are put into each field a caller controls
 * (HTTP paths and bodies, EventBridge details, drop keys and file contents, CLI arguments), and it
 * must never be reached. The only upload URLs the pipeline follows come from data.gov.sg's own
 * answers, and those are held to UPLOAD_ALLOWED_ORIGINS (publish-failures.test.ts).
 */
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEventBridgeClient } from '../../lib/aws-clients/eventbridge.js';
import { localEventBridgeClientConfig } from '../../local/aws/eventbridge.js';
import type { LocalPipeline } from '../../local/pipeline.js';
import { cliEnvironment, runGovpub } from './govpub-cli.js';
import {
  crashedInvocations,
  outcomeOf,
  POPULATION,
  POPULATION_CSV,
  REQUEST_SOURCE,
  startFastPipeline,
} from './support.js';

const GROUP = 'carers-allowance';
const TYPE = 'transaction-count';

let pipeline: LocalPipeline;
let canary: Server;
let canaryUrl: string;
let contacts = 0;

beforeAll(async () => {
  canary = createServer((socket) => {
    contacts += 1;
    socket.destroy();
  }).listen(0, '127.0.0.1');
  await once(canary, 'listening');
  canaryUrl = `http://127.0.0.1:${(canary.address() as AddressInfo).port}`;
  pipeline = await startFastPipeline();
});

afterAll(async () => {
  await pipeline?.close();
  canary?.close();
});

// Counted per test, so that a contact names the way in that made it.
beforeEach(() => {
  contacts = 0;
});

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const response = await fetch(`${pipeline.httpApi.endpoint}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, text: await response.text() };
}

async function putEvent(detailType: string, detail: unknown): Promise<void> {
  const output = await createEventBridgeClient(
    localEventBridgeClientConfig(pipeline.eventBridge.endpoint),
  ).send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: pipeline.settings.EVENT_BUS_NAME,
          Source: REQUEST_SOURCE,
          DetailType: detailType,
          Detail: JSON.stringify(detail),
        },
      ],
    }),
  );
  expect(output.FailedEntryCount ?? 0).toBe(0);
}

describe('URLs a caller supplies are never fetched nor sent to', () => {
  it('over the HTTP API', async () => {
    const uploads = `/datasets/${POPULATION.alias}/uploads`;
    const answers = [
      await call('POST', uploads, { key: `${canaryUrl}/population.csv` }),
      await call('POST', uploads, { key: `${canaryUrl}/population.csv`, mode: 'append' }),
      await call('POST', uploads, { mode: 'append', url: `${canaryUrl}/population.csv` }),
      await call('POST', uploads, { mode: 'append', callbackUrl: canaryUrl }),
      await call('GET', `/datasets/${encodeURIComponent(canaryUrl)}`),
      await call('POST', `/performance/${GROUP}/${TYPE}`, `${canaryUrl}/records.json`),
      await call('POST', `/performance/${GROUP}/${TYPE}`, { url: `${canaryUrl}/records.json` }),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([400, 400, 400, 400, 404, 400, 400]);

    // A name that looks like a URL is only a file name: the link is the drop bucket's.
    const link = await call('POST', uploads, { mode: 'append', name: `${canaryUrl}/population.csv` });
    if (link.status === 201) {
      expect(new URL(JSON.parse(link.text).url).origin).toBe(new URL(pipeline.localS3.endpoint).origin);
    } else {
      expect(link.status).toBe(400);
    }
    // Records that hold URLs are data, stored as they are.
    const stored = await call('POST', `/performance/${GROUP}/${TYPE}`, [
      { _timestamp: '2024-01-01T00:00:00Z', count: 1, source: `${canaryUrl}/feed` },
    ]);
    expect(stored.status).toBe(200);
    await pipeline.whenIdle();
    expect(contacts).toBe(0);
  });

  it('in EventBridge details', async () => {
    await putEvent('Publish Dataset Requested', {
      bucket: new URL(canaryUrl).host,
      key: `${canaryUrl}/a.csv`,
    });
    await putEvent('Publish Dataset Requested', {
      bucket: pipeline.bucket,
      key: `${canaryUrl}/a.csv`,
      dataset: POPULATION.alias,
      mode: 'append',
    });
    await putEvent('Performance Records Submitted', { dataGroup: GROUP, dataType: TYPE, records: canaryUrl });
    await putEvent('Performance Records Submitted', {
      dataGroup: GROUP,
      dataType: TYPE,
      records: { url: canaryUrl },
    });
    await pipeline.whenIdle();
    const refused = pipeline.eventBridge
      .events()
      .filter((event) => /Publish Failed|Forward Failed/.test(event.detailType))
      .map((event) => event.detailType);
    expect(refused).toEqual([
      'Dataset Publish Failed',
      'Dataset Publish Failed',
      'Performance Records Forward Failed',
      'Performance Records Forward Failed',
    ]);
    expect(crashedInvocations(pipeline)).toEqual([]);
    expect(contacts).toBe(0);
  });

  it('in drop keys and file contents', async () => {
    const csvKey = `incoming/${POPULATION.alias}/append/links.csv`;
    await pipeline.drop(csvKey, `${POPULATION_CSV}2024,${canaryUrl},1\n`);
    // s3rver cannot store a key with "//" (S3 can): the canary's host:port stands for the URL there.
    const host = new URL(canaryUrl).host;
    await pipeline.drop(`incoming/${POPULATION.alias}/append/${host}/population.csv`, POPULATION_CSV);
    await pipeline.drop(`incoming/${host}/append/population.csv`, POPULATION_CSV);
    await pipeline.drop(
      `incoming/performance/${GROUP}/${TYPE}/links.ndjson`,
      `${JSON.stringify({ _timestamp: '2024-02-01T00:00:00Z', count: 2, source: canaryUrl })}\n`,
    );
    await pipeline.whenIdle();
    // A URL in a TEXT column is data: published as it is, never followed.
    expect((await outcomeOf(pipeline, csvKey)).outcome).toBe('published');
    expect(await pipeline.keys('incoming/')).toEqual([]);
    expect(crashedInvocations(pipeline)).toEqual([]);
    expect(contacts).toBe(0);
  });

  it('in CLI arguments', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'govpub-caller-urls-'));
    try {
      const records = join(dir, 'records.json');
      await writeFile(records, JSON.stringify([{ _timestamp: '2024-03-01T00:00:00Z', count: 3 }]));
      const env = cliEnvironment(pipeline);
      const runs = await Promise.all([
        runGovpub(['publish', `${canaryUrl}/population.csv`, '--dataset', POPULATION.alias, '--append'], env),
        runGovpub(['validate', `${canaryUrl}/population.csv`, '--dataset', POPULATION.alias], env),
        runGovpub(['status', canaryUrl], env),
        runGovpub(['pp', 'send', GROUP, TYPE, `${canaryUrl}/records.json`], env),
      ]);
      for (const run of runs) {
        expect(run.code, run.stderr).not.toBe(0);
        expect(run.stderr).not.toMatch(/^\s+at \S/m);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(contacts).toBe(0);
  });
});
