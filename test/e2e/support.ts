import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { putToPresignedUrl } from '../../lib/datagovsg/presigned-put.js';
import { isIdle } from '../../lib/datagovsg/status.js';
import type { PublishReport } from '../../lib/publish/file-outcome.js';
import { type LocalPipeline, type LocalPipelineOptions, startLocalPipeline } from '../../local/pipeline.js';
import { exposeToScan, testSecret } from '../leak-scan.js';

/** The source the stage takes requests from by default (serverless.yml, requestSources). */
export const REQUEST_SOURCE = 'govpub.requests';
/** The sample datasets of the local data.gov.sg, by the aliases config/datasets.json gives them. */
export const POPULATION = { alias: 'resident-population', id: 'd_3c55210de27fcccda2ed0c63fdd2b352' };
export const EXPENDITURE = { alias: 'operating-expenditure', id: 'd_8b84c4ee58e3cfc0ece0d773c8ca6abc' };
export const TRANSACTIONS = { alias: 'online-transactions', id: 'd_5f2a6e1b9c0d4e7f8a3b2c1d0e9f8a7b' };

export const POPULATION_CSV = 'year,sex,population\n2023,female,2100000\n2023,male,2050000\n';

/**
 * A pipeline with every wait shortened to milliseconds and data.gov.sg stepping quickly. Its keys
 * and tokens are registered with the secret scan, and on close everything it let a person read
 * (reports, events, function results and errors, executions) is exposed to it.
 */
export async function startFastPipeline(options: LocalPipelineOptions = {}): Promise<LocalPipeline> {
  const pipeline = await startLocalPipeline({
    fastWaitMs: 15,
    ...options,
    dataGovSg: { stepDelayMs: 10, ...options.dataGovSg },
  });
  const tokens = pipeline.ppDataSets.map((dataSet) => dataSet.bearerToken);
  const configured = [pipeline.settings.DGS_API_KEY, options.env?.PP_TOKEN];
  for (const secret of [...configured, ...(pipeline.dataGovSg?.options.apiKeys ?? []), ...tokens]) {
    if (secret) testSecret(secret);
  }
  const close = pipeline.close.bind(pipeline);
  pipeline.close = async () => {
    try {
      exposeToScan('reports, events, function results and executions', await everythingFiled(pipeline));
    } finally {
      await close();
    }
  };
  return pipeline;
}

/** Reports, events, function results and executions of a pipeline: what it filed for people to read. */
export async function everythingFiled(pipeline: LocalPipeline): Promise<string> {
  const reports = await Promise.all(
    (await pipeline.keys(''))
      .filter((key) => key.endsWith('.report.json'))
      .map(async (key) => ({ key, report: await pipeline.report(key.replace(/\.report\.json$/, '')) })),
  );
  return JSON.stringify({
    reports,
    events: pipeline.eventBridge.events(),
    invocations: pipeline.lambda.invocations(),
    executions: pipeline.stepFunctions.executions(),
  });
}

/**
 * The report filed for the last file dropped at a key, wherever it ended; fails the test if there
 * is none, or if more than one drop at the key was filed (use pipeline.outcomes for those).
 */
export async function outcomeOf(pipeline: LocalPipeline, incomingKey: string): Promise<PublishReport> {
  const reports = await pipeline.outcomes(incomingKey);
  if (reports.length !== 1) {
    throw new Error(
      `${reports.length} reports for ${incomingKey}; bucket holds ${(await pipeline.keys('')).join(', ')}`,
    );
  }
  return reports[0] as PublishReport;
}

/** The pattern of the key a file dropped at `incomingKey` is filed at, in `folder`. */
export function filedAt(incomingKey: string, folder: 'processed' | 'failed' | 'unconfirmed'): RegExp {
  const rest = incomingKey.replace(/^incoming\//, '');
  const dot = rest.lastIndexOf('.');
  const [base, extension] = dot > rest.lastIndexOf('/') ? [rest.slice(0, dot), rest.slice(dot)] : [rest, ''];
  const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${folder}/${literal(base)}\\.\\d{8}T\\d{6}Z-[0-9a-z]{8}${literal(extension)}$`);
}

/** Errors thrown by any function invocation: the pipeline must handle failures, not crash. */
export function crashedInvocations(pipeline: LocalPipeline) {
  return pipeline.lambda.invocations().filter((invocation) => invocation.status === 'FAILED');
}

/** Calls `arm` once, when the last byte of the file has been handed to the presigned PUT. */
export function whenFullySent(arm: () => void): Pick<LocalPipelineOptions, 'onProgress'> {
  let armed = false;
  return {
    onProgress: ({ bytesSent, size }) => {
      if (armed || bytesSent < size) return;
      armed = true;
      arm();
    },
  };
}

/** An upload to the dataset made outside the pipeline (the web UI, another tool), on a link of its own. */
export async function uploadOutsidePipeline(
  p: LocalPipeline,
  datasetId: string,
  body: Buffer,
): Promise<void> {
  await putToPresignedUrl({
    upload: await p.deps.dgs.uploadLink(datasetId),
    body: Readable.from([body]),
    contentLength: body.length,
    idleTimeoutMs: 10_000,
    md5Base64: undefined,
  });
}

/** Waits (4 s at most) until data.gov.sg shows no ingestion in progress for the dataset. */
export async function waitUntilIdleAtDataGovSg(p: LocalPipeline, datasetId: string): Promise<void> {
  for (let i = 0; i < 200 && !isIdle((await p.deps.dgs.ingestionStatus(datasetId)).status); i++)
    await sleep(20);
}
