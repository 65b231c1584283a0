import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { CsvRejectedError } from '../../lib/errors.js';
import { fileOutcomeOfPublication } from '../../lib/publish/file-outcome-task.js';
import { initialPoll } from '../../lib/publish/poll.js';
import type { PublicationState } from '../../lib/publish/publication.js';
import { newPublication } from '../../lib/publish/pump-dataset.js';
import { reuploadPublication } from '../../lib/publish/reupload-task.js';
import type { LocalPipeline } from '../../local/pipeline.js';
import { MemoryLock } from '../fakes/memory-lock.js';
import { POPULATION, POPULATION_CSV, startFastPipeline, uploadOutsidePipeline } from './support.js';

let pipeline: LocalPipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

/** A publication already sent once, as the state machine holds it. */
async function sentOnce(
  p: LocalPipeline,
  lock: MemoryLock,
  key: string,
  body = POPULATION_CSV,
  newColumns = false,
): Promise<PublicationState> {
  await p.drop(key, body);
  const acquired = await lock.acquire(POPULATION.id, 60_000);
  if (!acquired.acquired) throw new Error('not acquired');
  const object = await p.deps.bucket.head(p.bucket, key);
  if (!object) throw new Error('missing');
  const publication = newPublication(
    acquired.token,
    object,
    { datasetRef: POPULATION.alias, datasetId: POPULATION.id, mode: 'replace', newColumns },
    await p.deps.bucket.md5(object),
  );
  const baseline = { status: 'NA', version: 0, updatedAt: 0 };
  const at = new Date().toISOString();
  publication.uploads.push({ startedAt: at, finishedAt: at, baseline, links: 1, unconfirmed: false });
  return { publication, poll: initialPoll(p.settings, new Date()) };
}

/**
 * Our send whose answer was lost (an unconfirmed upload), which did reach data.gov.sg: sent here
 * as the lost PUT would have been, then waited for until its ingestion ends.
 */
async function lostSendArrived(p: LocalPipeline, state: PublicationState): Promise<void> {
  const last = state.publication.uploads.at(-1);
  if (!last) throw new Error('no upload');
  last.unconfirmed = true;
  await uploadOutsidePipeline(p, POPULATION.id, Buffer.from(POPULATION_CSV));
  for (let tries = 0; p.dataGovSg?.uploads(POPULATION.id).some((u) => u.fate === 'pending'); tries++) {
    if (tries > 500) throw new Error('the ingestion did not end');
    await sleep(10);
  }
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

  // Found by the soak (seeds 10071, 10142): the re-upload took the failed ingestion of the lost
  // send as that send arriving late and went back to polling it, for ever, sending nothing.
  it('sends again when an unconfirmed send did arrive and its ingestion failed', async () => {
    pipeline = await startFastPipeline({ deliverEvents: false });
    pipeline.dataGovSg?.script(POPULATION.id, ['ingestion-failed', 'success']);
    const lock = new MemoryLock();
    const state = await sentOnce(pipeline, lock, `incoming/${POPULATION.alias}/replace/lost-failed.csv`);
    await lostSendArrived(pipeline, state);
    const next = await reuploadPublication({ ...pipeline.deps, lock }, state);
    expect(next.publication.uploads).toHaveLength(2);
    expect(pipeline.dataGovSg?.uploads(POPULATION.id)).toHaveLength(2);
  });

  it('polls an unconfirmed send that arrived after all, within the deadline it already had', async () => {
    pipeline = await startFastPipeline({ deliverEvents: false });
    const lock = new MemoryLock();
    const state = await sentOnce(pipeline, lock, `incoming/${POPULATION.alias}/replace/lost-arrived.csv`);
    await lostSendArrived(pipeline, state);
    const deadlineAt = new Date(Date.now() + 5_000).toISOString();
    state.poll = { ...state.poll, deadlineAt, decision: 'reupload' };
    const next = await reuploadPublication({ ...pipeline.deps, lock }, state);
    expect(next.publication.uploads).toHaveLength(1);
    expect(next.poll).toMatchObject({ decision: 'wait', polls: 0, deadlineAt });
    expect(pipeline.dataGovSg?.uploads(POPULATION.id)).toHaveLength(1);
  });

  // Found by the soak (seed 11615): a file whose first send was cut short by a killed run reached
  // the re-upload, which sent it whole without the check, so a bad file was published.
  it('checks a file that no earlier send checked whole, and sends nothing when it is bad', async () => {
    pipeline = await startFastPipeline({ deliverEvents: false });
    const lock = new MemoryLock();
    const bad = `${POPULATION_CSV}2024,female,not a number\n2024,male,1,2,3\n`;
    const state = await sentOnce(
      pipeline,
      lock,
      `incoming/${POPULATION.alias}/append/never-checked.csv`,
      bad,
    );
    const error = await reuploadPublication({ ...pipeline.deps, lock }, state).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CsvRejectedError);
    expect((error as CsvRejectedError).report.errors).toBeGreaterThan(0);
    expect(pipeline.dataGovSg?.uploads(POPULATION.id)).toEqual([]);
  });

  it.each([
    { folder: 'replace-new-columns', newColumns: true },
    { folder: 'replace', newColumns: false },
  ])(
    'checks a re-sent file as it was dropped: other columns under $folder/',
    async ({ folder, newColumns }) => {
      pipeline = await startFastPipeline({ deliverEvents: false });
      const lock = new MemoryLock();
      const state = await sentOnce(
        pipeline,
        lock,
        `incoming/${POPULATION.alias}/${folder}/other-columns.csv`,
        'ministry,category,amount\nMOF,grants,100\n',
        newColumns,
      );
      const reupload = reuploadPublication({ ...pipeline.deps, lock }, state);
      if (newColumns) {
        expect((await reupload).publication.uploads.at(-1)?.check).toMatchObject({ passed: true });
        expect(pipeline.dataGovSg?.uploads(POPULATION.id)).toHaveLength(1);
      } else {
        await expect(reupload).rejects.toBeInstanceOf(CsvRejectedError);
        expect(pipeline.dataGovSg?.uploads(POPULATION.id)).toEqual([]);
      }
    },
  );

  it('does not check again a file an earlier send checked whole', async () => {
    pipeline = await startFastPipeline({ deliverEvents: false });
    const lock = new MemoryLock();
    const state = await sentOnce(pipeline, lock, `incoming/${POPULATION.alias}/append/checked.csv`);
    const first = state.publication.uploads[0];
    if (!first) throw new Error('no upload');
    first.check = {
      passed: true,
      bytes: 1,
      rows: 1,
      columns: [],
      errors: 0,
      warnings: 0,
      problems: [],
      incomplete: false,
      metadata: 'compared',
    };
    const next = await reuploadPublication({ ...pipeline.deps, lock }, state);
    expect(next.publication.uploads.at(-1)?.check).toBeUndefined();
  });
});
