import { describe, expect, it } from 'vitest';
import {
  describeValue,
  plainMessage,
  problemSummary,
  type RecordProblem,
  recordProblems,
} from '../../../../lib/performance-platform/problems.js';
import { type DataSetRules, PythonFloat } from '../../../../lib/performance-platform/records.js';

const TS = '2024-01-31T00:00:00Z';
const PLAIN: DataSetRules = { dataGroup: 'carers-allowance', dataType: 'transaction-count' };
const CHANNELS: DataSetRules = {
  dataGroup: 'vehicle-licensing',
  dataType: 'transactions-by-channel',
  autoIds: ['_timestamp', 'channel'],
};

/** The one problem of a one-record batch. */
function only(record: unknown, rules: DataSetRules = PLAIN): Omit<RecordProblem, 'index'> {
  const problems = recordProblems([record], rules);
  expect(problems).toHaveLength(1);
  const [{ index: _index, ...problem }] = problems as [RecordProblem];
  return problem;
}

describe('recordProblems: one plain-English message per code, with backdrop text beside it', () => {
  it.each<[string, unknown, DataSetRules, Omit<RecordProblem, 'index'>]>([
    [
      'NOT_AN_OBJECT',
      42,
      PLAIN,
      {
        code: 'NOT_AN_OBJECT',
        message:
          'the record should be an object such as {"_timestamp": "2024-01-31T00:00:00Z"}, not the number 42',
        backdropMessage: 'record 0 is not a JSON object',
      },
    ],
    [
      'REQUIRED',
      { count: 1 },
      PLAIN,
      {
        field: '_timestamp',
        code: 'REQUIRED',
        message: '_timestamp is missing',
        backdropMessage: "u'_timestamp' is a required property",
      },
    ],
    [
      'ID_FIELD_MISSING',
      { _timestamp: TS, count: 1 },
      { ...PLAIN, autoIds: ['postcode', 'count'] },
      {
        field: 'postcode',
        code: 'ID_FIELD_MISSING',
        message: "postcode is missing (this data set makes each record's _id from postcode and count)",
        backdropMessage: 'The following required id fields are missing: postcode',
      },
    ],
    [
      'WRONG_TYPE (integer)',
      { _timestamp: TS, channel: 'post', count: '12' },
      CHANNELS,
      {
        field: 'count',
        code: 'WRONG_TYPE',
        message: 'count should be a whole number, not the text "12"',
        backdropMessage: "'12' is not of type u'integer'",
      },
    ],
    [
      'WRONG_TYPE (number)',
      { _timestamp: TS, percent: '12', consulate: 'x', period: 'day' },
      { dataGroup: 'g', dataType: 'utilisation' },
      {
        field: 'percent',
        code: 'WRONG_TYPE',
        message: 'percent should be a number, not the text "12"',
        backdropMessage: "'12' is not of type u'number'",
      },
    ],
    [
      'WRONG_TYPE (text)',
      { _timestamp: TS, channel: 3, count: 1 },
      CHANNELS,
      {
        field: 'channel',
        code: 'WRONG_TYPE',
        message: 'channel should be text, not the number 3',
        backdropMessage: "3 is not of type u'string'",
      },
    ],
    [
      'WRONG_TYPE (a timestamp)',
      { _timestamp: 5 },
      PLAIN,
      {
        field: '_timestamp',
        code: 'WRONG_TYPE',
        message:
          '_timestamp should be a date and time in quotes, such as "2024-01-31T00:00:00Z", not the number 5',
        backdropMessage: "5 is not of type u'string'",
      },
    ],
    [
      'WRONG_TYPE (a timestamp outside the schema)',
      { _timestamp: TS, _start_at: null },
      PLAIN,
      {
        field: '_start_at',
        code: 'WRONG_TYPE',
        message: '_start_at should be a date and time in quotes, such as "2024-01-31T00:00:00Z", not null',
        backdropMessage: '_start_at must be a string, not null',
      },
    ],
    [
      'BELOW_MINIMUM',
      { _timestamp: TS, count: -3, serviceType: 's', consulate: 'c', period: 'day' },
      { dataGroup: 'g', dataType: 'appointments' },
      {
        field: 'count',
        code: 'BELOW_MINIMUM',
        message: 'count should be at least 0, not the number -3',
        backdropMessage: '-3 is less than the minimum of 0',
      },
    ],
    [
      'ABOVE_MAXIMUM',
      { _timestamp: TS, percent: 100.5, consulate: 'c', period: 'day' },
      { dataGroup: 'g', dataType: 'utilisation' },
      {
        field: 'percent',
        code: 'ABOVE_MAXIMUM',
        message: 'percent should be at most 100, not the number 100.5',
        backdropMessage: '100.5 is greater than the maximum of 100',
      },
    ],
    [
      'NOT_ONE_OF',
      { _timestamp: TS, channel: 'post', count: 1, period: 'fortnight' },
      CHANNELS,
      {
        field: 'period',
        code: 'NOT_ONE_OF',
        message:
          'period should be one of hour, day, week, month, year, decade or century, not the text "fortnight"',
        backdropMessage:
          "'fortnight' is not one of [u'hour', u'day', u'week', u'month', u'year', u'decade', u'century']",
      },
    ],
    [
      'NOT_DATE_TIME (the schema)',
      { _timestamp: '2014-01-01' },
      PLAIN,
      {
        field: '_timestamp',
        code: 'NOT_DATE_TIME',
        message: '_timestamp "2014-01-01" is not a date and time such as 2024-01-31T00:00:00Z',
        backdropMessage: "'2014-01-01' is not a u'date-time'",
      },
    ],
    [
      'NOT_DATE_TIME (dateutil)',
      { _timestamp: TS, _end_at: 'garbage' },
      PLAIN,
      {
        field: '_end_at',
        code: 'NOT_DATE_TIME',
        message: '_end_at "garbage" is not a date and time such as 2024-01-31T00:00:00Z',
        backdropMessage: '_end_at must be a date in the format yyyy-MM-ddT00:00:00Z',
      },
    ],
    [
      'IMPOSSIBLE_DATE_TIME',
      { _timestamp: '2014-02-30T00:00:00Z' },
      PLAIN,
      {
        field: '_timestamp',
        code: 'IMPOSSIBLE_DATE_TIME',
        message:
          '_timestamp "2014-02-30T00:00:00Z" is a date and time that does not exist (check the day, month, time and offset)',
        backdropMessage: '2014-02-30T00:00:00Z in the _timestamp field is not a valid date',
      },
    ],
    [
      'INVALID_KEY',
      { _timestamp: TS, 'bad key': 1 },
      PLAIN,
      {
        field: 'bad key',
        code: 'INVALID_KEY',
        message:
          '"bad key" is not a valid field name: use two or more letters, digits and _, not starting with a digit',
        backdropMessage: 'bad key is not a valid key',
      },
    ],
    [
      'UNKNOWN_INTERNAL_FIELD',
      { _timestamp: TS, _secret: 1 },
      PLAIN,
      {
        field: '_secret',
        code: 'UNKNOWN_INTERNAL_FIELD',
        message:
          '_secret is not allowed: the only fields starting with _ are _timestamp, _start_at, _end_at and _id',
        backdropMessage: '_secret is not a recognised internal field',
      },
    ],
    [
      'INVALID_VALUE',
      { _timestamp: TS, tags: ['a'] },
      PLAIN,
      {
        field: 'tags',
        code: 'INVALID_VALUE',
        message: 'tags should be text, a number, true, false or null, not a list',
        backdropMessage: 'tags has an invalid value',
      },
    ],
    [
      'INVALID_ID',
      { _timestamp: TS, _id: 'a b' },
      PLAIN,
      {
        field: '_id',
        code: 'INVALID_ID',
        message: '_id should be text without spaces, not the text "a b"',
        backdropMessage: '_id "a b" is not a valid id',
      },
    ],
    [
      'INVALID_ID (made by the data set)',
      { _timestamp: TS, name: '' },
      { ...PLAIN, autoIds: ['name'] },
      {
        field: '_id',
        code: 'INVALID_ID',
        message: 'the _id this data set makes from name is empty: give it a value',
        backdropMessage: '_id "" is not a valid id',
      },
    ],
  ])('%s', (_code, record, rules, expected) => {
    expect(only(record, rules)).toEqual(expected);
  });
});

describe('recordProblems: one problem per record and field', () => {
  it('says once what backdrop says three times about one _timestamp', () => {
    expect(recordProblems([{ _timestamp: '2024-13-01', count: 1 }], PLAIN)).toEqual([
      {
        index: 0,
        field: '_timestamp',
        code: 'NOT_DATE_TIME',
        message: '_timestamp "2024-13-01" is not a date and time such as 2024-01-31T00:00:00Z',
        backdropMessage: "'2024-13-01' is not a u'date-time'",
      },
    ]);
  });

  it('a value breaking two constraints is told both', () => {
    const appointment = { _timestamp: TS, count: -1.5, serviceType: 's', consulate: 'c', period: 'day' };
    expect(only(appointment, { dataGroup: 'g', dataType: 'appointments' })).toEqual({
      field: 'count',
      code: 'WRONG_TYPE',
      message: 'count should be a whole number of at least 0, not the number -1.5',
      backdropMessage: "-1.5 is not of type u'integer'",
    });
  });

  it('a missing field that is both required and an id field is one problem', () => {
    expect(recordProblems([{ _timestamp: TS, count: 1 }], CHANNELS)).toEqual([
      {
        index: 0,
        field: 'channel',
        code: 'REQUIRED',
        message: 'channel is missing',
        backdropMessage: "u'channel' is a required property",
      },
    ]);
  });

  it("the batch's id-field message is each lacking record's problem", () => {
    const rules = { ...PLAIN, autoIds: ['postcode'] };
    const problems = recordProblems(
      [{ _timestamp: TS }, { _timestamp: TS, postcode: 'x' }, { _timestamp: TS }],
      rules,
    );
    expect(problems.map(({ index, field, code }) => [index, field, code])).toEqual([
      [0, 'postcode', 'ID_FIELD_MISSING'],
      [2, 'postcode', 'ID_FIELD_MISSING'],
    ]);
  });

  it('sorts by record, then missing fields in the schema order, then the record own order', () => {
    // Prepare: backdrop's order is schema errors of every record, then timestamps, then keys.
    const records = [
      { _timestamp: TS, channel: 'a', count: 1 },
      { 'bad-key': 1, count: 'x', _timestamp: 'garbage' },
      { period: 'fortnight' },
    ];

    // Act
    const problems = recordProblems(records, { dataGroup: 'g', dataType: 'transactions-by-channel' });

    // Assess
    expect(problems.map(({ index, field }) => [index, field])).toEqual([
      [1, 'channel'],
      [1, 'bad-key'],
      [1, 'count'],
      [1, '_timestamp'],
      [2, '_timestamp'],
      [2, 'count'],
      [2, 'channel'],
      [2, 'period'],
    ]);
  });

  it('is empty for records backdrop would store, and for no records', () => {
    expect(recordProblems([{ _timestamp: TS, channel: 'a', count: 1 }], CHANNELS)).toEqual([]);
    expect(recordProblems([], PLAIN)).toEqual([]);
  });
});

describe('plainMessage and describeValue', () => {
  it.each<[unknown, string]>([
    ['12', 'the text "12"'],
    ['', 'empty text'],
    [1.5, 'the number 1.5'],
    [new PythonFloat(1), 'the number 1.0'],
    [true, 'true'],
    [null, 'null'],
    [[1], 'a list'],
    [{ a: 1 }, 'an object'],
    ['x'.repeat(100), `the text "${'x'.repeat(60)}"…`],
    ['line\nbreak', 'the text "line\\nbreak"'],
  ])('describes %j as %s', (value, expected) => {
    expect(describeValue(value)).toBe(expected);
  });

  it('describes a Python long (the stand-in parses big integers as bigint) as a number', () => {
    expect(describeValue(12n)).toBe('the number 12');
  });

  it('names a record without a field as the record', () => {
    expect(plainMessage(undefined, { code: 'NOT_AN_OBJECT', value: null })).toMatch(/^the record should be/);
  });
});

describe('problemSummary', () => {
  const problem = (index: number | null) => ({ index, code: 'REQUIRED' as const, message: 'm' });

  it.each<[Parameters<typeof problemSummary>[0], string]>([
    [
      { records: 4, errors: [problem(0), problem(2), problem(2)], errorCount: 3, recordsWithProblems: 2 },
      '3 problems in 2 of 4 records',
    ],
    [
      { records: 1, errors: [problem(0)], errorCount: 1, recordsWithProblems: 1 },
      '1 problem in 1 of 1 record',
    ],
    [
      { records: 0, errors: [problem(null)], errorCount: 1, recordsWithProblems: 0 },
      '1 problem in the records',
    ],
    [
      { records: 3, errors: [problem(1), problem(null)], errorCount: 2, recordsWithProblems: 1 },
      '2 problems in 1 of 3 records and in the records as a whole',
    ],
    [{ records: 5, errors: [problem(0), problem(4)] }, '2 problems in 2 of 5 records'],
  ])('%j', (result, expected) => {
    expect(problemSummary(result)).toBe(expected);
  });

  it('counts all problems, not the listed ones nor the NOT_LISTED entry', () => {
    const errors = [
      problem(0),
      { index: null, code: 'NOT_LISTED' as const, message: '1499 more errors are not listed' },
    ];
    expect(problemSummary({ records: 2000, errors, errorCount: 1500, recordsWithProblems: 1500 })).toBe(
      '1500 problems in 1500 of 2000 records',
    );
  });
});
