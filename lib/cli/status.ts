import type { IngestionStatus } from '../datagovsg/status.js';
import { createDataGovSgClient } from '../runtime.js';
import { aliasesOf, type CommonOptions, resolveDataset, settingsFromEnv } from './common.js';
import { EXIT, type ExitCode } from './exit.js';
import type { Output } from './output.js';

/** `govpub status ID`: the latest ingestion status of a dataset, readable. */
export async function status(out: Output, ref: string, _options: CommonOptions): Promise<ExitCode> {
  const datasetId = resolveDataset(ref);
  const settings = settingsFromEnv();
  const current = await createDataGovSgClient(settings).ingestionStatus(datasetId);
  const aliases = aliasesOf(datasetId);
  out.info(`dataset     ${datasetId}${aliases.length > 0 ? ` (${aliases.join(', ')})` : ''}`);
  out.info(`status      ${current.rawStatus}`);
  out.info(`version     ${current.version ?? 'none'}`);
  out.info(`updated at  ${formatTime(current.updatedAt)}`);
  out.info(`failures    ${formatFailures(current.failures)}`);
  out.result({ ok: true, command: 'status', datasetId, ...statusJson(current) });
  return EXIT.ok;
}

/** Local time and ISO 8601, or "never". */
export function formatTime(epochMs: number | null): string {
  if (epochMs === null) return 'never';
  const at = new Date(epochMs);
  return `${at.toLocaleString()} (${at.toISOString()})`;
}

export function formatFailures(failures: unknown): string {
  if (failures === null || failures === undefined) return 'none';
  if (Array.isArray(failures) && failures.length === 0) return 'none';
  return JSON.stringify(failures, null, 2).replace(/\n/g, '\n            ');
}

export function statusJson(current: IngestionStatus) {
  return {
    status: current.status,
    rawStatus: current.rawStatus,
    version: current.version,
    updatedAt: current.updatedAt === null ? null : new Date(current.updatedAt).toISOString(),
    failures: current.failures ?? null,
  };
}
