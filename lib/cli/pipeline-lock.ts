import type { Settings } from '../config.js';
import { type DatasetLock, DynamoDatasetLock } from '../dataset-lock.js';
import { CliError, EXIT } from './exit.js';
import type { Output } from './output.js';
import { quietNodeAdvisory } from './s3.js';

/**
 * Runs `send` holding the pipeline's lock on the dataset, when the lock table is configured
 * (LOCK_TABLE_NAME): a `govpub publish` and the pipeline then never upload to one dataset at once.
 * A dataset the pipeline holds is refused with exit 5. The lease is renewed while `send` runs; a
 * CLI that dies leaves a record with no file in it, which the pipeline takes over once its lease
 * ends like any crashed run's (nothing to resume, so it goes on to its next file).
 */
export async function withPipelineLock<T>(
  out: Output,
  settings: Pick<Settings, 'LOCK_TABLE_NAME' | 'LOCK_UPLOAD_LEASE_SECONDS'>,
  datasetId: string,
  send: () => Promise<T>,
  openLock: (tableName: string) => Promise<DatasetLock> = defaultLock,
): Promise<T> {
  if (!settings.LOCK_TABLE_NAME) return send();
  quietNodeAdvisory(out);
  const lock = await openLock(settings.LOCK_TABLE_NAME);
  const held = await lock.get(datasetId);
  if (held) throw busy(datasetId, held.holderKey, held.acquiredAt);
  const leaseMs = settings.LOCK_UPLOAD_LEASE_SECONDS * 1000;
  const acquired = await lock.acquire(datasetId, leaseMs);
  if (!acquired.acquired) throw busy(datasetId, acquired.current?.holderKey, acquired.current?.acquiredAt);
  const { token, previous } = acquired;
  if (previous?.holderKey || previous?.resumeState) {
    // A run's record that expired between the look and the take: hand it back, already expired,
    // for the pipeline's own take-over, which knows how to resume it.
    await lock.update(datasetId, token, {
      phase: previous.phase,
      ...(previous.holderKey ? { holderKey: previous.holderKey } : {}),
      ...(previous.holderEtag ? { holderEtag: previous.holderEtag } : {}),
      takeovers: previous.takeovers,
      ...(previous.resumeState ? { resumeState: previous.resumeState } : {}),
      leaseMs: 0,
    });
    throw busy(datasetId, previous.holderKey, previous.acquiredAt);
  }
  out.warn(`Holding ${datasetId} in the pipeline's lock table (${settings.LOCK_TABLE_NAME}) while sending.`);
  let renewal: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    renewal = lock.update(datasetId, token, { phase: 'uploading', leaseMs }).catch((error: unknown) => {
      out.warn(`Could not renew the lock on ${datasetId}: ${(error as Error).message}`);
    });
  }, leaseMs / 3);
  timer.unref();
  try {
    return await send();
  } finally {
    clearInterval(timer);
    await renewal;
    await lock.release(datasetId, token).catch((error: unknown) => {
      out.warn(
        `Could not release the lock on ${datasetId} (${(error as Error).message}); it ends with its lease.`,
      );
    });
  }
}

function busy(datasetId: string, holderKey: string | undefined, since: number | undefined): CliError {
  const what = holderKey ? `the pipeline is publishing ${holderKey}` : 'another publication holds it';
  const when = since === undefined ? '' : ` (since ${new Date(since).toISOString()})`;
  return new CliError(
    EXIT.http,
    `${datasetId} is busy: ${what}${when}; nothing was sent. Try again once it has finished.`,
    {
      hints: [
        `govpub status ${datasetId} shows it; unset LOCK_TABLE_NAME only if no pipeline publishes this dataset.`,
      ],
    },
  );
}

async function defaultLock(tableName: string): Promise<DatasetLock> {
  const { createDynamoDbClient } = await import('../aws-clients/dynamodb.js');
  return new DynamoDatasetLock(createDynamoDbClient(), tableName);
}
