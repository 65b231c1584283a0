import type { PublishReport } from '../../lib/publish/file-outcome.js';
import { type LocalPipeline, type LocalPipelineOptions, startLocalPipeline } from '../../local/pipeline.js';

/** The sample datasets of the local data.gov.sg, by the aliases config/datasets.json gives them. */
export const POPULATION = { alias: 'resident-population', id: 'd_3c55210de27fcccda2ed0c63fdd2b352' };
export const EXPENDITURE = { alias: 'operating-expenditure', id: 'd_8b84c4ee58e3cfc0ece0d773c8ca6abc' };
export const TRANSACTIONS = { alias: 'online-transactions', id: 'd_5f2a6e1b9c0d4e7f8a3b2c1d0e9f8a7b' };

export const POPULATION_CSV = 'year,sex,population\n2023,female,2100000\n2023,male,2050000\n';

/** A pipeline with every wait shortened to milliseconds and data.gov.sg stepping quickly. */
export function startFastPipeline(options: LocalPipelineOptions = {}): Promise<LocalPipeline> {
  return startLocalPipeline({
    fastWaitMs: 15,
    ...options,
    dataGovSg: { stepDelayMs: 10, ...options.dataGovSg },
  });
}

/** The report filed for a dropped key, wherever it ended; fails the test if there is none. */
export async function outcomeOf(pipeline: LocalPipeline, incomingKey: string): Promise<PublishReport> {
  const rest = incomingKey.replace(/^incoming\//, '');
  const report = (await pipeline.report(`processed/${rest}`)) ?? (await pipeline.report(`failed/${rest}`));
  if (!report) {
    throw new Error(`no report for ${incomingKey}; bucket holds ${(await pipeline.keys('')).join(', ')}`);
  }
  return report;
}

/** Errors thrown by any function invocation: the pipeline must handle failures, not crash. */
export function crashedInvocations(pipeline: LocalPipeline) {
  return pipeline.lambda.invocations().filter((invocation) => invocation.status === 'FAILED');
}
