import { ALIAS_PATTERN, type DatasetDirectory } from './datasets.js';
import { DropRejectedError } from './errors.js';

export const INCOMING_PREFIX = 'incoming/';
/** Files for the Performance Platform forwarder; `performance` is therefore no dataset alias. */
export const PERFORMANCE_PREFIX = 'incoming/performance/';
/**
 * The object metadata that carries who asked for a drop (DroppedObject.requestedBy). Here, not in
 * drop-bucket.ts, so that code which only names it does not load the S3 client.
 */
export const REQUESTED_BY_METADATA = 'requested-by';

export type PublishMode = 'replace' | 'append';
/** The folder after the dataset in a drop key: how the file is published. */
export const DROP_FOLDERS = ['replace', 'append', 'replace-new-columns'] as const;
export type DropFolder = (typeof DROP_FOLDERS)[number];

/** A key under `incoming/` taken apart: `incoming/<datasetRef>/<mode>/<name>`. */
export interface DropKey {
  key: string;
  /** The key without `incoming/`. */
  rest: string;
  datasetRef: string;
  datasetId: string;
  mode: PublishMode;
  /** Dropped under `replace-new-columns/`: a replace that changes the dataset's columns on purpose. */
  newColumns: boolean;
  name: string;
}

/** The folder of a replace that changes the dataset's columns on purpose. */
export const NEW_COLUMNS_FOLDER = 'replace-new-columns' satisfies DropFolder;

/** True for files (not console folder markers) under `incoming/`, for either pipeline. */
export function isDroppedFile(key: string): boolean {
  return key.startsWith(INCOMING_PREFIX) && !key.endsWith('/');
}

/** True for files of the data.gov.sg pipeline: dropped files outside `incoming/performance/`. */
export function isDropCandidate(key: string): boolean {
  return isDroppedFile(key) && !isPerformanceKey(key);
}

/** True for files of the Performance Platform forwarder. */
export function isPerformanceKey(key: string): boolean {
  return key.startsWith(PERFORMANCE_PREFIX) && !key.endsWith('/');
}

/** The `<dataset>` segment of an incoming key, if it has one; used to group keys by dataset. */
export function datasetRefOf(key: string): string | undefined {
  const segments = key.slice(INCOMING_PREFIX.length).split('/');
  return segments.length >= 3 ? segments[0] : undefined;
}

/**
 * Parses and checks a drop key. Throws DropRejectedError with the first problem found, in the
 * order a person would fix them: layout, dataset, mode, file type.
 */
export function parseDropKey(key: string, datasets: DatasetDirectory): DropKey {
  const layoutHint = `Expected incoming/<datasetId or alias>/<replace|append|${NEW_COLUMNS_FOLDER}>/<name>.csv`;
  if (!key.startsWith(INCOMING_PREFIX)) {
    throw new DropRejectedError('KEY_LAYOUT', `The key ${key} is not under incoming/. ${layoutHint}.`);
  }
  const rest = key.slice(INCOMING_PREFIX.length);
  const segments = rest.split('/');
  if (
    segments.length < 3 ||
    segments.some((segment) => segment === '' || segment === '.' || segment === '..')
  ) {
    throw new DropRejectedError(
      'KEY_LAYOUT',
      `The key ${key} does not follow the drop layout. ${layoutHint}.`,
    );
  }
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) {
    throw new DropRejectedError(
      'KEY_LAYOUT',
      `The key is ${Buffer.byteLength(key)} bytes: too long to file with its outcome and report (at most ${MAX_KEY_BYTES} bytes, within S3's 1024-byte limit). Use a shorter name.`,
    );
  }
  const [datasetRef = '', mode = '', ...nameParts] = segments;
  const name = nameParts.join('/');
  const datasetId = resolveDataset(datasetRef, datasets);
  if (mode !== 'replace' && mode !== 'append' && mode !== NEW_COLUMNS_FOLDER) {
    throw new DropRejectedError(
      'BAD_MODE',
      `The folder after the dataset must be "replace" or "append", not "${mode}". Move the file to incoming/${datasetRef}/replace/ to replace the dataset, or to incoming/${datasetRef}/append/ to add rows (incoming/${datasetRef}/${NEW_COLUMNS_FOLDER}/ replaces it with other columns, on purpose).`,
    );
  }
  if (!name.toLowerCase().endsWith('.csv')) {
    throw new DropRejectedError(
      'NOT_CSV',
      `Only .csv files can be published; ${name} is not one. Export the data as CSV (UTF-8) and drop it with a .csv name.`,
    );
  }
  return {
    key,
    rest,
    datasetRef,
    datasetId,
    mode: mode === 'append' ? 'append' : 'replace',
    newColumns: mode === NEW_COLUMNS_FOLDER,
    name,
  };
}

function resolveDataset(ref: string, datasets: DatasetDirectory): string {
  const datasetId = datasets.resolve(ref);
  if (datasetId) return datasetId;
  if (ref.startsWith('d_') || !ALIAS_PATTERN.test(ref)) {
    throw new DropRejectedError(
      'BAD_DATASET_ID',
      `"${ref}" is not a datasetId: a datasetId is d_ followed by 32 lower-case hex digits, as in the dataset's URL on data.gov.sg.`,
    );
  }
  throw new DropRejectedError(
    'UNKNOWN_ALIAS',
    `"${ref}" is not a known dataset alias. Add it to config/datasets.json and deploy, or use the datasetId itself.`,
  );
}

/**
 * Keys longer than this are refused: S3 allows 1024 bytes, and an outcome key adds its folder
 * (`unconfirmed/` is three bytes longer than `incoming/`), the version stamp and `.report.json`
 * (lib/outcome-keys.ts files longer ones by hash, which a person cannot read).
 */
const MAX_KEY_BYTES = 1024 - 3 - '.20261205T214607Z-3f2a9c1b'.length - '.report.json'.length;
