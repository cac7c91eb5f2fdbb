// Hold use cases: validate against the event's rules, take the seat locks (Redlock: sheds contention; when
// they stay busy the database decides), then make the one authoritative conditional write in Postgres.
import {
  HttpProblem,
  LockUnavailableError,
  problems,
  runIdempotent,
  withRetryingTransaction,
  type IdempotentResult,
  type Locker,
  type Logger,
  type Sequelize,
  type Transaction,
} from '@eventtickets/platform';
import { dbNow } from '../db/events.ts';
import { knownAreaIds } from '../db/ga-areas.ts';
import { loadHold } from '../db/holds.ts';
import { knownSeatIds } from '../db/seats.ts';
import { checkHoldAllowed, lockKeys } from '../domain/hold-rules.ts';
import type { HoldRequest, HoldView } from '../domain/types.ts';
import type { InventoryMetrics } from '../metrics.ts';
import { committedResult, holdIdempotencyRef, resultOfConcurrentDuplicate } from './hold-idempotency.ts';
import {
  confirmActiveHold,
  endHold,
  returnConfirmedHold,
  unknownSeats,
  writeHold,
  writeSeatHoldAtOnce,
  writeSeatHoldBatched,
  seatsUnavailable,
  type ChangePublisher,
} from './hold-writes.ts';
import { createSeatHoldBatcher, type SeatHoldBatcherOptions } from './hold-batch.ts';
import { loadHoldView } from './hold-view.ts';
import { createSaleRulesCache } from './sale-rules.ts';
import type { TakenSeatsView } from './taken-seats.ts';

export interface HoldHooks {
  /** Test seam: runs after the locks are taken and before the database write (to simulate a long pause). */
  beforeWrite?: (req: HoldRequest) => Promise<void>;
  /** Test seam: runs inside the hold transaction after the write, before the commit (locks still held). */
  beforeCommit?: (req: HoldRequest) => Promise<void>;
}

export interface HoldServiceDeps {
  db: Sequelize;
  locker: Locker;
  logger: Logger;
  metrics: InventoryMetrics;
  publish: ChangePublisher;
  lockTtlMs: number;
  /** HOLD_RULES_CACHE_MS: how long an event's sale rules are kept (0: read for every hold). */
  rulesCacheMs?: number;
  /** Group commit of the one-statement holds (HOLD_BATCH_MAX, HOLD_BATCH_SLOTS; hold-batch.ts); maxBatch 0 or
   *  absent: each such hold is its own call of inventory_hold_seats. `write` is a test seam. */
  batch?: { maxBatch: number; slots: number; write?: SeatHoldBatcherOptions['write'] };
  /** Refusals of seats already taken, answered without a lock or a database call (taken-seats.ts); absent:
   *  every hold takes the full path. */
  takenSeats?: Pick<TakenSeatsView, 'refusal'>;
  hooks?: HoldHooks;
}

const TX_ATTEMPTS = 3;

/** A created hold (status 201), or the stored first result of an Idempotency-Key retry (replayed). */
export type CreatedHold = IdempotentResult<HoldView>;

export function createHoldService(deps: HoldServiceDeps) {
  const { db, metrics, publish } = deps;
  const saleRules = createSaleRulesCache(db, deps.rulesCacheMs ?? 0);
  const batcher =
    deps.batch && deps.batch.maxBatch > 0
      ? createSeatHoldBatcher({
          db,
          publish,
          logger: deps.logger,
          maxBatch: deps.batch.maxBatch,
          slots: deps.batch.slots,
          write: deps.batch.write,
          lock: (holds, write) =>
            withSeatLocks(
              holds.flatMap((h) => lockKeys({ eventId: h.eventId, seats: h.seatIds })),
              write,
            ),
          onBatch: (size) => metrics.holdBatchSize.observe(size),
        })
      : undefined;

  /** Runs `write` inside the seats' Redlock locks. Still busy after the locker's brief retries: `whenBusy` may
   *  answer instead, else the database decides (its row locks make the write wait for the holder's commit, then it
   *  answers 201 or 409), not a 503. */
  function withSeatLocks<T>(
    keys: string[],
    write: () => Promise<T>,
    whenBusy?: () => Promise<T | undefined>,
  ): Promise<T> {
    if (!keys.length) return write();
    return deps.locker.withLocks(keys, deps.lockTtlMs, write).catch(async (err: unknown) => {
      if (!(err instanceof LockUnavailableError)) throw err;
      const answered = await whenBusy?.();
      if (answered) return answered;
      metrics.holdConflicts.inc({ reason: 'lock-busy' });
      return write();
    });
  }

  /** A deadlock or serialization failure runs the whole transaction again (every step is re-read in it). */
  function inTransaction<T>(fn: (t: Transaction) => Promise<T>): Promise<T> {
    return withRetryingTransaction(db, fn, {
      attempts: TX_ATTEMPTS,
      onRetry: (attempt, err) => deps.logger.debug({ err, attempt }, 'hold transaction retried'),
    });
  }

  /** Rejects unknown seat or area ids with a 422 before anything is locked or written. */
  async function checkKnown(req: HoldRequest): Promise<void> {
    if (req.seats?.length) {
      const found = await knownSeatIds(db, req.eventId, req.seats);
      const unknown = req.seats.filter((s) => !found.has(s));
      if (unknown.length) throw unknownSeats(req.eventId, unknown);
    }
    if (req.ga?.length) {
      const ids = req.ga.map((g) => g.areaId);
      const found = await knownAreaIds(db, req.eventId, ids);
      const unknown = ids.filter((a) => !found.has(a));
      if (unknown.length)
        throw problems.unprocessable(`Unknown general-admission areas for event ${req.eventId}`, 'unknown-areas', {
          unknownAreas: unknown,
        });
    }
  }

  /**
   * Creates a hold. With an Idempotency-Key the key is stored in the hold's own transaction (runIdempotent), so
   * a retry gets the first attempt's 201 back (replayed) instead of a conflict with its own seats.
   * Round trips for a seats-only hold without a key: ONE call of the hold function (its own transaction: lock,
   * seats, hold, change, outbox; writeSeatHoldAtOnce), the sale rules coming from the per-event copy
   * (sale-rules.ts; one read when it is missing or stale); a granted hold proves its seats exist, and a refused one
   * reads which requested seats are unknown (422) before its 409. The change is numbered after commit by a batch
   * (one round trip) shared with every hold committed meanwhile, before the answer. With a key or GA places: the
   * known places read, then BEGIN, the writes, the outbox row and COMMIT.
   */
  async function create(userId: string, req: HoldRequest, idempotencyKey?: string): Promise<CreatedHold> {
    const ref = idempotencyKey ? holdIdempotencyRef(userId, idempotencyKey, req) : undefined;
    // A retry of a committed request is answered before any rule or lock: the event may have changed since,
    // and its seats are held by that very request.
    const stored = ref && (await committedResult(db, ref));
    if (stored) return stored;
    const event = await saleRules.get(req.eventId);
    if (!event) throw problems.notFound(`No event ${req.eventId}`, 'event-not-found');
    checkHoldAllowed(event.rules, req, event.dbNow);
    // Seats only, no key, no test seam inside the transaction: the one-statement path.
    const atOnce = !ref && !req.ga?.length && !!req.seats?.length && !deps.hooks?.beforeCommit;
    // Seats this replica's view of committed changes already shows taken: the same 409 the write would give,
    // before any lock or database call (the one-statement holds only: a hold with a key or GA places takes the
    // full path).
    const taken = atOnce ? deps.takenSeats?.refusal(req.eventId, req.seats!) : undefined;
    if (taken) {
      metrics.holdsRefusedFromView.inc();
      metrics.holdConflicts.inc({ reason: 'seats-unavailable' });
      throw seatsUnavailable(taken);
    }
    if (!atOnce) await checkKnown(req);
    const applyHold = async (t: Transaction): Promise<{ status: number; body: HoldView }> => {
      const body = await writeHold(
        db,
        t,
        { ...req, userId, reservationMinutes: event.rules.reservationMinutes },
        publish,
      );
      await deps.hooks?.beforeCommit?.(req);
      return { status: 201, body };
    };
    const write = async (): Promise<CreatedHold> => {
      await deps.hooks?.beforeWrite?.(req);
      if (atOnce) {
        const seatHold = {
          eventId: req.eventId,
          seats: req.seats!,
          userId,
          reservationMinutes: event.rules.reservationMinutes,
        };
        // Group commit: the batch's answer already tells unknown seats (422) from taken ones (409).
        const body = await (
          batcher ? writeSeatHoldBatched(batcher, seatHold) : writeSeatHoldAtOnce(db, seatHold, publish)
        ).catch(async (err: unknown) => {
          // Refused: an unknown seat is the caller's mistake (422), not a seat someone else holds (409).
          if (!batcher && err instanceof HttpProblem && err.slug === 'seats-unavailable') await checkKnown(req);
          throw err;
        });
        metrics.holdsCreated.inc();
        return { status: 201, body, replayed: false };
      }
      // No check of the lock's signal here on purpose: correctness never depends on the lock, the
      // conditional write below refuses anything a paused holder could get wrong.
      const result = await inTransaction((t) =>
        ref ? runIdempotent(db, t, ref, () => applyHold(t)) : applyHold(t).then((r) => ({ ...r, replayed: false })),
      );
      if (!result.replayed) metrics.holdsCreated.inc();
      return result;
    };
    // A batched hold takes its seat locks with its batch (hold-batch.ts), once for all the batch's holds.
    const keys = atOnce && batcher ? [] : lockKeys(req);
    try {
      // Busy: the lock holder may be this key's own first attempt, still writing; wait for it and answer its result.
      return await withSeatLocks(keys, write, async () => (ref ? resultOfConcurrentDuplicate(db, ref) : undefined));
    } catch (err) {
      if (err instanceof HttpProblem && err.status === 409) metrics.holdConflicts.inc({ reason: err.slug });
      throw err;
    }
  }

  /** A hold as its owner sees it; anyone else gets the same 404 as for a hold that does not exist. */
  async function getOwned(userId: string, holdId: string): Promise<HoldView> {
    const view = await loadHoldView(db, holdId);
    if (!view || view.userId !== userId) throw problems.notFound(`No hold ${holdId}`, 'hold-not-found');
    return view;
  }

  async function get(holdId: string): Promise<HoldView> {
    const view = await loadHoldView(db, holdId);
    if (!view) throw problems.notFound(`No hold ${holdId}`, 'hold-not-found');
    return view;
  }

  /** Releases an active hold; releasing an ended hold changes nothing; a confirmed hold cannot be released. */
  async function release(holdId: string, ownerId?: string): Promise<HoldView> {
    let expiredHere = false;
    const outcome = await inTransaction(async (t) => {
      const hold = await loadHold(db, holdId, t, true);
      if (!hold || (ownerId !== undefined && hold.userId !== ownerId))
        throw problems.notFound(`No hold ${holdId}`, 'hold-not-found');
      if (hold.status === 'confirmed')
        throw problems.conflict('The hold was confirmed; cancel the order instead', 'hold-confirmed', {
          holdStatus: hold.status,
        });
      expiredHere = false; // a retried transaction starts over
      if (hold.status === 'active') {
        expiredHere = hold.expiresAt <= (await dbNow(db, t));
        await endHold(db, t, hold, expiredHere ? 'expired' : 'released', publish);
      }
      return loadHoldView(db, holdId, t);
    });
    if (expiredHere) metrics.holdsExpired.inc(); // the sweeper would have counted it
    return outcome!;
  }

  /** Idempotent per order: confirming a hold again for the same order returns it unchanged; for another order
   *  it is a 409. An active hold past its expiry is expired right here (whether or not the sweeper got to it
   *  yet) and the confirm fails. */
  async function confirm(holdId: string, orderId: string): Promise<HoldView> {
    const outcome = await inTransaction(async (t) => {
      const hold = await loadHold(db, holdId, t, true);
      if (!hold) throw problems.notFound(`No hold ${holdId}`, 'hold-not-found');
      if (hold.status === 'confirmed') {
        if (hold.orderId !== orderId) {
          throw problems.conflict('The hold was confirmed for another order', 'hold-confirmed-for-other-order', {
            holdStatus: hold.status,
          });
        }
        return { view: await loadHoldView(db, holdId, t) };
      }
      if (hold.status === 'active' && hold.expiresAt <= (await dbNow(db, t))) {
        await endHold(db, t, hold, 'expired', publish);
        return { expired: true };
      }
      if (hold.status !== 'active') return { ended: hold.status };
      await confirmActiveHold(db, t, hold, orderId, publish);
      return { view: await loadHoldView(db, holdId, t) };
    });
    if (outcome.expired) {
      metrics.holdsExpired.inc();
      throw problems.conflict('The hold expired before it was confirmed', 'hold-expired', { holdStatus: 'expired' });
    }
    if (outcome.ended)
      throw problems.conflict(
        `The hold is ${outcome.ended}`,
        outcome.ended === 'expired' ? 'hold-expired' : 'hold-released',
        { holdStatus: outcome.ended },
      );
    return outcome.view!;
  }

  /** The order of a confirmed hold was cancelled: its sold places go back on sale, once per order (again: the
   *  same hold, nothing changed). Only the order the hold was confirmed for may return it. */
  async function returnSeats(holdId: string, orderId: string): Promise<HoldView> {
    return inTransaction(async (t) => {
      const hold = await loadHold(db, holdId, t, true);
      if (!hold) throw problems.notFound(`No hold ${holdId}`, 'hold-not-found');
      if (hold.status !== 'confirmed')
        throw problems.conflict(`The hold is ${hold.status}`, 'hold-not-confirmed', { holdStatus: hold.status });
      if (hold.orderId !== orderId)
        throw problems.conflict('The hold was confirmed for another order', 'hold-confirmed-for-other-order', {
          holdStatus: hold.status,
        });
      await returnConfirmedHold(db, t, hold, publish);
      return (await loadHoldView(db, holdId, t))!;
    });
  }

  return { create, get, getOwned, release, confirm, returnSeats };
}

export type HoldService = ReturnType<typeof createHoldService>;
