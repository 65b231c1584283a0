/**
 * Ingestion statuses, normalised so the guide's legend words ("Ingestion Success") and the
 * platform team's constants ("INGESTION_SUCCESS") compare equal.
 */
export const KNOWN_STATUSES = [
  'NA',
  'PENDING',
  'PENDING_VALIDATION',
  'VALIDATION_FAILED',
  'VALIDATION_PASSED',
  'PENDING_INGESTION',
  'INGESTION_FAILED',
  'INGESTION_SUCCESS',
] as const;

export type TerminalStatus = 'INGESTION_SUCCESS' | 'VALIDATION_FAILED' | 'INGESTION_FAILED';

/** One answer of the ingestion-status endpoint, with the raw status kept for reports. */
export interface IngestionStatus {
  status: string;
  rawStatus: string;
  version: number | null;
  updatedAt: number | null;
  failures: unknown;
}

/** What the status was before an upload started; later statuses are compared with it. */
export type StatusBaseline = Pick<IngestionStatus, 'status' | 'version' | 'updatedAt'>;

export function normalizeStatus(raw: string): string {
  return raw
    .trim()
    .toUpperCase()
    .replace(/[\s-]+/g, '_');
}

export function isTerminal(status: string): status is TerminalStatus {
  return status === 'INGESTION_SUCCESS' || status === 'VALIDATION_FAILED' || status === 'INGESTION_FAILED';
}

export function isKnownStatus(status: string): boolean {
  return (KNOWN_STATUSES as readonly string[]).includes(status);
}

/** A dataset may receive a new upload only when nothing is in progress for it. */
export function isIdle(status: string): boolean {
  return status === 'NA' || isTerminal(status);
}

/**
 * The status is per dataset, so right after an upload it still shows the previous upload's
 * result. A status belongs to our upload only once it moved past the baseline: its version
 * changed, or it was updated later. Both are checked because nothing documents that `version`
 * moves once per upload.
 */
export function belongsToUpload(current: IngestionStatus, baseline: StatusBaseline): boolean {
  const versionMoved = current.version !== null && current.version !== baseline.version;
  const updatedLater =
    current.updatedAt !== null && (baseline.updatedAt === null || current.updatedAt > baseline.updatedAt);
  return versionMoved || updatedLater;
}
