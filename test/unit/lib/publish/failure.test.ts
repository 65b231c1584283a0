import { describe, expect, it } from 'vitest';
import type { CsvCheckReport } from '../../../../lib/csv-check/types.js';
import {
  ConfigError,
  CsvRejectedError,
  DgsTransientError,
  DropRejectedError,
  ParameterUnavailableError,
  UploadFailedError,
} from '../../../../lib/errors.js';
import {
  failed,
  failureFromCaught,
  failureFromError,
  PUBLISHED,
  unconfirmed,
  verdictOfPublication,
} from '../../../../lib/publish/failure.js';
import type {
  PollState,
  Publication,
  PublicationState,
  StatusSeen,
} from '../../../../lib/publish/publication.js';

const DROP_AGAIN = /drop (the file|it) again/i;
const AT = '2026-12-05T00:00:00.000Z';

function publication(uploads: number, mode: 'replace' | 'append' = 'append'): Publication {
  return {
    publicationId: 'p',
    lockToken: 'p',
    bucket: 'b',
    sourceKey: 'incoming/d/append/a.csv',
    datasetRef: 'd',
    datasetId: 'd_07c63be0f37e6e59c07a4ddc2fd87fcb',
    mode,
    newColumns: false,
    size: 1,
    etag: 'e',
    md5Hex: 'm',
    md5Base64: 'b',
    droppedAt: AT,
    requestedBy: null,
    droppedBy: null,
    uploads: Array.from({ length: uploads }, () => ({
      startedAt: AT,
      finishedAt: AT,
      baseline: { status: 'NA', version: 0, updatedAt: 1 },
      links: 1,
      unconfirmed: false,
    })),
  };
}

function seen(status: string, ofThisUpload: boolean): StatusSeen {
  return {
    status,
    rawStatus: status === 'INGESTION_FAILED' ? 'Ingestion Failed' : status,
    version: 4,
    updatedAt: 2,
    ofThisUpload,
    firstSeenAt: AT,
    lastSeenAt: AT,
    polls: 1,
  };
}

function poll(overrides: Partial<PollState>): PollState {
  return {
    startedAt: AT,
    deadlineAt: '2026-12-05T03:00:00.000Z',
    nextWaitSeconds: 30,
    polls: 1,
    statuses: [],
    decision: 'file',
    ...overrides,
  };
}

function state(overrides: Partial<PublicationState> = {}): PublicationState {
  return { publication: publication(1), poll: poll({}), ...overrides };
}

const noOpenSend = { unrecordedSend: false };

describe('verdictOfPublication: what polling decided', () => {
  it('published only on this upload’s success', () => {
    expect(verdictOfPublication(state({ poll: poll({ result: 'published' }) }), noOpenSend)).toBe(PUBLISHED);
  });

  it.each([
    [
      'validation-failed',
      'DGS_VALIDATION_FAILED',
      /rejected the file in validation.*Fix the data and drop the file again/,
    ],
    [
      'ingestion-failed',
      'DGS_INGESTION_FAILED',
      /failed to ingest the file 2 time\(s\).*Nothing was published/,
    ],
  ] as const)('%s is failed (data.gov.sg said so): %s', (result, code, message) => {
    const verdict = verdictOfPublication(
      state({ publication: publication(2), poll: poll({ result }) }),
      noOpenSend,
    );
    expect(verdict).toMatchObject({ outcome: 'failed', failure: { code } });
    expect(verdict.outcome === 'published' ? '' : verdict.failure.message).toMatch(message);
  });

  it.each([
    ['not-arrived', 'UPLOAD_UNCONFIRMED', /connection broke before S3 answered.*never showed it arriving/],
    [
      'deadline-passed',
      'INGESTION_TIMEOUT',
      /had not finished processing it by 2026-12-05T03:00:00.000Z; it may still complete/,
    ],
    [
      'no-answer',
      'DGS_UNAVAILABLE',
      /could not be read from 2026-12-05T01:00:00Z until the deadline \(DgsTransientError: down\)/,
    ],
  ] as const)('%s is unconfirmed (%s), never "drop it again"', (result, code, message) => {
    const verdict = verdictOfPublication(
      state({
        poll: poll({
          result,
          outage: { since: '2026-12-05T01:00:00Z', failedChecks: 3, lastError: 'DgsTransientError: down' },
        }),
      }),
      noOpenSend,
    );
    expect(verdict).toMatchObject({ outcome: 'unconfirmed', failure: { code } });
    const text = verdict.outcome === 'published' ? '' : verdict.failure.message;
    expect(text).toMatch(message);
    expect(text).not.toMatch(DROP_AGAIN);
  });

  it('names the outage’s start as "the last check" when none was recorded', () => {
    const verdict = verdictOfPublication(state({ poll: poll({ result: 'no-answer' }) }), noOpenSend);
    expect(verdict.outcome === 'published' ? '' : verdict.failure.message).toMatch(
      /could not be read from the last check until the deadline \(no answer\)/,
    );
  });

  it('a poll state without a result is a bug, and still unconfirmed', () => {
    expect(verdictOfPublication(state({ poll: poll({}) }), noOpenSend)).toMatchObject({
      outcome: 'unconfirmed',
      failure: { code: 'INTERNAL', message: expect.stringMatching(/without a result \(a bug in govpub\)/) },
    });
  });
});

describe('verdictOfPublication: an error the state machine caught', () => {
  const afterIngestionFailed = poll({ decision: 'reupload', statuses: [seen('INGESTION_FAILED', true)] });

  it.each([
    'DgsTransientError',
    'DatasetBusyError',
    'UploadFailedError',
    'SourceChangedError',
    'LockStoreUnavailableError',
    'ParameterUnavailableError',
    'ConfigError',
    'DgsAuthError',
    'DgsNotFoundError',
    'DgsResponseError',
    'UploadUrlNotAllowedError',
  ])('a re-upload after Ingestion Failed that failed with %s stored nothing: failed', (name) => {
    const verdict = verdictOfPublication(
      state({ poll: afterIngestionFailed, error: { Error: name, Cause: 'it broke.' } }),
      noOpenSend,
    );
    expect(verdict.outcome).toBe('failed');
    expect(verdict.outcome === 'published' ? '' : verdict.failure.message).toMatch(
      /^data\.gov\.sg failed to ingest the file \(Ingestion Failed\), and sending it again failed: it broke\. Nothing was published\./,
    );
  });

  it.each([
    [
      'the lock shows a send begun that the state does not hold',
      afterIngestionFailed,
      { Error: 'DgsTransientError' },
      { unrecordedSend: true },
    ],
    [
      'a Lambda killed or timed out (it may have died after its send)',
      afterIngestionFailed,
      { Error: 'Sandbox.Timedout' },
      noOpenSend,
    ],
    ['an unknown error', afterIngestionFailed, { Error: 'TypeError', Cause: 'x is undefined' }, noOpenSend],
    [
      'the re-upload of a send that never arrived (not Ingestion Failed)',
      poll({ decision: 'reupload', statuses: [seen('NA', false)] }),
      { Error: 'DgsTransientError' },
      noOpenSend,
    ],
    [
      'the Ingestion Failed status of a previous upload',
      poll({ decision: 'reupload', statuses: [seen('INGESTION_FAILED', false)] }),
      { Error: 'DgsTransientError' },
      noOpenSend,
    ],
    [
      'the status check (no re-upload was decided)',
      poll({ decision: 'wait', statuses: [seen('INGESTION_FAILED', true)] }),
      { Error: 'DgsAuthError' },
      noOpenSend,
    ],
    [
      'a re-upload after Ingestion Success (not a failure)',
      poll({ decision: 'reupload', statuses: [seen('INGESTION_SUCCESS', true)] }),
      { Error: 'DgsTransientError' },
      noOpenSend,
    ],
  ] as const)('%s: unconfirmed', (_, polled, error, lock) => {
    const verdict = verdictOfPublication(state({ poll: polled, error }), lock);
    expect(verdict.outcome).toBe('unconfirmed');
    expect(verdict.outcome === 'published' ? '' : verdict.failure.message).not.toMatch(DROP_AGAIN);
  });

  it('keeps the error’s code and cause, from a Lambda error JSON or a plain message', () => {
    const json = JSON.stringify({ errorType: 'DgsAuthError', errorMessage: 'the key was refused.' });
    expect(
      verdictOfPublication(state({ error: { Error: 'DgsAuthError', Cause: json } }), noOpenSend),
    ).toMatchObject({
      outcome: 'unconfirmed',
      failure: {
        code: 'DGS_AUTH',
        message: expect.stringMatching(
          /^The file was sent to data\.gov\.sg \(1 time\), then the pipeline could not follow it: the key was refused\. data\.gov\.sg last showed/,
        ),
      },
    });
    expect(verdictOfPublication(state({ error: { Error: 'States.Timeout' } }), noOpenSend)).toMatchObject({
      failure: {
        code: 'TASK_TIMEOUT',
        message: expect.stringContaining('could not follow it: States.Timeout.'),
      },
    });
  });
});

describe('unconfirmed', () => {
  it('says it was sent, what data.gov.sg last showed, and what to check', () => {
    const verdict = unconfirmed(
      publication(2, 'append'),
      { statuses: [seen('PENDING', true)] },
      'X',
      'but then.',
    );
    expect(verdict).toEqual({
      outcome: 'unconfirmed',
      failure: {
        code: 'X',
        message:
          'The file was sent to data.gov.sg (2 times), but then. data.gov.sg last showed: "PENDING" (for this upload; version 4, last read 2026-12-05T00:00:00.000Z). It may have been published, so it is filed in unconfirmed/, not failed/. Before doing anything, open the dataset in the data.gov.sg admin dashboard and check whether its rows are in the dataset and when it was last updated. If it was published, nothing more is needed. If it was not, and no upload is in progress there, publish it by copying it from unconfirmed/ back to incoming/.',
      },
    });
  });

  it('for a replace, asks whether the dataset holds its rows; with nothing read, says so', () => {
    const message = (verdict: ReturnType<typeof unconfirmed>) =>
      verdict.outcome === 'published' ? '' : verdict.failure.message;
    const replace = unconfirmed(publication(1, 'replace'), undefined, 'X', 'without an answer');
    expect(message(replace)).toMatch(
      /\(1 time\), without an answer\. data\.gov\.sg last showed: nothing yet \(no status was read after the send\)/,
    );
    expect(message(replace)).toMatch(/check whether the dataset holds its rows/);
    const previous = unconfirmed(publication(1), { statuses: [seen('NA', false)] }, 'X', 'x.');
    expect(message(previous)).toMatch(/"NA" \(still the previous upload's; version 4/);
  });
});

describe('failureFromError', () => {
  const report = (code: string): CsvCheckReport => ({
    passed: false,
    bytes: 1,
    rows: 1,
    columns: ['a'],
    errors: 1,
    warnings: 0,
    problems: [{ severity: 'error', code: code as never, row: 1, message: 'm' }],
    incomplete: false,
    metadata: 'compared',
  });

  it('keeps a rejected drop’s own code and sentence', () => {
    expect(failureFromError(new DropRejectedError('NOT_CSV', 'Only .csv.'))).toEqual({
      code: 'NOT_CSV',
      message: 'Only .csv.',
    });
  });

  it('gives COLUMNS_DO_NOT_MATCH its own code when it is the first error, other CSV errors CSV_INVALID', () => {
    expect(failureFromError(new CsvRejectedError(report('COLUMNS_DO_NOT_MATCH'))).code).toBe(
      'COLUMNS_DO_NOT_MATCH',
    );
    expect(failureFromError(new CsvRejectedError(report('NOT_NUMERIC'))).code).toBe('CSV_INVALID');
    const junk = report('INVALID_UTF8');
    junk.problems.push({ severity: 'error', code: 'COLUMNS_DO_NOT_MATCH', row: 1, message: 'm' });
    expect(failureFromError(new CsvRejectedError(junk)).code).toBe('CSV_INVALID');
    const warnedFirst = report('COLUMNS_DO_NOT_MATCH');
    warnedFirst.problems.unshift({ severity: 'warning', code: 'HEADER_STYLE', row: 1, message: 'w' });
    expect(failureFromError(new CsvRejectedError(warnedFirst)).code).toBe('COLUMNS_DO_NOT_MATCH');
  });

  it.each([
    [
      new DgsTransientError('server', 'data.gov.sg failed.'),
      'DGS_UNAVAILABLE',
      /failed\. Nothing was published\. Drop the file again later/,
    ],
    [
      new ParameterUnavailableError('SSM could not give the parameter /p'),
      'SECRET_STORE_UNAVAILABLE',
      /\/p\. The API key could not be read/,
    ],
    [
      new ConfigError('The SSM parameter /p does not exist.'),
      'CONFIGURATION',
      /does not exist\. Nothing was sent\. Fix the configuration/,
    ],
    [
      new UploadFailedError('refused', { s3Code: 'BadDigest', retryWithNewLink: false }),
      'UPLOAD_REJECTED',
      /^refused \[S3 BadDigest\]\. The file was not stored/,
    ],
    [new UploadFailedError('refused', { retryWithNewLink: false }), 'UPLOAD_REJECTED', /^refused\. The file/],
    [new TypeError('x is undefined'), 'INTERNAL', /^x is undefined\. This is a bug in govpub/],
    ['a string', 'INTERNAL', /^a string\. This is a bug/],
  ] as const)('%s → %s', (error, code, message) => {
    const failure = failureFromError(error);
    expect(failure.code).toBe(code);
    expect(failure.message).toMatch(message);
  });
});

describe('failureFromCaught and failed', () => {
  it('maps a caught error name to its code and next step; unknown names are INTERNAL', () => {
    expect(failureFromCaught({ Error: 'LockLostError', Cause: 'lost it' })).toEqual({
      code: 'LOCK_LOST',
      message:
        'lost it. The run lost its hold on the dataset. Check the dataset in the admin dashboard before dropping the file again.',
    });
    expect(failureFromCaught({ Error: 'Weird' }).code).toBe('INTERNAL');
    expect(failureFromCaught({ Error: 'Sandbox.Timedout' }).code).toBe('TASK_TIMEOUT');
  });

  it('wraps a failure', () => {
    expect(failed({ code: 'A', message: 'b' })).toEqual({
      outcome: 'failed',
      failure: { code: 'A', message: 'b' },
    });
  });
});

describe('edges the mutation run showed untested', () => {
  it.each([
    [
      'DgsResponseError',
      'DGS_BAD_RESPONSE',
      'Nothing is known to be published. Check the dataset in the data.gov.sg admin dashboard before dropping the file again.',
    ],
    [
      'DatasetBusyError',
      'DGS_BUSY',
      'Another upload to this dataset is in progress outside this pipeline. Drop the file again once it has finished.',
    ],
    [
      'UploadUrlNotAllowedError',
      'UPLOAD_URL_NOT_ALLOWED',
      'Nothing was sent. If data.gov.sg moved its upload storage, add the new origin to UPLOAD_ALLOWED_ORIGINS after checking it is genuine.',
    ],
    [
      'SourceChangedError',
      'SOURCE_CHANGED',
      'The file was replaced or deleted while it was being published; the newer copy, if any, is handled on its own.',
    ],
    [
      'LockStoreUnavailableError',
      'LOCK_STORE_UNAVAILABLE',
      'The lock table could not be reached; nothing was published. Drop the file again.',
    ],
    [
      'States.Timeout',
      'TASK_TIMEOUT',
      'A step of the pipeline timed out. Check the dataset in the admin dashboard before dropping the file again.',
    ],
  ])('%s is %s, with its next step', (name, code, next) => {
    expect(failureFromCaught({ Error: name, Cause: 'it happened' })).toEqual({
      code,
      message: `it happened. ${next}`,
    });
  });

  it('a failed re-upload after Ingestion Failed ends with the next step of its code, or with the fact alone', () => {
    const afterFailure = poll({ decision: 'reupload', statuses: [seen('INGESTION_FAILED', true)] });
    const message = (name: string) => {
      const verdict = verdictOfPublication(
        state({ poll: afterFailure, error: { Error: name, Cause: 'why' } }),
        noOpenSend,
      );
      return verdict.outcome === 'published' ? '' : verdict.failure.message;
    };
    expect(message('DatasetBusyError')).toBe(
      'data.gov.sg failed to ingest the file (Ingestion Failed), and sending it again failed: why. Nothing was published. Another upload to this dataset is in progress outside this pipeline. Drop the file again once it has finished.',
    );
    expect(message('DgsAuthError')).toBe(
      'data.gov.sg failed to ingest the file (Ingestion Failed), and sending it again failed: why. Nothing was published.',
    );
  });

  it('an unknown error while following a sent file is INTERNAL, and a re-upload without any status read is unconfirmed', () => {
    expect(verdictOfPublication(state({ error: { Error: 'Weird' } }), noOpenSend)).toMatchObject({
      failure: { code: 'INTERNAL' },
    });
    expect(
      verdictOfPublication(
        state({ poll: poll({ decision: 'reupload' }), error: { Error: 'DgsTransientError' } }),
        noOpenSend,
      ).outcome,
    ).toBe('unconfirmed');
  });

  it('cuts only a final full stop from a cause', () => {
    const json = JSON.stringify({ errorMessage: 'v1.2 failed.' });
    expect(failureFromCaught({ Error: 'Weird', Cause: json }).message).toMatch(
      /^v1\.2 failed\. This is a bug/,
    );
    expect(failureFromCaught({ Error: 'Weird', Cause: 'v1.2 failed.' }).message).toMatch(
      /^v1\.2 failed\. This is a bug/,
    );
    expect(failureFromCaught({ Error: 'Weird', Cause: '{"other":1}' }).message).toMatch(/^\{"other":1\}\. /);
  });

  it('a CSV rejection without any error listed is CSV_INVALID', () => {
    const report: CsvCheckReport = {
      passed: false,
      bytes: 1,
      rows: 1,
      columns: [],
      errors: 1,
      warnings: 0,
      problems: [],
      incomplete: true,
      metadata: 'compared',
    };
    expect(failureFromError(new CsvRejectedError(report)).code).toBe('CSV_INVALID');
  });

  it('says "version none" for a status without a version', () => {
    const undated = { ...seen('PENDING', true), version: null };
    const verdict = unconfirmed(publication(1), { statuses: [undated] }, 'X', 'x.');
    expect(verdict.outcome === 'published' ? '' : verdict.failure.message).toMatch(
      /\(for this upload; version none, last read/,
    );
  });
});
