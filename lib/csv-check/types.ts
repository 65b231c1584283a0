export type Severity = 'error' | 'warning';

/** One thing wrong (error) or worth fixing (warning) in a CSV file. */
export interface CsvProblem {
  severity: Severity;
  code: CsvProblemCode;
  /** 1-based; the header is row 1. Absent for problems of the whole file. */
  row?: number;
  column?: string;
  /** The offending value, cut to a readable length. */
  value?: string;
  message: string;
}

export const CSV_PROBLEM_CODES = [
  'SPREADSHEET',
  'COMPRESSED',
  'UTF16',
  'INVALID_UTF8',
  'CONTROL_CHARACTER',
  'BOM',
  'MIXED_LINE_ENDINGS',
  'EMPTY_FILE',
  'NO_ROWS',
  'EMPTY_HEADER',
  'DUPLICATE_HEADER',
  'FIELD_COUNT',
  'QUOTING',
  'RECORD_TOO_LARGE',
  'MISSING_COLUMN',
  'UNEXPECTED_COLUMN',
  'RENAMED_COLUMN',
  'COLUMN_ORDER',
  'COLUMNS_DO_NOT_MATCH',
  'NOT_NUMERIC',
  'HEADER_STYLE',
] as const;

export type CsvProblemCode = (typeof CSV_PROBLEM_CODES)[number];

/** A dataset column as data.gov.sg's metadata describes it. */
export interface ExpectedColumn {
  name: string;
  dataType: string;
}

export interface CsvCheckOptions {
  mode: 'replace' | 'append';
  /**
   * A replace that changes the dataset's columns on purpose: no COLUMNS_DO_NOT_MATCH. Without it,
   * a replace sharing fewer than half of the dataset's columns is an error.
   */
  newColumns?: boolean;
  /** The dataset's columns from the public metadata; undefined when not fetched or unavailable. */
  expectedColumns?: ExpectedColumn[] | undefined;
  /** Why the metadata is missing, said in the report. */
  metadataUnavailable?: string | undefined;
  /** How many problems are listed; all are counted. Default 20. */
  maxProblems?: number;
  /** Values longer than this are cut in reports. Default 60. */
  maxValueLength?: number;
  /** A record larger than this is an error, which bounds memory. Default 1 MiB. */
  maxRecordBytes?: number;
  /**
   * Rows of plain values are accepted without being split (default). False sends every row
   * through the parser: the same report, slower; tests compare the two.
   */
  fastPath?: boolean;
}

/** What the checker found; it goes into the publish report as `check`. */
export interface CsvCheckReport {
  passed: boolean;
  bytes: number;
  /** Data rows, the header not counted. */
  rows: number;
  columns: string[];
  errors: number;
  warnings: number;
  /** The first `maxProblems` problems, errors and warnings, in file order. */
  problems: CsvProblem[];
  /** True when more problems were found than listed, or checking stopped early. */
  incomplete: boolean;
  /** How the header was compared with the dataset's columns. */
  metadata: 'compared' | 'not-compared';
  metadataNote?: string;
}
