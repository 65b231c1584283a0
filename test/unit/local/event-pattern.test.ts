import { describe, expect, it } from 'vitest';
import { checkPattern, matches, UnsupportedPatternError } from '../../../local/aws/event-pattern.js';
import { seeded } from '../../support/fault-schedule.js';

const event = {
  source: 'govpub.requests',
  'detail-type': 'Publish Dataset Requested',
  account: '000000000000',
  detail: { dataset: 'resident-population', size: 42, tags: ['a', 'b'], mode: 'append' },
};

describe('EventBridge patterns on the local bus', () => {
  it('matches exact values on every field named, the source included', () => {
    expect(matches({ source: ['govpub.requests'] }, event)).toBe(true);
    expect(matches({ source: ['agency.etl'] }, event)).toBe(false);
    expect(matches({ source: ['govpub.requests'], 'detail-type': ['Other'] }, event)).toBe(false);
    expect(matches({ detail: { dataset: ['resident-population'] } }, event)).toBe(true);
    expect(matches({ detail: { missing: ['x'] } }, event)).toBe(false);
    // An array in the event matches when one of its values does.
    expect(matches({ detail: { tags: ['b'] } }, event)).toBe(true);
  });

  it('applies the content filters', () => {
    expect(matches({ source: [{ prefix: 'govpub.' }] }, event)).toBe(true);
    expect(matches({ source: [{ suffix: '.requests' }] }, event)).toBe(true);
    expect(matches({ source: [{ 'anything-but': ['govpub.requests'] }] }, event)).toBe(false);
    expect(matches({ source: [{ 'anything-but': { prefix: 'agency' } }] }, event)).toBe(true);
    expect(matches({ detail: { mode: [{ 'equals-ignore-case': 'APPEND' }] } }, event)).toBe(true);
    expect(matches({ detail: { size: [{ numeric: ['>', 40, '<=', 42] }] } }, event)).toBe(true);
    expect(matches({ detail: { size: [{ numeric: ['>', 42] }] } }, event)).toBe(false);
    expect(matches({ detail: { gone: [{ exists: false }] } }, event)).toBe(true);
    expect(matches({ detail: { size: [{ exists: false }] } }, event)).toBe(false);
  });

  it('refuses a filter it does not know, rather than matching wrongly', () => {
    expect(() => checkPattern({ source: [{ wildcard: 'gov*' }] })).toThrow(UnsupportedPatternError);
    expect(() => checkPattern({ detail: { x: [{ cidr: '10.0.0.0/8' }] } })).toThrow(/detail\.x/);
    expect(() => checkPattern({ source: [{ 'anything-but': { suffix: '.test' } }] })).toThrow(
      UnsupportedPatternError,
    );
    expect(() => checkPattern({ source: [{ 'anything-but': [] }] })).toThrow(UnsupportedPatternError);
    expect(() => checkPattern({ source: ['govpub'], detail: { x: [{ prefix: 'a' }] } })).not.toThrow();
  });

  it('agrees with a plain reading of exact-value patterns on generated events (seeded, replayable)', () => {
    const random = seeded(13);
    const values = ['a', 'b', 'c', 'govpub', 'govpub.requests'];
    const pick = () => values[Math.floor(random.next() * values.length)] as string;
    const some = () => Array.from({ length: 1 + Math.floor(random.next() * 3) }, pick);
    let matched = 0;
    for (let run = 0; run < 500; run++) {
      const fields = { source: pick(), kind: pick() };
      const sources = some();
      const kinds = random.next() < 0.5 ? some() : undefined;
      const envelope = { source: fields.source, detail: { kind: fields.kind } };
      const rule = { source: sources, ...(kinds ? { detail: { kind: kinds } } : {}) };
      const expected = sources.includes(fields.source) && (!kinds || kinds.includes(fields.kind));
      if (expected) matched++;
      expect(matches(rule, envelope), `run ${run}: ${JSON.stringify({ rule, envelope })}`).toBe(expected);
    }
    // Both answers were exercised.
    expect(matched).toBeGreaterThan(50);
    expect(matched).toBeLessThan(450);
  });
});
