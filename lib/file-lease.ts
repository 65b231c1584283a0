import type { DatasetLock } from './dataset-lock.js';
import type { Metrics } from './metrics.js';
import type { Log } from './observability.js';

/** Lease records of files sit beside datasets' locks in one table; dataset ids start with `d_`. */
export function fileLeaseId(bucket: string, key: string): string {
  return `file:${bucket}/${key}`;
}

/**
 * Runs `work` while this run holds the lease on a file, or answers 'held' without running it when
 * another live run does. The lease outlives any run (its length is above the function's time
 * limit), so a run that dies holds the file until the lease ends, and never longer. A failed
 * release is logged, not thrown: the work is done, and the lease runs out by itself.
 */
export async function underFileLease<T>(
  deps: { lock: DatasetLock; log: Log; metrics: Metrics },
  id: string,
  leaseMs: number,
  work: () => Promise<T>,
): Promise<T | 'held'> {
  const lease = await deps.lock.acquire(id, leaseMs);
  if (!lease.acquired) {
    deps.log.info('FILE_HELD', { lease: id, holder: lease.current?.token });
    return 'held';
  }
  if (lease.previous) {
    // The run that held it died (killed, timed out) before releasing it: its work is done again.
    deps.log.warn('FILE_LEASE_TAKEN_OVER', { lease: id, previousHolder: lease.previous.token });
    deps.metrics.add('TakeOvers', 1);
  }
  try {
    return await work();
  } finally {
    await deps.lock.release(id, lease.token).catch((error: unknown) =>
      deps.log.warn('FILE_LEASE_NOT_RELEASED', {
        lease: id,
        error: error instanceof Error ? error.name : 'unknown',
      }),
    );
  }
}
