import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findLocalRun, removeLocalRun, writeLocalRun } from '../../../../lib/cli/local-run.js';
import { describeReport, parseSince, reportKeyOf, summarise } from '../../../../lib/cli/reports.js';
import type { ForwardFileReport } from '../../../../lib/performance-platform/forward-file.js';

const NOW = new Date('2026-12-06T12:00:00Z');

describe('reports --since', () => {
  it('takes minutes, hours and days back from now, and ISO dates and times', () => {
    expect(parseSince('30m', NOW).toISOString()).toBe('2026-12-06T11:30:00.000Z');
    expect(parseSince('24h', NOW).toISOString()).toBe('2026-12-05T12:00:00.000Z');
    expect(parseSince('7D', NOW).toISOString()).toBe('2026-11-29T12:00:00.000Z');
    expect(parseSince('2026-12-01', NOW).toISOString()).toBe('2026-12-01T00:00:00.000Z');
    expect(parseSince('2026-12-01T08:00:00+08:00', NOW).toISOString()).toBe('2026-12-01T00:00:00.000Z');
  });

  it('refuses what is neither, with exit 2', () => {
    for (const value of ['yesterday', '5', '10s', '2026-13-45', '']) {
      expect(() => parseSince(value, NOW), value).toThrow(expect.objectContaining({ exitCode: 2 }));
    }
  });
});

describe('report keys', () => {
  it("accept the filed file's key or the report's", () => {
    expect(reportKeyOf('failed/d/replace/a.20261206T000000Z-00000000.csv')).toBe(
      'failed/d/replace/a.20261206T000000Z-00000000.csv.report.json',
    );
    expect(reportKeyOf('failed/x.csv.report.json')).toBe('failed/x.csv.report.json');
  });
});

describe('a forwarded file in the listing and shown', () => {
  const forwarded: ForwardFileReport = {
    reportVersion: 2,
    outcome: 'failed',
    dataGroup: 'carers-allowance',
    dataType: 'transaction-count',
    bucket: 'b',
    sourceKey: 'incoming/performance/carers-allowance/transaction-count/x.json',
    fileKey: 'failed/performance/carers-allowance/transaction-count/x.20261206T000000Z-00000000.json',
    reportKey:
      'failed/performance/carers-allowance/transaction-count/x.20261206T000000Z-00000000.json.report.json',
    size: 10,
    requestedBy: null,
    droppedBy: 'AWS:AIDAEXAMPLE',
    times: {
      droppedAt: '2026-12-06T00:00:00.000Z',
      startedAt: '2026-12-06T00:00:01.000Z',
      finishedAt: '2026-12-06T00:00:02.000Z',
    },
    result: {
      outcome: 'invalid',
      dataGroup: 'carers-allowance',
      dataType: 'transaction-count',
      records: 2,
      errors: [{ index: 1, message: 'count should be a number' }],
      chunks: [],
      requestIds: [],
    } as unknown as ForwardFileReport['result'],
    error: { code: 'PP_INVALID_RECORDS', message: 'A record is invalid.' },
    notes: ['filed again after a retry'],
  };

  it('is named by its data set and code', () => {
    expect(summarise(forwarded, { key: forwarded.reportKey, lastModified: new Date(0) })).toEqual({
      finishedAt: '2026-12-06T00:00:02.000Z',
      outcome: 'failed',
      target: 'carers-allowance/transaction-count',
      code: 'PP_INVALID_RECORDS',
      sourceKey: forwarded.sourceKey,
      reportKey: forwarded.reportKey,
    });
  });

  it('shows its data set, who dropped it, records, problems and notes', () => {
    expect(describeReport(forwarded)).toEqual([
      'outcome      failed (PP_INVALID_RECORDS)',
      'data set     carers-allowance/transaction-count',
      `dropped as   ${forwarded.sourceKey}`,
      `filed at     ${forwarded.fileKey}`,
      'size         10 bytes',
      'dropped at   2026-12-06T00:00:00.000Z',
      'finished at  2026-12-06T00:00:02.000Z',
      'dropped by   AWS:AIDAEXAMPLE',
      'error        A record is invalid.',
      'records      2 (invalid)',
      '  record 1:',
      '    count should be a number',
      'note         filed again after a retry',
      `report       ${forwarded.reportKey}`,
    ]);
  });
});

describe('the local run file', () => {
  it('is found while its process lives, ignored when stale or broken, and removed only by its own run', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'govpub-local-run-unit-')), 'local-run.json');
    expect(findLocalRun(file)).toBeUndefined();
    const run = {
      pid: process.pid,
      bucket: 'govpub-local-drop',
      s3Endpoint: 'http://127.0.0.1:4569',
      dataGovSgIsLocal: true,
      startedAt: NOW.toISOString(),
    };
    writeLocalRun(run, file);
    expect(findLocalRun(file)).toEqual(run);
    removeLocalRun(process.pid + 1, file);
    expect(findLocalRun(file)).toEqual(run);
    removeLocalRun(process.pid, file);
    expect(findLocalRun(file)).toBeUndefined();
    // A process that no longer runs (pids stay below 2^22 on Linux).
    writeLocalRun({ ...run, pid: 2 ** 22 + 7 }, file);
    expect(findLocalRun(file)).toBeUndefined();
    writeFileSync(file, '{not json');
    expect(findLocalRun(file)).toBeUndefined();
  });
});
