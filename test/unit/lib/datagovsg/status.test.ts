import { describe, expect, it } from 'vitest';
import {
  belongsToUpload,
  type IngestionStatus,
  isIdle,
  isKnownStatus,
  isTerminal,
  normalizeStatus,
} from '../../../../lib/datagovsg/status.js';

function status(overrides: Partial<IngestionStatus>): IngestionStatus {
  return { status: 'NA', rawStatus: 'NA', version: 0, updatedAt: 1000, failures: null, ...overrides };
}

describe('normalizeStatus', () => {
  it.each([
    ['Ingestion Success', 'INGESTION_SUCCESS'],
    ['INGESTION_SUCCESS', 'INGESTION_SUCCESS'],
    ['Pending Validation', 'PENDING_VALIDATION'],
    ['validation-failed', 'VALIDATION_FAILED'],
    ['  Pending  Ingestion ', 'PENDING_INGESTION'],
    ['NA', 'NA'],
  ])('reads %s as %s', (raw, normalized) => {
    expect(normalizeStatus(raw)).toBe(normalized);
  });
});

describe('terminal and idle statuses', () => {
  it('treats the three end states as terminal and nothing else', () => {
    expect(['INGESTION_SUCCESS', 'VALIDATION_FAILED', 'INGESTION_FAILED'].every(isTerminal)).toBe(true);
    expect(
      ['NA', 'PENDING', 'VALIDATION_PASSED', 'PENDING_INGESTION', 'SOMETHING_NEW'].some(isTerminal),
    ).toBe(false);
  });

  it('allows a new upload only when NA or terminal', () => {
    expect(isIdle('NA')).toBe(true);
    expect(isIdle('INGESTION_FAILED')).toBe(true);
    expect(isIdle('PENDING_VALIDATION')).toBe(false);
    expect(isIdle('SOMETHING_NEW')).toBe(false);
  });
});

describe('isKnownStatus', () => {
  it('knows the guide’s legend, normalised, and nothing else', () => {
    expect(
      [
        'NA',
        'PENDING',
        'PENDING_VALIDATION',
        'VALIDATION_PASSED',
        'PENDING_INGESTION',
        'INGESTION_SUCCESS',
      ].every(isKnownStatus),
    ).toBe(true);
    expect(['QUEUED_FOR_REVIEW', 'Pending', ''].some(isKnownStatus)).toBe(false);
  });
});

describe('belongsToUpload', () => {
  const baseline = { status: 'INGESTION_SUCCESS', version: 4, updatedAt: 5000 };

  it('rejects the previous upload still shown after ours was sent', () => {
    expect(
      belongsToUpload(status({ status: 'INGESTION_SUCCESS', version: 4, updatedAt: 5000 }), baseline),
    ).toBe(false);
  });

  it('accepts a status whose version moved', () => {
    expect(belongsToUpload(status({ version: 5, updatedAt: 5000 }), baseline)).toBe(true);
  });

  it('accepts a status updated later even when the version did not move', () => {
    expect(belongsToUpload(status({ version: 4, updatedAt: 5001 }), baseline)).toBe(true);
  });

  it('rejects a status without a version against a baseline with one, unless it was updated later', () => {
    expect(belongsToUpload(status({ version: null, updatedAt: 5000 }), baseline)).toBe(false);
    expect(belongsToUpload(status({ version: null, updatedAt: 4999 }), baseline)).toBe(false);
    expect(belongsToUpload(status({ version: null, updatedAt: 5001 }), baseline)).toBe(true);
  });

  it('rejects an undated status with the same version, and takes an earlier date as not moved', () => {
    expect(belongsToUpload(status({ version: 4, updatedAt: null }), baseline)).toBe(false);
    expect(belongsToUpload(status({ version: 4, updatedAt: 4000 }), baseline)).toBe(false);
    expect(belongsToUpload(status({ version: 3, updatedAt: null }), baseline)).toBe(true);
  });

  it('rejects an undated status after an undated baseline with the same version', () => {
    expect(
      belongsToUpload(status({ version: 4, updatedAt: null }), { status: 'NA', version: 4, updatedAt: null }),
    ).toBe(false);
  });

  it('accepts a status dated at the epoch after an undated baseline (any date is later than none)', () => {
    expect(
      belongsToUpload(status({ version: 4, updatedAt: 0 }), { status: 'NA', version: 4, updatedAt: null }),
    ).toBe(true);
  });

  it('accepts any dated status after a baseline that had no date', () => {
    expect(
      belongsToUpload(status({ version: null, updatedAt: 1 }), {
        status: 'NA',
        version: null,
        updatedAt: null,
      }),
    ).toBe(true);
  });
});
