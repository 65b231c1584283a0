import { describe, expect, it } from 'vitest';
import { serverError } from '../../../lib/http-responses.js';
import { recordingLog } from '../../fakes/recording-log.js';

describe('serverError', () => {
  it('logs the whole error for whoever fixes it and tells the caller nothing of it', () => {
    const log = recordingLog();
    const error = new TypeError("Cannot read properties of undefined (reading 'size')");
    const answer = serverError(log, error);
    expect(answer.statusCode).toBe(500);
    expect(answer.body).toBe(JSON.stringify({ message: 'Internal error; it has been logged.' }));
    expect(log.lines).toEqual([
      {
        level: 'error',
        message: 'HTTP_UNEXPECTED_ERROR',
        fields: { error: 'TypeError', message: error.message, stack: error.stack },
      },
    ]);
    expect(String(log.lines[0]?.fields && (log.lines[0].fields as { stack: string }).stack)).toMatch(
      /http-responses\.test\.ts/,
    );
  });

  it('logs a thrown value that is not an Error as text', () => {
    const log = recordingLog();
    serverError(log, 'plain text thrown');
    expect(log.lines[0]?.fields).toEqual({ error: 'string', message: 'plain text thrown' });
  });
});
