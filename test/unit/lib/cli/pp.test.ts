import { describe, expect, it } from 'vitest';
import { problemLines } from '../../../../lib/cli/pp.js';
import type { ForwardProblem } from '../../../../lib/performance-platform/problems.js';

const problem = (
  index: number | null,
  message: string,
  extra: Partial<ForwardProblem> = {},
): ForwardProblem => ({
  index,
  code: 'REQUIRED',
  message,
  ...extra,
});

describe('problemLines (pp send)', () => {
  it('lists problems under their record, in order, with the NDJSON line when known', () => {
    const lines = problemLines(
      [
        problem(0, '_timestamp is missing'),
        problem(2, 'count should be a number, not the text "12"', { line: 4 }),
        problem(2, 'period should be one of day or week, not the text "x"', { line: 4 }),
        problem(null, 'The JSON file is not valid JSON'),
      ],
      4,
      20,
    );
    expect(lines).toEqual([
      'record 0:',
      '  _timestamp is missing',
      'record 2 (line 4):',
      '  count should be a number, not the text "12"',
      '  period should be one of day or week, not the text "x"',
      'The JSON file is not valid JSON',
    ]);
  });

  it('stops at the limit and says how many more there are, all of them in --json output', () => {
    const problems = Array.from({ length: 5 }, (_, i) => problem(i, `p${i}`));
    expect(problemLines(problems, 5, 2)).toEqual([
      'record 0:',
      '  p0',
      'record 1:',
      '  p1',
      '… and 3 more (all are in --json output).',
    ]);
  });

  it('says when --json output lists only the first problems', () => {
    const problems = [
      problem(0, 'p0'),
      problem(1, 'p1'),
      { index: null, code: 'NOT_LISTED' as const, message: '1498 more errors are not listed (1500 in all)' },
    ];
    expect(problemLines(problems, 1500, 20)).toEqual([
      'record 0:',
      '  p0',
      'record 1:',
      '  p1',
      '… and 1498 more (the first 2 are in --json output).',
    ]);
  });
});
