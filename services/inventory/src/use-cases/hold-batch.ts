// Group commit of the one-statement holds (issue 14). The seats-only holds without an Idempotency-Key that arrive
// while the database is busy are written together: up to `slots` batches are in flight (HOLD_BATCH_SLOTS), and a
// hold that finds every slot taken waits in a queue; when a slot frees, the holds that queued meanwhile (at most
// `maxBatch`, HOLD_BATCH_MAX) go as ONE call of inventory_hold_seats_batch (db/seats.ts holdSeatsInBatch: one
// round trip, one transaction, one commit) with exactly the per-hold semantics of inventory_hold_seats. Nothing
// waits for a batch to fill: an idle replica sends a hold at once (after the current event-loop turn, so the
// holds whose locks were granted in one turn can share a call).
// The batch's write runs inside ONE Redlock acquisition over the seats of all its holds (`lock`): the design's
// per-seat locks before the database is touched, but six scripts per batch instead of six per hold; the holds of
// one batch need no exclusion from each other (the function decides them one after the other in one transaction).
// A deadlock or serialization failure runs the batch again (a few times, with jitter); any other failure of the
// statement, or one that persists, must not fail the batch's innocent holds: they are written one by one (each its
// own call and retries), so only a hold that fails alone gets the error. A failure of the connection itself (no
// SQLSTATE, or class 08/53/57/58) fails the batch's holds at once: alone they would fail the same way. A batch's committed changes are numbered and
// published (one sequencer batch, shared) before any of its holds is answered, as for a single hold.
import { retryOnTxConflict, type Logger, type Sequelize } from '@eventtickets/platform';
import { holdSeatsInBatch, type BatchedSeatHold, type BatchedSeatHoldOutcome } from '../db/seats.ts';
import type { ChangePublisher } from './changes.ts';

export type { BatchedSeatHold, BatchedSeatHoldOutcome } from '../db/seats.ts';

export interface SeatHoldBatcherOptions {
  db: Sequelize;
  publish: ChangePublisher;
  logger: Logger;
  /** Most holds in one call (HOLD_BATCH_MAX). */
  maxBatch: number;
  /** Most calls in flight at once (HOLD_BATCH_SLOTS): each takes one pooled connection while it runs. */
  slots: number;
  /** Called with the size of every call made (metrics: inventory_hold_batch_size). */
  onBatch?: (size: number) => void;
  /** Runs a batch's write inside the seat locks of all its holds (Redlock, taken once per batch: the batch
   *  function already decides its own holds one after the other); absent: no lock. */
  lock?: <T>(holds: BatchedSeatHold[], write: () => Promise<T>) => Promise<T>;
  /** Test seam: the call itself (default holdSeatsInBatch). */
  write?: (db: Sequelize, holds: BatchedSeatHold[]) => Promise<BatchedSeatHoldOutcome[]>;
}

export interface SeatHoldBatcher {
  /** Writes one hold with the others queued meanwhile; resolves with its own outcome once the batch committed and
   *  its changes were numbered and published; rejects only with an error of its own (or of its lone retry). */
  submit(hold: BatchedSeatHold): Promise<BatchedSeatHoldOutcome>;
}

/** Attempts of one call when it hits a deadlock or serialization failure (as the single-hold path). */
const ATTEMPTS = 3;

interface Pending {
  hold: BatchedSeatHold;
  resolve: (outcome: BatchedSeatHoldOutcome) => void;
  reject: (err: unknown) => void;
}

type Settled = { outcome: BatchedSeatHoldOutcome } | { err: unknown };

/** Whether the statement itself failed (a SQLSTATE outside the connection/resource/operator classes), so one of
 *  the batch's holds may be the cause. A lost connection, a pool that cannot give one, or a server going down
 *  fails every hold alike: running them one by one would only repeat the failure once per hold (and, while
 *  connecting hangs, keep the slot for that many timeouts). */
function isStatementError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !/^(08|53|57|58)/.test(code);
}

export function createSeatHoldBatcher(opts: SeatHoldBatcherOptions): SeatHoldBatcher {
  const write = opts.write ?? holdSeatsInBatch;
  const queue: Pending[] = [];
  let inFlight = 0;
  let scheduled = false;

  function schedule(): void {
    if (scheduled || inFlight >= opts.slots || !queue.length) return;
    scheduled = true;
    setImmediate(pump);
  }

  function pump(): void {
    scheduled = false;
    while (inFlight < opts.slots && queue.length) {
      const batch = queue.splice(0, opts.maxBatch);
      inFlight++;
      let freed = false;
      const free = () => {
        if (freed) return;
        freed = true;
        inFlight--;
        schedule();
      };
      void run(batch, free).finally(free);
    }
  }

  function attempt(holds: BatchedSeatHold[]): Promise<BatchedSeatHoldOutcome[]> {
    return retryOnTxConflict(() => write(opts.db, holds), {
      attempts: ATTEMPTS,
      onRetry: (n, err) => opts.logger.debug({ err, attempt: n, holds: holds.length }, 'hold batch retried'),
    });
  }

  async function settle(batch: Pending[]): Promise<Settled[]> {
    opts.onBatch?.(batch.length);
    try {
      return (await attempt(batch.map((p) => p.hold))).map((outcome) => ({ outcome }));
    } catch (err) {
      if (batch.length === 1 || !isStatementError(err)) return batch.map(() => ({ err }));
      // Nothing of the batch was written (one transaction): each hold alone, so only a culprit fails.
      opts.logger.warn({ err, holds: batch.length }, 'hold batch failed: its holds are written one by one');
      const settled: Settled[] = [];
      for (const p of batch) {
        opts.onBatch?.(1);
        try {
          settled.push({ outcome: (await attempt([p.hold]))[0]! });
        } catch (e) {
          settled.push({ err: e });
        }
      }
      return settled;
    }
  }

  /** `written` frees the batch's slot once its write is over: its numbering and answers then run while the next
   *  batch writes (with one slot, a slot held until the numbering's round trip came back made every batch wait
   *  for its predecessor's numbering too). */
  async function run(batch: Pending[], written: () => void): Promise<void> {
    try {
      const settled = opts.lock
        ? await opts.lock(
            batch.map((p) => p.hold),
            () => settle(batch),
          )
        : await settle(batch);
      written();
      await answer(batch, settled);
    } catch (err) {
      for (const p of batch) p.reject(err); // never a hold left waiting (a promise settles once)
    }
  }

  async function answer(batch: Pending[], settled: Settled[]): Promise<void> {
    // Committed: numbered and published before any answer. One call covers every change the batch committed (the
    // sequencer numbers all that committed before it runs); one call per hold would queue a second batch for none.
    const granted = settled.findIndex((s) => 'outcome' in s && s.outcome.ok);
    if (granted >= 0) {
      try {
        await opts.publish(batch[granted]!.hold.change);
      } catch {
        /* the sequencer's sweep numbers it later */
      }
    }
    settled.forEach((s, i) => ('outcome' in s ? batch[i]!.resolve(s.outcome) : batch[i]!.reject(s.err)));
  }

  return {
    submit(hold) {
      return new Promise((resolve, reject) => {
        queue.push({ hold, resolve, reject });
        schedule();
      });
    },
  };
}
