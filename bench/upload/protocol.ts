import type { ChildMeasure } from '../lib/measure.js';
import type { Column } from './csv.js';

/**
 * The paths measured: the bare Node pipe (baseline), sendFile, sendFile with the CSV check, and
 * the whole path for an object uploaded in parts (as the AWS CLI puts any file over 8 MiB): its
 * ETag is not its MD5, so the MD5 the link asks for is read first, then the object is sent.
 */
export type UploadPath = 'bare' | 'ours' | 'ours-check' | 'ours-multipart';

export const UPLOAD_PATHS: readonly UploadPath[] = ['bare', 'ours', 'ours-check', 'ours-multipart'];

/** What the parent hands an upload child (as one JSON argument). */
export interface UploadChildArgs {
  s3Endpoint: string;
  bucket: string;
  key: string;
  size: number;
  dgsBaseUrl: string;
  uploadOrigin: string;
  apiKey: string;
  datasetId: string;
  /** ours only: run the in-flight CSV check against these columns. */
  checkColumns?: Column[];
  /** ours only: the MD5 is part of the measured time (read from the object when its ETag is not it). */
  md5Measured?: boolean;
}

export interface UploadChildResult extends ChildMeasure {
  bytes: number;
  /** ours-check only: whether the check passed the file (it must), and the data rows it counted. */
  checkPassed?: boolean;
  checkRows?: number;
}
