import type { CsvProblem, ExpectedColumn } from './types.js';

const GUIDANCE = /^[a-z0-9._-]+$/;
const MAX_GUIDED_LENGTH = 25;

/** Empty and duplicate names: a file with either cannot be published. */
export function headerErrors(header: string[]): CsvProblem[] {
  const problems: CsvProblem[] = [];
  const seen = new Set<string>();
  header.forEach((name, index) => {
    if (name.trim() === '') {
      problems.push({
        severity: 'error',
        code: 'EMPTY_HEADER',
        row: 1,
        column: `#${index + 1}`,
        message: `Column ${index + 1} has no name in the header.`,
      });
    } else if (seen.has(name)) {
      problems.push({
        severity: 'error',
        code: 'DUPLICATE_HEADER',
        row: 1,
        column: name,
        message: `The column name "${name}" appears more than once in the header.`,
      });
    }
    seen.add(name);
  });
  return problems;
}

/** data.gov.sg's guidance for column names; a warning, never a failure. */
export function headerStyleWarnings(header: string[]): CsvProblem[] {
  return header
    .filter((name) => name !== '' && (!GUIDANCE.test(name) || name.length >= MAX_GUIDED_LENGTH))
    .map((name) => ({
      severity: 'warning' as const,
      code: 'HEADER_STYLE' as const,
      row: 1,
      column: name,
      message: `data.gov.sg recommends column names in lower case, with only letters, digits, ".", "-" and "_", under ${MAX_GUIDED_LENGTH} characters: "${name}" is not.`,
    }));
}

/**
 * Compares the header with the dataset's columns. For append they must match (data.gov.sg
 * appends rows only, never columns); for replace a difference is a warning, since whether
 * data.gov.sg accepts a new shape on replace is not documented, unless the file shares fewer
 * than half of the dataset's columns: that replace would swap the dataset for unrelated data,
 * which is an error unless `newColumns` says the change is meant.
 */
export function compareWithDataset(
  header: string[],
  expected: ExpectedColumn[],
  mode: 'replace' | 'append',
  newColumns = false,
): CsvProblem[] {
  const severity = mode === 'append' ? 'error' : 'warning';
  const wanted = expected.map((column) => column.name);
  const missing = wanted.filter((name) => !header.includes(name));
  const unexpected = header.filter((name) => !wanted.includes(name));
  const problems: CsvProblem[] = [];
  const shared = wanted.length - missing.length;
  if (mode === 'replace' && !newColumns && wanted.length > 0 && shared * 2 < wanted.length) {
    problems.push({
      severity: 'error',
      code: 'COLUMNS_DO_NOT_MATCH',
      row: 1,
      message: `The file shares ${shared} of the dataset's ${wanted.length} columns (${wanted.join(', ')}): replacing the dataset with it would swap its data for unrelated data. Check the dataset in the key; if the new columns are meant, drop the file under replace-new-columns/ instead of replace/.`,
    });
  }
  const renamedTo = new Set<string>();
  for (const name of missing) {
    const lookalike = unexpected.find(
      (candidate) => !renamedTo.has(candidate) && looksRenamed(name, candidate),
    );
    if (lookalike) {
      renamedTo.add(lookalike);
      problems.push({
        severity,
        code: 'RENAMED_COLUMN',
        row: 1,
        column: lookalike,
        message: `The dataset has a column "${name}"; the file has "${lookalike}" instead. Rename it to "${name}".`,
      });
    } else {
      problems.push({
        severity,
        code: 'MISSING_COLUMN',
        row: 1,
        column: name,
        message: `The dataset's column "${name}" is missing from the file.`,
      });
    }
  }
  for (const name of unexpected.filter((candidate) => !renamedTo.has(candidate))) {
    problems.push({
      severity,
      code: 'UNEXPECTED_COLUMN',
      row: 1,
      column: name,
      message:
        mode === 'append'
          ? `The file has a column "${name}" that the dataset does not have; append adds rows, never columns.`
          : `The file has a column "${name}" that the dataset does not have yet.`,
    });
  }
  if (problems.length === 0 && wanted.join('\u0000') !== header.join('\u0000')) {
    problems.push({
      severity: 'warning',
      code: 'COLUMN_ORDER',
      row: 1,
      message: `The columns are in another order than the dataset's (${wanted.join(', ')}).`,
    });
  }
  return problems;
}

/** Same letters and digits once case and punctuation are ignored, or one small edit apart. */
function looksRenamed(a: string, b: string): boolean {
  const simple = (text: string) => text.toLowerCase().replace(/[^a-z0-9]/g, '');
  return simple(a) === simple(b) || editDistance(a.toLowerCase(), b.toLowerCase()) <= 2;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
