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
});
