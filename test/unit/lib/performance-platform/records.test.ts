import { describe, expect, it } from 'vitest';
import {
  autoId,
  type DataSetRules,
  dataSetName,
  PythonFloat,
  pythonRepr,
  pythonStr,
  RESERVED_KEYWORDS,
  type RecordError,
  VALID_KEY,
  validateRecords,
  withAutoId,
} from '../../../../lib/performance-platform/records.js';

const TS = '2014-01-01T00:00:00Z';
const PLAIN: DataSetRules = { dataGroup: 'carers-allowance', dataType: 'transaction-count' };
const CONSULAR_PERIODS = "[u'second', u'minute', u'hour', u'day', u'week', u'month', u'year']";

/** Messages of a one-record batch. */
function messages(record: unknown, rules: DataSetRules = PLAIN): string[] {
  return validateRecords([record], rules).map((error) => error.message);
}

describe('constants and names', () => {
  it("exports backdrop's key pattern and reserved keywords", () => {
    expect(VALID_KEY.source).toBe('^[a-z_][a-z0-9_]+$');
    expect(RESERVED_KEYWORDS).toEqual(['_timestamp', '_start_at', '_end_at', '_id']);
  });

  it('names data sets as stagecraft did', () => {
    expect(dataSetName('carers-allowance', 'transaction-count')).toBe('carers_allowance_transaction_count');
    expect(dataSetName('a-b-c', 'd')).toBe('a_b_c_d');
  });
});

describe('pythonStr and pythonRepr (Python 2.7, checked against a real interpreter)', () => {
  it.each<[unknown, string]>([
    [1, '1'],
    [new PythonFloat(1), '1.0'],
    [0.1, '0.1'],
    [1 / 3, '0.333333333333'],
    [123456789012.5, '1.23456789012e+11'],
    [99999999999.5, '99999999999.5'],
    [1e-5, '1e-05'],
    [5e-324, '4.94065645841e-324'],
    // JSON.stringify sends 1e16 as 10000000000000000, an int; a written float stays a float
    [1e16, '10000000000000000'],
    [new PythonFloat(1e16), '1e+16'],
    [new PythonFloat(1e11), '1e+11'],
    [new PythonFloat(1e10), '10000000000.0'],
    [1e21, '1e+21'],
    [new PythonFloat(-0), '-0.0'],
    [12345678901234567890n, '12345678901234567890'],
    [true, 'True'],
    [false, 'False'],
    [null, 'None'],
    ['abc', 'abc'],
    ['café', 'café'],
    [[1, 'a'], "[1, 'a']"],
    [{ a: 1 }, "{'a': 1}"],
  ])('str(%s) is %j', (value, expected) => {
    expect(pythonStr(value)).toBe(expected);
  });

  it.each<[unknown, string]>([
    ['abc', "'abc'"],
    ["it's", '"it\'s"'],
    ['a"b\'c', "'a\"b\\'c'"],
    ['café', "'caf\\xc3\\xa9'"],
    ['\t\n\u0000\u007f', "'\\t\\n\\x00\\x7f'"],
    [new PythonFloat(1), '1.0'],
    [new PythonFloat(1e15), '1000000000000000.0'],
    [1 / 3, '0.3333333333333333'],
    [123456789.12345679, '123456789.12345679'],
    [9223372036854775807n, '9223372036854775807'],
    [9223372036854775808n, '9223372036854775808L'],
    [1e20, '100000000000000000000L'],
    [true, 'True'],
    [null, 'None'],
    [[1, 'a', null], "[1, 'a', None]"],
  ])('repr(%s) is %j', (value, expected) => {
    expect(pythonRepr(value)).toBe(expected);
  });
});

describe('autoId', () => {
  it.each<[Record<string, unknown>, string[], string]>([
    [{ foo: 'bar' }, ['foo'], 'YmFy'],
    [{ postcode: 'WC2B 6SE', number: 125 }, ['postcode', 'number'], 'V0MyQiA2U0UuMTI1'],
    [{ foo: 1, bar: 'foo' }, ['foo', 'bar'], 'MS5mb28='],
    // raw values, before timestamps are parsed
    [
      { _timestamp: '2013-08-01T00:00:00+00:00', foo: 'bar' },
      ['_timestamp', 'foo'],
      'MjAxMy0wOC0wMVQwMDowMDowMCswMDowMC5iYXI=',
    ],
    [
      { a: new PythonFloat(1), b: true, c: null },
      ['a', 'b', 'c'],
      Buffer.from('1.0.True.None').toString('base64'),
    ],
    [{ a: 'é' }, ['a'], Buffer.from('é', 'utf8').toString('base64')],
  ])('%j with %j -> %s', (record, keys, expected) => {
    expect(autoId(record, keys)).toBe(expected);
  });

  it("replaces the client's _id", () => {
    expect(withAutoId({ _id: 'mine', foo: 'bar' }, ['foo'])).toEqual({ _id: 'YmFy', foo: 'bar' });
  });
});

describe('validateRecords: keys (§3.3.1, §3.3.2)', () => {
  it.each<[string, string[]]>([
    ['ab', []],
    ['dataType', []],
    ['authorityUrlSlug', []],
    ['a_1', []],
    ['x_', []],
    ['a', ['a is not a valid key']],
    ['a-b', ['a-b is not a valid key']],
    ['a.b', ['a.b is not a valid key']],
    ['a:b', ['a:b is not a valid key']],
    ['a;b', ['a;b is not a valid key']],
    ['a b', ['a b is not a valid key']],
    ['', [' is not a valid key']],
    ['1ab', ['1ab is not a valid key']],
    ['count\n', ['count\n is not a valid key']],
    // non-ASCII: backdrop answered 500; the Kelvin sign would lower-case to an ASCII "k" in JS
    ['café', ['café is not a valid key']],
    ['\u212Aey', ['\u212Aey is not a valid key']],
    ['_', ['_ is not a valid key']],
    ['_foo', ['_foo is not a recognised internal field']],
    ['_day_start_at', ['_day_start_at is not a recognised internal field']],
    ['_updated_at', ['_updated_at is not a recognised internal field']],
    ['_ID', ['_ID is not a recognised internal field']],
  ])('key %j -> %j', (key, expected) => {
    expect(messages({ _timestamp: TS, [key]: 1 })).toEqual(expected);
  });
});

describe('validateRecords: values (§3.3.3)', () => {
  it.each<[unknown, string[]]>([
    [1, []],
    [1.5, []],
    [new PythonFloat(2), []],
    [2n ** 70n, []],
    ['text', []],
    ['non-ASCII é', []],
    [true, []],
    [null, []],
    [[1], ['value has an invalid value']],
    [[], ['value has an invalid value']],
    [{ a: 1 }, ['value has an invalid value']],
    // JSON.stringify would silently send these as null
    [Number.NaN, ['value has an invalid value']],
    [Number.POSITIVE_INFINITY, ['value has an invalid value']],
    [undefined, ['value has an invalid value']],
  ])('%s -> %j', (value, expected) => {
    expect(messages({ _timestamp: TS, value })).toEqual(expected);
  });
});

describe('validateRecords: _id (§3.3.4)', () => {
  it.each<[unknown, string[]]>([
    ['a', []],
    ['unique-identifier-1', []],
    ['a/b=c+d:e', []],
    // Python 2's byte-string \s did not include U+00A0
    ['a\u00a0b', []],
    [7, ['_id "7" is not a valid id']],
    [new PythonFloat(7), ['_id "7.0" is not a valid id']],
    [null, ['_id "None" is not a valid id']],
    [true, ['_id "True" is not a valid id']],
    ['', ['_id "" is not a valid id']],
    ['a b', ['_id "a b" is not a valid id']],
    ['a\tb', ['_id "a\tb" is not a valid id']],
    ['a\nb', ['_id "a\nb" is not a valid id']],
    [['x'], ['_id has an invalid value']],
  ])('_id %j -> %j', (id, expected) => {
    expect(messages({ _timestamp: TS, _id: id })).toEqual(expected);
  });
});

describe('validateRecords: _timestamp, _start_at, _end_at (§3.3.5, §3.3.6)', () => {
  const DATE_FORMAT = 'the _timestamp must be a date in the format yyyy-MM-ddT00:00:00Z';
  const NOT_DATETIME = '_timestamp is not a valid datetime object';

  it.each<[string, Record<string, unknown>, string[]]>([
    ['valid', { _timestamp: TS }, []],
    ['missing (the schema requires it)', { count: 1 }, ["u'_timestamp' is a required property"]],
    [
      'a date without time (schema only)',
      { _timestamp: '2014-01-01' },
      ["'2014-01-01' is not a u'date-time'"],
    ],
    [
      'unparseable',
      { _timestamp: 'garbage' },
      ["'garbage' is not a u'date-time'", DATE_FORMAT, NOT_DATETIME],
    ],
    [
      'passes the schema, dateutil cannot parse it',
      { _timestamp: '2014-W01-1T00:00:00Z' },
      [DATE_FORMAT, NOT_DATETIME],
    ],
    [
      'impossible',
      { _timestamp: '2014-02-30T00:00:00Z' },
      [
        "'2014-02-30T00:00:00Z' is not a u'date-time'",
        '2014-02-30T00:00:00Z in the _timestamp field is not a valid date',
        NOT_DATETIME,
      ],
    ],
    [
      'an offset of a day or more (passes the schema)',
      { _timestamp: '2014-01-01T00:00:00+25:00' },
      ['2014-01-01T00:00:00+25:00 in the _timestamp field is not a valid date', NOT_DATETIME],
    ],
    [
      'a number (backdrop: 500)',
      { _timestamp: 1 },
      ["1 is not of type u'string'", 'the _timestamp must be a string, not number', NOT_DATETIME],
    ],
    [
      'null (backdrop: 500)',
      { _timestamp: null },
      ["None is not of type u'string'", 'the _timestamp must be a string, not null', NOT_DATETIME],
    ],
    [
      'an array',
      { _timestamp: ['x'] },
      [
        "['x'] is not of type u'string'",
        'the _timestamp must be a string, not array',
        '_timestamp has an invalid value',
      ],
    ],
    ['_start_at without a T (no schema for it)', { _timestamp: TS, _start_at: '2014-01-01' }, []],
    [
      '_start_at unparseable',
      { _timestamp: TS, _start_at: 'garbage' },
      [
        '_start_at must be a date in the format yyyy-MM-ddT00:00:00Z',
        '_start_at is not a valid datetime object',
      ],
    ],
    [
      '_end_at impossible',
      { _timestamp: TS, _end_at: '2014-13-01T00:00:00Z' },
      [
        '2014-13-01T00:00:00Z in the _end_at field is not a valid date',
        '_end_at is not a valid datetime object',
      ],
    ],
    [
      'the last failing field wins; the first failing key gets the companion',
      { _timestamp: TS, _start_at: 'garbage', _end_at: '2014-02-30T00:00:00Z' },
      [
        '2014-02-30T00:00:00Z in the _end_at field is not a valid date',
        '_start_at is not a valid datetime object',
      ],
    ],
    [
      'an earlier invalid key takes the place of the companion',
      { 'a-b': 1, _timestamp: 'garbage' },
      ["'garbage' is not a u'date-time'", DATE_FORMAT, 'a-b is not a valid key'],
    ],
  ])('%s', (_name, record, expected) => {
    expect(messages(record)).toEqual(expected);
  });
});

describe('validateRecords: data-type schemas (§3.3.6)', () => {
  const rules = (dataType: string): DataSetRules => ({ dataGroup: 'g', dataType });

  it.each<[string, Record<string, unknown>]>([
    ['appointments', { count: 0, serviceType: 's', consulate: 'c', period: 'week' }],
    [
      'customer-satisfaction',
      { comments: 1, rating_1: 1, rating_2: 1, rating_3: 1, rating_4: 1, rating_5: 1, total: 5, slug: 's' },
    ],
    ['monitoring', { uptime: 1, downtime: 0 }],
    ['no-show', { count: 3, consulate: 'c', period: 'day' }],
    ['realtime', { for_url: '/x', unique_visitors: 3 }],
    ['transactions-by-channel', { count: -5, channel: 'digital', period: 'century' }],
    ['transactions-by-channel', { count: 1, channel: 'digital' }],
    ['utilisation', { percent: 100, consulate: 'c', period: 'second' }],
    ['utilisation', { percent: new PythonFloat(0), consulate: 'c', period: 'year' }],
    ['utilisation', { percent: 12.5, consulate: 'c', period: 'year' }],
  ])('a valid %s record passes', (dataType, fields) => {
    expect(messages({ _timestamp: TS, ...fields }, rules(dataType))).toEqual([]);
  });

  it.each<[string, string[]]>([
    ['appointments', ['count', 'serviceType', 'consulate', 'period']],
    [
      'customer-satisfaction',
      ['comments', 'rating_1', 'rating_2', 'rating_3', 'rating_4', 'rating_5', 'slug', 'total'],
    ],
    ['monitoring', ['uptime', 'downtime']],
    ['no-show', ['count', 'consulate', 'period']],
    ['realtime', ['for_url', 'unique_visitors']],
    ['transactions-by-channel', ['count', 'channel']],
    ['utilisation', ['percent', 'consulate', 'period']],
  ])('%s requires %j, reported in that order after _timestamp', (dataType, fields) => {
    expect(messages({}, rules(dataType))).toEqual([
      "u'_timestamp' is a required property",
      ...fields.map((field) => `u'${field}' is a required property`),
    ]);
  });

  it.each<[string, Record<string, unknown>, string[]]>([
    [
      'appointments',
      { count: 'abc', serviceType: 1, consulate: null, period: 'fortnight' },
      [
        "'abc' is not of type u'integer'",
        "1 is not of type u'string'",
        "None is not of type u'string'",
        `'fortnight' is not one of ${CONSULAR_PERIODS}`,
      ],
    ],
    [
      'appointments',
      { count: -1.5, serviceType: 's', consulate: 'c', period: 'day' },
      ['-1.5 is less than the minimum of 0', "-1.5 is not of type u'integer'"],
    ],
    [
      'no-show',
      { count: new PythonFloat(1), consulate: 'c', period: 'day' },
      ["1.0 is not of type u'integer'"],
    ],
    ['no-show', { count: -1, consulate: 'c', period: 'day' }, ['-1 is less than the minimum of 0']],
    [
      'no-show',
      { count: true, consulate: 'c', period: 1 },
      ["True is not of type u'integer'", `1 is not one of ${CONSULAR_PERIODS}`],
    ],
    [
      // jsonschema followed Python's dict order of "properties", not the file's
      'customer-satisfaction',
      {
        comments: 'x',
        rating_1: 'x',
        rating_2: 'x',
        rating_3: 'x',
        rating_4: 'x',
        rating_5: 'x',
        slug: 1,
        total: 'x',
      },
      [
        "'x' is not of type u'integer'",
        "'x' is not of type u'integer'",
        "'x' is not of type u'integer'",
        "'x' is not of type u'integer'",
        "'x' is not of type u'integer'",
        "'x' is not of type u'integer'",
        "'x' is not of type u'integer'",
        "1 is not of type u'string'",
      ],
    ],
    [
      'monitoring',
      { uptime: 1.5, downtime: '0' },
      ["1.5 is not of type u'integer'", "'0' is not of type u'integer'"],
    ],
    [
      'realtime',
      { for_url: 1, unique_visitors: 'many' },
      ["1 is not of type u'string'", "'many' is not of type u'integer'"],
    ],
    [
      'transactions-by-channel',
      { count: new PythonFloat(1), channel: 'x', period: 'second' },
      [
        "1.0 is not of type u'integer'",
        "'second' is not one of [u'hour', u'day', u'week', u'month', u'year', u'decade', u'century']",
      ],
    ],
    [
      'utilisation',
      { percent: 100.5, consulate: 'c', period: 'day' },
      ['100.5 is greater than the maximum of 100'],
    ],
    ['utilisation', { percent: -0.1, consulate: 'c', period: 'day' }, ['-0.1 is less than the minimum of 0']],
    ['utilisation', { percent: '50', consulate: 'c', period: 'day' }, ["'50' is not of type u'number'"]],
    ['utilisation', { percent: false, consulate: 'c', period: 'day' }, ["False is not of type u'number'"]],
  ])('%s %j -> %j', (dataType, fields, expected) => {
    expect(messages({ _timestamp: TS, ...fields }, rules(dataType))).toEqual(expected);
  });

  it('a data type without a schema gets only the timestamp schema', () => {
    expect(messages({ _timestamp: TS, count: 'anything' }, rules('transaction-count'))).toEqual([]);
    expect(messages({ _timestamp: TS }, rules('__proto__'))).toEqual([]);
  });

  it("reports customer-satisfaction ratings in Python's dict order", () => {
    const wrong = {
      comments: 1,
      rating_1: 'r1',
      rating_2: 'r2',
      rating_3: 'r3',
      rating_4: 'r4',
      rating_5: 'r5',
      slug: 's',
      total: 1,
    };
    expect(messages({ _timestamp: TS, ...wrong }, rules('customer-satisfaction'))).toEqual([
      "'r4' is not of type u'integer'",
      "'r5' is not of type u'integer'",
      "'r2' is not of type u'integer'",
      "'r3' is not of type u'integer'",
      "'r1' is not of type u'integer'",
    ]);
  });
});

describe('validateRecords: auto_ids (§3.3.7)', () => {
  const rules: DataSetRules = { dataGroup: 'g', dataType: 't', autoIds: ['postcode', 'number'] };

  it('one batch-level error, listing every field some record lacks, in configuration order', () => {
    const errors = validateRecords(
      [
        { _timestamp: TS, postcode: 'WC2B 6SE' },
        { _timestamp: TS, number: 1 },
        { _timestamp: TS, postcode: 'x', number: 2 },
      ],
      rules,
    );
    expect(errors).toEqual([
      { index: null, message: 'The following required id fields are missing: postcode, number' },
    ]);
  });

  it('a null value is present (it prints as None)', () => {
    expect(messages({ _timestamp: TS, postcode: null, number: 1 }, rules)).toEqual([]);
  });

  it('the generated _id replaces a bad client _id', () => {
    expect(messages({ _timestamp: TS, postcode: 'x', number: 1, _id: 7 }, rules)).toEqual([]);
    expect(messages({ _timestamp: TS, _id: 7 }, { ...rules, autoIds: [] })).toEqual([
      '_id "7" is not a valid id',
    ]);
  });

  it('an empty generated _id is invalid', () => {
    expect(messages({ _timestamp: TS, name: '' }, { ...rules, autoIds: ['name'] })).toEqual([
      '_id "" is not a valid id',
    ]);
  });

  it('the other checks still run', () => {
    const errors = validateRecords([{ _timestamp: 'garbage', 'a-b': 1 }], rules);
    expect(errors.map((error) => error.message)).toEqual([
      "'garbage' is not a u'date-time'",
      'The following required id fields are missing: postcode, number',
      'the _timestamp must be a date in the format yyyy-MM-ddT00:00:00Z',
      // the first failing key in record order is _timestamp
      '_timestamp is not a valid datetime object',
    ]);
  });
});

describe('validateRecords: a batch', () => {
  it("collects every error, in backdrop's phase order, with record indexes", () => {
    const errors = validateRecords(
      [
        { _timestamp: TS, count: 1 },
        { _timestamp: '2014-01-01', 'bad-key': 1 },
        42,
        { _timestamp: 'garbage', _id: '' },
        { count: 2 },
      ],
      { dataGroup: 'g', dataType: 'monitoring' },
    );
    const expected: RecordError[] = [
      { index: 0, message: "u'uptime' is a required property" },
      { index: 0, message: "u'downtime' is a required property" },
      { index: 1, message: "'2014-01-01' is not a u'date-time'" },
      { index: 1, message: "u'uptime' is a required property" },
      { index: 1, message: "u'downtime' is a required property" },
      { index: 2, message: 'record 2 is not a JSON object' },
      { index: 3, message: "'garbage' is not a u'date-time'" },
      { index: 3, message: "u'uptime' is a required property" },
      { index: 3, message: "u'downtime' is a required property" },
      { index: 4, message: "u'_timestamp' is a required property" },
      { index: 4, message: "u'uptime' is a required property" },
      { index: 4, message: "u'downtime' is a required property" },
      { index: 3, message: 'the _timestamp must be a date in the format yyyy-MM-ddT00:00:00Z' },
      { index: 1, message: 'bad-key is not a valid key' },
      { index: 3, message: '_timestamp is not a valid datetime object' },
    ];
    expect(errors).toEqual(expected);
  });

  it.each<[unknown]>([[1], ['x'], [null], [[]], [true], [new PythonFloat(1)]])(
    'a non-object record (%j) gets one clear error and no other check',
    (record) => {
      expect(validateRecords([record], { dataGroup: 'g', dataType: 'monitoring', autoIds: ['a'] })).toEqual([
        { index: 0, message: 'record 0 is not a JSON object' },
      ]);
    },
  );

  it('an empty batch is valid', () => {
    expect(validateRecords([], PLAIN)).toEqual([]);
  });

  it('does not change the records it is given', () => {
    const record = { _timestamp: TS, foo: 'bar', _id: 'mine' };
    validateRecords([record], { ...PLAIN, autoIds: ['foo'] });
    expect(record).toEqual({ _timestamp: TS, foo: 'bar', _id: 'mine' });
  });
});
