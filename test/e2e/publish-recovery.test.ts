import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { dropperOf } from '../../lib/dropped-by.js';
import type { Publication } from '../../lib/publish/publication.js';
import { newPublication, pumpDataset } from '../../lib/publish/pump-dataset.js';
import { objectSource, sendFile } from '../../lib/publish/send-file.js';
import { uploadSignalsOf } from '../../lib/schemas.js';
import { LOCAL_PRINCIPAL_ID } from '../../local/aws/s3.js';
import type { LocalPipeline } from '../../local/pipeline.js';
import {
  crashedInvocations,
  outcomeOf,
  POPULATION,
  POPULATION_CSV,
  startFastPipeline,
  uploadOutsidePipeline,
  waitUntilIdleAtDataGovSg,
} from './support.js';

let pipeline: LocalPipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

/** Polls `check` every 10 ms, for 5 s at most. */
async function waitUntil(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500 && !(await check()); i++) await sleep(10);
}

/** Plays the part of an upload run that took the dataset and then died, with its lease run out. */
async function crashedRunHolding(
  p: LocalPipeline,
  key: string,
): Promise<{ token: string; publication: Publication }> {
  const acquired = await p.lock.acquire(POPULATION.id, 60_000);
  if (!acquired.acquired) throw new Error('the dataset was not free');
  const object = await p.deps.bucket.head(p.bucket, key);
  if (!object) throw new Error(`${key} is not in the bucket`);
  const md5 = await p.deps.bucket.md5(object);
  const publication = newPublication(
    acquired.token,
    // Who dropped it is read when the file is chosen, as the pump does.
    { ...object, droppedBy: await dropperOf(p.deps, object) },
    { datasetRef: POPULATION.alias, datasetId: POPULATION.id, mode: 'replace', newColumns: false },
    md5,
  );
  return { token: acquired.token, publication };
}

describe('nothing is lost', () => {
  it('publishes a file whose event was lost once the sweep finds it', async () => {
    pipeline = await startFastPipeline({ deliverEvents: false, env: { SWEEP_MIN_AGE_SECONDS: '0' } });
    const key = `incoming/${POPULATION.alias}/replace/lost-event.csv`;
    await pipeline.drop(key, POPULATION_CSV);
    await pipeline.whenIdle();
    expect(await pipeline.keys('incoming/')).toEqual([key]);
    const kicks = await pipeline.sweep();
    await pipeline.whenIdle();
    expect(kicks).toEqual([
      { source: 'govpub.kick', reason: 'sweep', bucket: pipeline.bucket, datasetId: POPULATION.id },
    ]);
    const report = await outcomeOf(pipeline, key);
    expect(report.outcome).toBe('published');
    // No event, so nobody is named; the report says where the putter is recorded.
    expect(report.droppedBy).toBeNull();
    expect(report.notes).toEqual([expect.stringMatching(/droppedBy is null.*S3 server access logs/)]);
    expect(report.notes[0]).toContain(`${key} at ${report.times.droppedAt}`);
    const [event] = pipeline.eventBridge.events();
    expect(event?.detail).toMatchObject({ droppedBy: null, notes: report.notes });
  });

  it('keeps who dropped a file until it is published by another run: one that finds the dataset free later', async () => {
    // Prepare: data.gov.sg slow enough that the second file's event finds the dataset held.
    pipeline = await startFastPipeline({ dataGovSg: { stepDelayMs: 80 } });
    const first = `incoming/${POPULATION.alias}/replace/first.csv`;
    const second = `incoming/${POPULATION.alias}/replace/second.csv`;
    await pipeline.drop(first, POPULATION_CSV);
    await waitUntil(async () => (await pipeline?.lock.get(POPULATION.id))?.phase === 'polling');
    // Act
    await pipeline.drop(second, POPULATION_CSV);
    await pipeline.whenIdle();
    // Assess: its own event did nothing; the state machine's kick after the first file published it.
    const secondEvent = pipeline.lambda
      .invocations()
      .find((i) => JSON.stringify(i.event).includes('second.csv') && 'Records' in (i.event as object));
    expect(secondEvent?.result).toEqual([{ result: 'locked' }]);
    for (const key of [first, second]) {
      expect(await outcomeOf(pipeline, key)).toMatchObject({
        outcome: 'published',
        droppedBy: LOCAL_PRINCIPAL_ID,
        notes: [],
      });
    }
  });

  it('leaves young files to their own events', async () => {
    pipeline = await startFastPipeline({ deliverEvents: false, env: { SWEEP_MIN_AGE_SECONDS: '3600' } });
    await pipeline.drop(`incoming/${POPULATION.alias}/replace/new.csv`, POPULATION_CSV);
    expect(await pipeline.sweep()).toEqual([]);
  });

  it('files a bad key that the sweep finds', async () => {
    pipeline = await startFastPipeline({ deliverEvents: false, env: { SWEEP_MIN_AGE_SECONDS: '0' } });
    await pipeline.drop('incoming/stray.csv', POPULATION_CSV);
    await pipeline.sweep();
    await pipeline.whenIdle();
    const report = await outcomeOf(pipeline, 'incoming/stray.csv');
    expect(report.fileKey).toMatch(/^failed\/stray\.\d{8}T\d{6}Z-[0-9a-z]{8}\.csv$/);
    expect(report.error?.code).toBe('KEY_LAYOUT');
    expect(report.droppedBy).toBeNull();
  });

  it('keeps a file waiting, not failed, while data.gov.sg shows another upload in progress', async () => {
    pipeline = await startFastPipeline({
      env: { SWEEP_MIN_AGE_SECONDS: '0' },
      dataGovSg: { stepDelayMs: 80 },
    });
    // Someone publishes through the admin UI; the pipeline must not start a second upload.
    await uploadOutsidePipeline(pipeline, POPULATION.id, Buffer.from(POPULATION_CSV));
    const key = `incoming/${POPULATION.alias}/replace/after-ui.csv`;
    await pipeline.drop(key, POPULATION_CSV);
    await pipeline.whenIdle();
    expect(await pipeline.keys('incoming/')).toEqual([key]);
    expect(await pipeline.keys('failed/')).toEqual([]);
    await waitUntilIdleAtDataGovSg(pipeline, POPULATION.id);
    await pipeline.sweep();
    await pipeline.whenIdle();
    expect((await outcomeOf(pipeline, key)).outcome).toBe('published');
    expect(pipeline.dataGovSg?.uploads(POPULATION.id)).toHaveLength(2);
  });
});

describe('a crashed run never blocks a dataset nor sends a file twice', () => {
  it('waits for a live lock, then takes over a stale one and sends a file that never left', async () => {
    pipeline = await startFastPipeline({ deliverEvents: false, env: { SWEEP_MIN_AGE_SECONDS: '0' } });
    const key = `incoming/${POPULATION.alias}/replace/crashed-before-put.csv`;
    await pipeline.drop(key, POPULATION_CSV);
    const { token, publication } = await crashedRunHolding(pipeline, key);
    const baseline = await pipeline.deps.dgs.ingestionStatus(POPULATION.id);
    await pipeline.lock.update(POPULATION.id, token, {
      phase: 'uploading',
      holderKey: key,
      resumeState: JSON.stringify({ publication, baseline }),
      leaseMs: 60_000,
    });
    await pipeline.sweep();
    await pipeline.whenIdle();
    expect(await pipeline.keys('incoming/')).toEqual([key]);

    await pipeline.lock.update(POPULATION.id, token, { leaseMs: -1 });
    await pipeline.sweep();
    await pipeline.whenIdle();
    expect((await outcomeOf(pipeline, key)).outcome).toBe('published');
    expect(pipeline.dataGovSg?.uploads(POPULATION.id)).toHaveLength(1);
    expect(crashedInvocations(pipeline)).toEqual([]);
  });

  it('resumes polling, without a second upload, when the crashed run’s upload had arrived', async () => {
    pipeline = await startFastPipeline({ deliverEvents: false, env: { SWEEP_MIN_AGE_SECONDS: '0' } });
    const key = `incoming/${POPULATION.alias}/replace/crashed-after-put.csv`;
    await pipeline.drop(key, POPULATION_CSV);
    // The file's event was seen (and its dropper recorded) before the run that died chose it.
    const [signal] = uploadSignalsOf(pipeline.s3Event(key));
    if (!signal || !('notice' in signal) || !signal.notice) throw new Error('the event names nobody');
    await pipeline.deps.droppers.record(signal.notice);
    const { token, publication } = await crashedRunHolding(pipeline, key);
    const object = await pipeline.deps.bucket.head(pipeline.bucket, key);
    if (!object) throw new Error('dropped object missing');
    // The real send path, recording its baseline as the upload function does, then "dying"
    // before it could start the state machine.
    await sendFile(
      {
        ...pipeline.deps,
        onSending: (baseline) =>
          pipeline?.lock.update(POPULATION.id, token, {
            phase: 'uploading',
            holderKey: key,
            resumeState: JSON.stringify({ publication, baseline }),
            leaseMs: -1,
          }) ?? Promise.resolve(),
      },
      {
        source: objectSource(pipeline.deps.bucket, object),
        datasetId: POPULATION.id,
        mode: 'replace',
        md5Base64: publication.md5Base64,
      },
    );
    await pipeline.sweep();
    await pipeline.whenIdle();
    const report = await outcomeOf(pipeline, key);
    expect(report).toMatchObject({ outcome: 'published', uploads: 1, droppedBy: LOCAL_PRINCIPAL_ID });
    expect(pipeline.dataGovSg?.uploads(POPULATION.id)).toHaveLength(1);
  });
});

describe('hand-offs that fail', () => {
  it('keeps the lock after a sent file could not be handed to the state machine, and resumes without sending twice', async () => {
    pipeline = await startFastPipeline({ deliverEvents: false, env: { SWEEP_MIN_AGE_SECONDS: '0' } });
    const key = `incoming/${POPULATION.alias}/append/handoff.csv`;
    await pipeline.drop(key, POPULATION_CSV);
    const unavailable = {
      start: async () => {
        throw new Error('Step Functions is unavailable');
      },
    };
    await expect(
      pumpDataset({ ...pipeline.deps, executions: unavailable }, pipeline.bucket, POPULATION.id),
    ).rejects.toThrow('unavailable');
    const held = await pipeline.lock.get(POPULATION.id);
    expect(held).toMatchObject({ phase: 'polling', holderKey: key });
    // The Lambda's own retry finds the dataset held and leaves it alone.
    expect(await pumpDataset(pipeline.deps, pipeline.bucket, POPULATION.id)).toEqual({ result: 'locked' });
    await pipeline.lock.update(POPULATION.id, held?.token ?? '', { leaseMs: -1 });
    await pipeline.sweep();
    await pipeline.whenIdle();
    expect(await outcomeOf(pipeline, key)).toMatchObject({ outcome: 'published', uploads: 1 });
    expect(pipeline.dataGovSg?.uploads(POPULATION.id)).toHaveLength(1);
  });

  it('does not leave a file to the sweep when it arrives just as the dataset is released', async () => {
    pipeline = await startFastPipeline({ deliverEvents: false });
    const key = `incoming/${POPULATION.alias}/replace/just-in-time.csv`;
    const p = pipeline;
    let dropped = false;
    // The file lands after the pump found nothing waiting but before it let go of the lock; its
    // own event (not delivered here) would have found the dataset held.
    const lock = {
      ...p.lock,
      acquire: p.lock.acquire.bind(p.lock),
      update: p.lock.update.bind(p.lock),
      get: p.lock.get.bind(p.lock),
      release: async (datasetId: string, token: string) => {
        if (!dropped) {
          dropped = true;
          await p.drop(key, POPULATION_CSV);
        }
        return p.lock.release(datasetId, token);
      },
    };
    const result = await pumpDataset({ ...p.deps, lock }, p.bucket, POPULATION.id);
    expect(result).toMatchObject({ result: 'uploaded', key });
    await p.whenIdle();
    expect((await outcomeOf(p, key)).outcome).toBe('published');
  });
});
