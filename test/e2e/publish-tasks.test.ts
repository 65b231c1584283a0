import { afterEach, describe, expect, it } from 'vitest';
import { initialPoll } from '../../lib/publish/poll.js';
import type { PublicationState } from '../../lib/publish/publication.js';
import { newPublication } from '../../lib/publish/pump-dataset.js';
import { fileOutcomeOfPublication, reuploadPublication } from '../../lib/publish/tasks.js';
import type { LocalPipeline } from '../../local/pipeline.js';
import { MemoryLock } from '../fakes/memory-lock.js';
import { POPULATION, POPULATION_CSV, startFastPipeline } from './support.js';

let pipeline: LocalPipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

/** A publication already sent once, as the state machine holds it. */
async function sentOnce(p: LocalPipeline, lock: MemoryLock, key: string): Promise<PublicationState> {
  await p.drop(key, POPULATION_CSV);
  const acquired = await lock.acquire(POPULATION.id, 60_000);
  if (!acquired.acquired) throw new Error('not acquired');
  const object = await p.deps.bucket.head(p.bucket, key);
  if (!object) throw new Error('missing');
  const publication = newPublication(
    acquired.token,
    object,
    { datasetRef: POPULATION.alias, datasetId: POPULATION.id, mode: 'replace' },
    await p.deps.bucket.md5(object),
  );
  const baseline = { status: 'NA', version: 0, updatedAt: 0 };
  const at = new Date().toISOString();
  publication.uploads.push({ startedAt: at, finishedAt: at, baseline, links: 1, unconfirmed: false });
  return { publication, poll: initialPoll(p.settings, new Date()) };
}

describe('state machine tasks', () => {
  it('records what a take-over needs before and after a re-upload', async () => {
    pipeline = await startFastPipeline({ deliverEvents: false });
    const lock = new MemoryLock();
    const state = await sentOnce(pipeline, lock, `incoming/${POPULATION.alias}/replace/again.csv`);
    const next = await reuploadPublication({ ...pipeline.deps, lock }, state);
    expect(next.publication.uploads).toHaveLength(2);
    const [before, after] = lock.updates.map((update) => ({
      ...update,
      saved: JSON.parse(update.resumeState ?? '{}'),
    }));
    expect(before).toMatchObject({ phase: 'uploading', saved: { baseline: { status: 'NA' } } });
    expect(before?.saved.publication.uploads).toHaveLength(1);
    expect(after).toMatchObject({ phase: 'polling' });
    expect(after?.saved.publication.uploads).toHaveLength(2);
  });

  it('reads a failures list that was too large for the state again when filing', async () => {
    pipeline = await startFastPipeline({ deliverEvents: false });
    const lock = new MemoryLock();
    const state = await sentOnce(pipeline, lock, `incoming/${POPULATION.alias}/replace/huge-failures.csv`);
    const failures = Array.from({ length: 5_000 }, (_, row) => ({
      row,
      column: 'population',
      message: 'Invalid value',
    }));
    state.poll = { ...state.poll, decision: 'file', result: 'validation-failed', failuresOmitted: true };
    const dgs = {
      ingestionStatus: async () => ({
        status: 'VALIDATION_FAILED',
        rawStatus: 'Validation Failed',
        version: 9,
        updatedAt: 9,
        failures,
      }),
    };
    const report = await fileOutcomeOfPublication({ ...pipeline.deps, lock, dgs }, state);
    expect(report.error?.code).toBe('DGS_VALIDATION_FAILED');
    expect(report.failures).toEqual(failures);
  });
});
