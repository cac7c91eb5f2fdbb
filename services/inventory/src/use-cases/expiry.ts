// Hold expiry, driven only by database state: every replica runs this loop; FOR UPDATE SKIP LOCKED gives
// each replica a disjoint batch, and nothing lives in process memory, so expiry survives restarts.
import {
  isRetryableTxError,
  pruneIdempotencyKeys,
  startPeriodic,
  withTransaction,
  type Logger,
  type PeriodicTask,
  type Sequelize,
} from '@eventtickets/platform';
import { pruneChanges } from '../db/changes.ts';
import { lockDueHolds } from '../db/holds.ts';
import type { InventoryMetrics } from '../metrics.ts';
import { freeHold, noneFreed, recordFreed, type ChangePublisher, type FreedPlaces } from './hold-writes.ts';

export interface ExpiryOptions {
  db: Sequelize;
  logger: Logger;
  metrics: InventoryMetrics;
  publish: ChangePublisher;
  intervalMs: number;
  batchSize: number;
  changeLogRetentionMs: number;
  idempotencyKeyRetentionMs: number;
}

/** Expires one batch; returns how many holds it expired. The lock order is the hold writers' one: hold rows,
 *  then seats and GA rows of every hold, then each event's row (one change per event, events in id order)
 *  last, so a batch cannot deadlock with a hold being written on the same GA area. */
export async function expireBatch(opts: Pick<ExpiryOptions, 'db' | 'publish' | 'batchSize'>): Promise<number> {
  return withTransaction(opts.db, async (t) => {
    const due = await lockDueHolds(opts.db, t, opts.batchSize);
    const byEvent = new Map<string, FreedPlaces>();
    for (const hold of due) {
      let freed = byEvent.get(hold.eventId);
      if (!freed) byEvent.set(hold.eventId, (freed = noneFreed()));
      await freeHold(opts.db, t, hold, 'expired', freed);
    }
    for (const eventId of [...byEvent.keys()].sort())
      await recordFreed(opts.db, t, eventId, byEvent.get(eventId)!, opts.publish);
    return due.length;
  });
}

export function startExpiry(opts: ExpiryOptions): PeriodicTask {
  let lastPrune = 0;
  let stopping = false;

  async function tick(): Promise<void> {
    try {
      // Drain: keep taking batches while full ones come back.
      for (;;) {
        const n = await expireBatch(opts);
        if (n) {
          opts.metrics.holdsExpired.inc(n);
          opts.logger.info({ expired: n }, 'holds expired');
        }
        if (n < opts.batchSize || stopping) break;
      }
      if (Date.now() - lastPrune > 60_000) {
        lastPrune = Date.now();
        await pruneChanges(opts.db, opts.changeLogRetentionMs);
        const forgotten = await pruneIdempotencyKeys(opts.db, opts.idempotencyKeyRetentionMs);
        if (forgotten) opts.logger.info({ forgotten }, 'old idempotency keys pruned');
      }
    } catch (err) {
      // A deadlock with a concurrent writer is retried on the next tick.
      if (isRetryableTxError(err)) opts.logger.warn({ err }, 'expiry batch retried later');
      else throw err;
    }
  }

  const task = startPeriodic({ name: 'hold expiry', intervalMs: opts.intervalMs, run: tick, logger: opts.logger });
  return {
    stop: () => {
      stopping = true;
      return task.stop();
    },
  };
}
