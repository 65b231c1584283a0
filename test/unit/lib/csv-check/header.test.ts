import { describe, expect, it } from 'vitest';
import { compareWithDataset } from '../../../../lib/csv-check/header.js';

const columns = (...names: string[]) => names.map((name) => ({ name, dataType: 'TEXT' }));
const codes = (problems: ReturnType<typeof compareWithDataset>) => problems.map((problem) => problem.code);

describe('compareWithDataset: a replace with unrelated columns (COLUMNS_DO_NOT_MATCH)', () => {
  it.each([
    [['a', 'b', 'c', 'd'], ['a', 'b', 'x', 'y'], false],
    [['a', 'b', 'c', 'd'], ['a', 'x', 'y', 'z'], true],
    [['a', 'b', 'c'], ['a', 'x', 'y'], true],
    [['a', 'b', 'c'], ['a', 'b', 'y'], false],
    [['a'], ['x'], true],
    [['a'], ['a', 'x'], false],
    [['a', 'b'], ['b', 'a'], false],
  ])(
    'dataset %j, file %j: an error is %s (fewer than half of the dataset columns shared)',
    (dataset, header, error) => {
      const problems = compareWithDataset(header, columns(...dataset), 'replace');
      expect(codes(problems).includes('COLUMNS_DO_NOT_MATCH')).toBe(error);
      expect(problems.filter((problem) => problem.severity === 'error').length).toBe(error ? 1 : 0);
    },
  );

  it('says how many columns are shared, which they should be, and how to mean it', () => {
    const [problem] = compareWithDataset(
      ['ministry', 'amount', 'year'],
      columns('year', 'sex', 'population'),
      'replace',
    );
    expect(problem).toEqual({
      severity: 'error',
      code: 'COLUMNS_DO_NOT_MATCH',
      row: 1,
      message:
        "The file shares 1 of the dataset's 3 columns (year, sex, population): replacing the dataset with it would swap its data for unrelated data. Check the dataset in the key; if the new columns are meant, drop the file under replace-new-columns/ instead of replace/.",
    });
  });

  it('is not an error when the change is meant, nor for an append (whose column errors say more), nor without columns', () => {
    expect(codes(compareWithDataset(['x', 'y'], columns('a', 'b'), 'replace', true))).not.toContain(
      'COLUMNS_DO_NOT_MATCH',
    );
    expect(codes(compareWithDataset(['x', 'y'], columns('a', 'b'), 'append'))).not.toContain(
      'COLUMNS_DO_NOT_MATCH',
    );
    expect(compareWithDataset(['x', 'y'], [], 'replace')).toEqual(
      ['x', 'y'].map((name) => expect.objectContaining({ code: 'UNEXPECTED_COLUMN', column: name })),
    );
  });
});
