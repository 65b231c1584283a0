import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { consoleLog } from '../../../local/console-log.js';

function printed(write: (log: ReturnType<typeof consoleLog>) => void): string[] {
  const lines: string[] = [];
  write(consoleLog((line) => lines.push(line.slice('hh:mm:ss  '.length))));
  return lines;
}

describe('the console of npm start', () => {
  it('shows the warnings of a file published with any, and nothing more for one without', () => {
    expect(
      printed((log) => {
        log.info('PUBLISH_SUCCEEDED', {
          sourceKey: 'incoming/d/replace/a.csv',
          fileKey: 'processed/a',
          warnings: 2,
        });
        log.info('PUBLISH_SUCCEEDED', {
          sourceKey: 'incoming/d/replace/b.csv',
          fileKey: 'processed/b',
          warnings: 1,
        });
        log.info('PUBLISH_SUCCEEDED', {
          sourceKey: 'incoming/d/replace/c.csv',
          fileKey: 'processed/c',
          warnings: 0,
        });
      }),
    ).toEqual([
      "published incoming/d/replace/a.csv -> processed/a (2 warnings: see the report's check.problems)",
      "published incoming/d/replace/b.csv -> processed/b (1 warning: see the report's check.problems)",
      'published incoming/d/replace/c.csv -> processed/c',
    ]);
  });

  it('says an unconfirmed file was sent and that its report comes before anything else', () => {
    expect(
      printed((log) =>
        log.warn('PUBLISH_UNCONFIRMED', {
          sourceKey: 'incoming/d/append/a.csv',
          fileKey: 'unconfirmed/a',
          errorCode: 'INGESTION_TIMEOUT',
        }),
      ),
    ).toEqual([
      'unconfirmed incoming/d/append/a.csv -> unconfirmed/a [INGESTION_TIMEOUT]: sent, outcome unknown; read the report before doing anything',
    ]);
  });

  it('gives every warning and error the service logs a readable line: no JSON, no message code', () => {
    const codes = warningCodes();
    expect(codes.length).toBeGreaterThan(20);
    const fields = {
      key: 'incoming/d/append/a.csv',
      sourceKey: 'incoming/d/append/a.csv',
      fileKey: 'failed/d/append/a.20261206T000000Z-0123abcd.csv',
      datasetId: 'd_1',
      dataGroup: 'g',
      dataType: 't',
      error: 'DgsTransientError',
      errorCode: 'CSV_INVALID',
      reason: 'socket hang up',
      outcome: 'failed',
      problems: ['one'],
    };
    for (const code of codes) {
      const lines = printed((log) => log.warn(code, fields));
      expect(lines.length, code).toBeLessThanOrEqual(1);
      for (const line of lines) {
        // A code in brackets is the outcome's code, which the report names too.
        expect(line.replace(/\[[A-Z_]+\]/g, ''), code).not.toMatch(/[A-Z]{2,}_[A-Z_]+|[{}]/);
      }
    }
  });

  it('shows the stack of an unexpected error, indented under its line', () => {
    expect(
      printed((log) =>
        log.error('HTTP_UNEXPECTED_ERROR', {
          error: 'TypeError',
          message: 'x is undefined',
          stack: 'TypeError: x is undefined\n    at f (a.ts:1:1)',
        }),
      ),
    ).toEqual([
      'error     an HTTP request failed unexpectedly (TypeError: x is undefined); it was answered 500\n            TypeError: x is undefined\n                at f (a.ts:1:1)',
    ]);
  });

  it('puts a warning without a line of its own into words', () => {
    expect(printed((log) => log.warn('SOMETHING_NEW', { datasetId: 'd_1', count: 2 }))).toEqual([
      'warning   something new: datasetId d_1, count 2',
    ]);
  });
});

/** The message codes of every log.warn and log.error call in the functions and the library. */
function warningCodes(): string[] {
  const root = new URL('../../../', import.meta.url).pathname;
  const sources = (dir: string): string[] =>
    readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory()
        ? sources(join(dir, entry.name))
        : entry.name.endsWith('.ts')
          ? [readFileSync(join(root, dir, entry.name), 'utf8')]
          : [],
    );
  const found = [...sources('lib'), ...sources('functions')].flatMap((text) =>
    [...text.matchAll(/log\.(?:warn|error)\(\s*'([A-Z_]+)'/g)].map((match) => match[1] ?? ''),
  );
  return [...new Set(found)].sort();
}
