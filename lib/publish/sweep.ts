import type { DatasetDirectory } from '../datasets.js';
import type { DropBucket } from '../drop-bucket.js';
import { datasetRefOf, INCOMING_PREFIX, isPerformanceKey } from '../drop-key.js';
import type { Kick, Kicker } from '../kicks.js';
import type { Metrics } from '../metrics.js';
import type { Log } from '../observability.js';

export interface SweepDeps {
  bucket: DropBucket;
  /** The upload function (data.gov.sg files). */
  kicker: Kicker;
  /** The Performance Platform forwarder (files under incoming/performance/). */
  forwarder: Kicker;
  datasets: DatasetDirectory;
  settings: { SWEEP_MIN_AGE_SECONDS: number };
  log: Log;
  metrics: Metrics;
  now: () => Date;
}

/**
 * Finds files that have waited in incoming/ longer than the bound (their event was lost, or
 * their dataset was busy) and kicks the upload function once per dataset, and once per key
 * that names no dataset (so that it is filed in failed/).
 */
export async function sweepIncoming(deps: SweepDeps, bucket: string): Promise<Kick[]> {
  const now = deps.now().getTime();
  const cutoff = now - deps.settings.SWEEP_MIN_AGE_SECONDS * 1000;
  const listed = await deps.bucket.list(bucket, INCOMING_PREFIX);
  // Measured at every sweep, 0 when nothing waits, so that the alarm on it always has data.
  const oldest = listed.reduce((min, object) => Math.min(min, object.lastModified.getTime()), now);
  deps.metrics.add('OldestIncomingAgeSeconds', Math.max(0, Math.round((now - oldest) / 1000)));
  const waiting = listed.filter((object) => object.lastModified.getTime() <= cutoff);
  const kicks = new Map<string, Kick>();
  const forwards: Kick[] = [];
  for (const object of waiting) {
    if (isPerformanceKey(object.key)) {
      forwards.push({ source: 'govpub.kick', reason: 'sweep', bucket, key: object.key });
      continue;
    }
    const ref = datasetRefOf(object.key);
    const datasetId = ref === undefined ? undefined : deps.datasets.resolve(ref);
    if (datasetId) {
      kicks.set(datasetId, { source: 'govpub.kick', reason: 'sweep', bucket, datasetId });
    } else {
      kicks.set(object.key, { source: 'govpub.kick', reason: 'sweep', bucket, key: object.key });
    }
  }
  await Promise.all([
    ...[...kicks.values()].map((kick) => deps.kicker.kick(kick)),
    ...forwards.map((kick) => deps.forwarder.kick(kick)),
  ]);
  deps.log.info('SWEEP_DONE', { waiting: waiting.length, kicks: kicks.size, forwards: forwards.length });
  return [...kicks.values(), ...forwards];
}
