import { describe, expect, it } from 'vitest';
import { timeToSend } from '../../../../lib/publish/time-budget.js';

const MIB = 1024 * 1024;
const settings = { UPLOAD_ASSUMED_MIB_PER_SECOND: 16, IDLE_CONFIRM_SECONDS: 30 };
const budget = (totalMs: number, leftMs: number) => ({ totalMs, leftMs: () => leftMs });

describe('timeToSend', () => {
  it('sends without a time limit (no Lambda context)', () => {
    expect(timeToSend(undefined, 5 * 1024 * MIB, true, settings)).toEqual({
      verdict: 'send',
      neededMs: 0,
      leftMs: Number.POSITIVE_INFINITY,
    });
  });

  it('needs the bytes at the assumed throughput, plus the idle confirmation and a fixed overhead', () => {
    // 160 MiB at 16 MiB/s: 10 s, + 30 s confirmation, + 30 s overhead.
    expect(timeToSend(budget(900_000, 900_000), 160 * MIB, false, settings)).toEqual({
      verdict: 'send',
      neededMs: 70_000,
      leftMs: 900_000,
    });
    // Read twice when the MD5 must be hashed first.
    expect(timeToSend(budget(900_000, 900_000), 160 * MIB, true, settings)).toMatchObject({
      neededMs: 80_000,
    });
  });

  it('sends when exactly enough is left, hands over when a millisecond less is', () => {
    expect(timeToSend(budget(900_000, 70_000), 160 * MIB, false, settings).verdict).toBe('send');
    expect(timeToSend(budget(900_000, 69_999), 160 * MIB, false, settings)).toEqual({
      verdict: 'hand-over',
      neededMs: 70_000,
      leftMs: 69_999,
    });
  });

  it('refuses a file no run could send, saying how long it would take and what to do', () => {
    const timing = timeToSend(budget(60_000, 60_000), 1024 * MIB, true, settings);
    expect(timing).toEqual({
      verdict: 'too-slow',
      failure: {
        code: 'TOO_LARGE_FOR_TIME_LIMIT',
        message:
          "The file is 1073741824 bytes: at the assumed 16 MiB/s between S3 and data.gov.sg (UPLOAD_ASSUMED_MIB_PER_SECOND), hashing and sending it would take about 188 s, more than the upload function's 60 s. Nothing was sent. Split it into smaller files (the first with replace, the rest with append), or upload it in one part so that its ETag is its MD5 and it is read once.",
      },
    });
    const once = timeToSend(budget(60_000, 60_000), 1024 * MIB, false, settings);
    expect(once.verdict === 'too-slow' ? once.failure.message : '').toMatch(
      /, sending it would take about 124 s, more than the upload function's 60 s\. Nothing was sent\. Split it into smaller files \(the first with replace, the rest with append\)\.$/,
    );
  });

  it('fits exactly in a whole run', () => {
    expect(timeToSend(budget(70_000, 70_000), 160 * MIB, false, settings).verdict).toBe('send');
    expect(timeToSend(budget(69_999, 69_999), 160 * MIB, false, settings).verdict).toBe('too-slow');
  });
});
