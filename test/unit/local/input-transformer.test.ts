import { describe, expect, it } from 'vitest';
import { transformInput } from '../../../local/aws/input-transformer.js';

describe("a rule target's input transformer", () => {
  const transformer = {
    InputPathsMap: { what: '$.detail-type', file: '$.detail.sourceKey', code: '$.detail.error.code' },
    InputTemplate: '"<what>: file <file>. <code>"',
  };

  it('puts the picked values into the template', () => {
    expect(
      transformInput(transformer, {
        'detail-type': 'Dataset Publish Failed',
        detail: { sourceKey: 'incoming/a/x.csv', error: { code: 'CSV_INVALID' } },
      }),
    ).toBe('"Dataset Publish Failed: file incoming/a/x.csv. CSV_INVALID"');
  });

  it('escapes a quote in a value, so the message stays one JSON string; a missing path inserts nothing', () => {
    const message = transformInput(transformer, {
      'detail-type': 'Dataset Publish Failed',
      detail: { sourceKey: 'incoming/a/"x".csv' },
    });
    expect(JSON.parse(message)).toBe('Dataset Publish Failed: file incoming/a/"x".csv. ');
  });

  it('picks an element of an array by index', () => {
    expect(
      transformInput(
        {
          InputPathsMap: { first: '$.detail.errors[0].message', none: '$.detail.errors[5].message' },
          InputTemplate: '"<first>|<none>"',
        },
        { detail: { errors: [{ message: 'one' }, { message: 'two' }] } },
      ),
    ).toBe('"one|"');
  });
});
