// The transactional writes on seats and GA counters. Postgres is the authority for the seat invariant:
// every write is conditional on the current state and all-or-nothing within its transaction.
import { randomUUID } from 'node:crypto';
import {
  enqueueEvent,
  HttpProblem,
  retryOnTxConflict,
  outboxRecord,
  problems,
  type Sequelize,
  type Transaction,
} from '@eventtickets/platform';
import { eventStatus } from '../db/events.ts';
import { gaRemaining, holdGaPlaces, releaseGaPlaces, returnSoldGaPlaces, sellGaPlaces } from '../db/ga-areas.ts';
import {
  holdGa,
  holdSeatIds,
  insertHoldGa,
  insertHoldSharingEventLock,
  markHoldConfirmed,
  markHoldEnded,
  markHoldReturned,
} from '../db/holds.ts';
import {
  freeSeatsOfHold,
  holdSeatsInOneStatement,
  holdSeatsWithPrices,
  returnSoldSeatsOfHold,
  sellSeatsOfHold,
  type SeatHoldWrite,
} from '../db/seats.ts';
import { totals } from '../domain/hold-rules.ts';
import type {
  EndReason,
  Hold,
  HoldEventPayload,
  HoldRequest,
  HoldSeat,
  HoldView,
  SeatStatus,
} from '../domain/types.ts';
import { afterCommit, pendingChange, recordChange, type ChangePublisher } from './changes.ts';
import type { SeatHoldBatcher } from './hold-batch.ts';
import { loadHoldView } from './hold-view.ts';

export type { ChangePublisher } from './changes.ts';

/** Thrown inside the hold transaction so it rolls back; carries the seats/areas that were gone. */
export function seatsUnavailable(seats: string[]): HttpProblem {
  return problems.conflict(`${seats.length} of the requested seats are no longer available`, 'seats-unavailable', {
    unavailableSeats: seats,
  });
}

/** A hold naming seats its event does not have: the caller's mistake, 422 before any 409. */
export function unknownSeats(eventId: string, unknown: string[]): HttpProblem {
  return problems.unprocessable(`Unknown seats for event ${eventId}`, 'unknown-seats', { unknownSeats: unknown });
}

export function gaExceeded(areas: { areaId: string; requested: number; remaining: number }[]): HttpProblem {
  return problems.conflict('Not enough general-admission places left', 'ga-capacity-exceeded', { areas });
}

/** Creates the hold and returns it as its owner sees it. Round trips inside the transaction for a seats-only
 *  hold: (1) the event's shared advisory lock and the hold row in one statement, (2) ONE statement with the
 *  conditional UPDATE over all requested seats (row count must match), the hold's seat rows and the change
 *  log row, (3) the hold.created outbox row. No per-event row is locked: the change is numbered after commit.
 *  GA places add their conditional increments, a status check and a read of the hold as stored. */
export async function writeHold(
  db: Sequelize,
  t: Transaction,
  req: HoldRequest & { userId: string; reservationMinutes: number },
  publish: ChangePublisher,
): Promise<HoldView> {
  const holdId = randomUUID();
  const seatIds = [...(req.seats ?? [])].sort();
  const ga = [...(req.ga ?? [])].sort((a, b) => a.areaId.localeCompare(b.areaId));
  // First lock of the transaction: shared with other hold writers, exclusive against a cancellation, so a
  // cancel never runs while a hold it cannot see yet is being written (that hold would stay active).
  const { createdAt, expiresAt } = await insertHoldSharingEventLock(db, t, {
    holdId,
    eventId: req.eventId,
    userId: req.userId,
    reservationMinutes: req.reservationMinutes,
  });
  // A cancelled event's seats are void, so the seat UPDATE below takes none of them; GA counters say nothing
  // about the event's status, so a GA hold reads it (after the lock: a cancel cannot be in flight).
  const cancelled = () => new HttpProblem(409, 'event-cancelled', 'Conflict', 'The event was cancelled');
  if (ga.length && (await eventStatus(db, req.eventId, t)) !== 'published') throw cancelled();
  const seatChanges: Record<string, SeatStatus> = Object.fromEntries(seatIds.map((s) => [s, 'held' as const]));
  let seats: HoldSeat[] = [];
  if (seatIds.length) {
    const change = ga.length ? undefined : pendingChange(req.eventId, { seats: seatChanges });
    seats = await holdSeatsWithPrices(db, t, holdId, req.eventId, seatIds, change);
    if (seats.length !== seatIds.length) {
      if ((await eventStatus(db, req.eventId, t)) === 'cancelled') throw cancelled();
      const got = new Set(seats.map((s) => s.seatId));
      throw seatsUnavailable(seatIds.filter((s) => !got.has(s)));
    }
    if (change) afterCommit(t, change, publish);
  }
  const gaChanges: { areaId: string; remaining: number }[] = [];
  const exceeded: { areaId: string; requested: number; remaining: number }[] = [];
  for (const g of ga) {
    // sold + held <= capacity is checked here (and backed by the ga_within_capacity CHECK constraint)
    const remaining = await holdGaPlaces(db, t, req.eventId, g.areaId, g.quantity);
    if (remaining === undefined) {
      exceeded.push({
        areaId: g.areaId,
        requested: g.quantity,
        remaining: await gaRemaining(db, t, req.eventId, g.areaId),
      });
      continue;
    }
    gaChanges.push({ areaId: g.areaId, remaining });
    await insertHoldGa(db, t, holdId, req.eventId, g.areaId, g.quantity);
  }
  if (exceeded.length) throw gaExceeded(exceeded);
  if (ga.length) await recordChange(db, t, req.eventId, { seats: seatChanges, ga: gaChanges }, publish);
  await enqueueHoldEvent(db, t, 'hold.created', {
    holdId,
    eventId: req.eventId,
    userId: req.userId,
    seats: seatIds,
    ga: ga.map((g) => ({ areaId: g.areaId, quantity: g.quantity })),
  });
  if (ga.length) return (await loadHoldView(db, holdId, t))!;
  // seats only: everything the view shows came back from the writes
  return newSeatHoldView(holdId, req, createdAt, expiresAt, seats);
}

/** The view of a hold of seats just written (no read back: the writes returned every field it shows). */
function newSeatHoldView(
  holdId: string,
  req: { eventId: string; userId: string },
  createdAt: Date,
  expiresAt: Date,
  seats: HoldSeat[],
): HoldView {
  return {
    id: holdId,
    eventId: req.eventId,
    userId: req.userId,
    status: 'active',
    createdAt: createdAt.toISOString(),
    expiresAt: expiresAt.toISOString(),
    endedAt: null,
    endReason: null,
    confirmedAt: null,
    orderId: null,
    seats,
    ga: [],
    totals: totals({ seats, ga: [] }),
  };
}

/** A new seats-only hold's id, its sorted seats, its pending change and its hold.created outbox record (the same for
 *  both one-statement paths). */
function newSeatHold(req: { eventId: string; seats: string[]; userId: string; reservationMinutes: number }): {
  hold: SeatHoldWrite;
  outbox: ReturnType<typeof outboxRecord<'hold.created'>>;
} {
  const holdId = randomUUID();
  const seatIds = [...req.seats].sort();
  const change = pendingChange(req.eventId, {
    seats: Object.fromEntries(seatIds.map((s) => [s, 'held' as const])),
  });
  const outbox = outboxRecord({
    type: 'hold.created',
    aggregateId: holdId,
    payload: { holdId, eventId: req.eventId, userId: req.userId, seats: seatIds, ga: [] },
  });
  const hold = {
    holdId,
    eventId: req.eventId,
    userId: req.userId,
    seatIds,
    reservationMinutes: req.reservationMinutes,
    change,
  };
  return { hold, outbox };
}

const ONE_STATEMENT_ATTEMPTS = 3;

/** A seats-only hold without an Idempotency-Key in ONE round trip (db/seats.ts holdSeatsInOneStatement: its own
 *  transaction, all-or-nothing, the same rows as writeHold writes), then numbered and published like any
 *  change before the answer. A deadlock or serialization failure runs the statement again. */
export async function writeSeatHoldAtOnce(
  db: Sequelize,
  req: { eventId: string; seats: string[]; userId: string; reservationMinutes: number },
  publish: ChangePublisher,
): Promise<HoldView> {
  const { hold, outbox } = newSeatHold(req);
  const { holdId, seatIds, change } = hold;
  const outcome = await retryOnTxConflict(() => holdSeatsInOneStatement(db, { ...hold, outbox: outbox.bind }), {
    attempts: ONE_STATEMENT_ATTEMPTS,
  });
  if (!outcome.ok) {
    if (outcome.eventStatus === 'cancelled')
      throw new HttpProblem(409, 'event-cancelled', 'Conflict', 'The event was cancelled');
    const available = new Set(outcome.available);
    throw seatsUnavailable(seatIds.filter((s) => !available.has(s)));
  }
  try {
    await publish(change); // committed: numbered and published before the answer, as afterCommit does
  } catch {
    /* the sequencer's sweep numbers it later */
  }
  return newSeatHoldView(holdId, req, outcome.createdAt, outcome.expiresAt, outcome.seats);
}

/** The same hold as writeSeatHoldAtOnce, written by the group-commit batcher (hold-batch.ts) with the other holds
 *  queued meanwhile: one call and one transaction for the whole batch, the same rows and answers per hold. A
 *  refusal comes back with its unknown seats, so it needs no second round trip: 409 event-cancelled when the event
 *  was cancelled, else 422 unknown-seats when a seat does not exist, else 409 seats-unavailable. Answered after the
 *  batch's changes were numbered and published. */
export async function writeSeatHoldBatched(
  batcher: SeatHoldBatcher,
  req: { eventId: string; seats: string[]; userId: string; reservationMinutes: number },
): Promise<HoldView> {
  const { hold, outbox } = newSeatHold(req);
  const { holdId, seatIds } = hold;
  const outcome = await batcher.submit({ ...hold, outbox: outbox.event });
  if (!outcome.ok) {
    if (outcome.eventStatus === 'cancelled')
      throw new HttpProblem(409, 'event-cancelled', 'Conflict', 'The event was cancelled');
    if (outcome.unknown.length) {
      const unknown = new Set(outcome.unknown);
      throw unknownSeats(
        req.eventId,
        req.seats.filter((s) => unknown.has(s)),
      );
    }
    const available = new Set(outcome.available);
    throw seatsUnavailable(seatIds.filter((s) => !available.has(s)));
  }
  return newSeatHoldView(holdId, req, outcome.createdAt, outcome.expiresAt, outcome.seats);
}

export type HoldEventType = 'hold.created' | 'hold.released' | 'hold.expired' | 'hold.confirmed';

export async function enqueueHoldEvent(
  db: Sequelize,
  t: Transaction,
  type: HoldEventType,
  payload: HoldEventPayload,
): Promise<void> {
  await enqueueEvent(db, t, { type, aggregateId: payload.holdId, payload });
}

/** What ending holds freed on one event, not yet recorded as a change. */
export interface FreedPlaces {
  seats: Record<string, SeatStatus>;
  ga: Map<string, number>;
}

/** Frees an active hold's places (the caller has locked its row): seats back to available, GA held counters
 *  down, hold marked released/expired, hold.released/hold.expired enqueued. Adds what it freed to `freed`;
 *  the caller records the change (recordChange) after its last row write. */
export async function freeHold(
  db: Sequelize,
  t: Transaction,
  hold: Hold,
  reason: Exclude<EndReason, 'event-cancelled'>,
  freed: FreedPlaces,
): Promise<void> {
  const seatIds = await holdSeatIds(db, hold.id, t);
  const ga = await holdGa(db, hold.id, t);
  for (const seatId of await freeSeatsOfHold(db, t, hold.id)) freed.seats[seatId] = 'available';
  for (const g of ga) {
    const remaining = await releaseGaPlaces(db, t, hold.eventId, g.areaId, g.quantity);
    if (remaining !== undefined) freed.ga.set(g.areaId, remaining); // the latest count wins when several holds free one area
  }
  const status = reason === 'expired' ? 'expired' : 'released';
  await markHoldEnded(db, t, hold.id, status, reason);
  await enqueueHoldEvent(db, t, status === 'expired' ? 'hold.expired' : 'hold.released', {
    holdId: hold.id,
    eventId: hold.eventId,
    userId: hold.userId,
    seats: seatIds,
    ga,
  });
}

export function noneFreed(): FreedPlaces {
  return { seats: {}, ga: new Map() };
}

/** Records what was freed on one event as one change (the log row is the transaction's last write). */
export async function recordFreed(
  db: Sequelize,
  t: Transaction,
  eventId: string,
  freed: FreedPlaces,
  publish: ChangePublisher,
): Promise<void> {
  await recordChange(
    db,
    t,
    eventId,
    { seats: freed.seats, ga: [...freed.ga].map(([areaId, remaining]) => ({ areaId, remaining })) },
    publish,
  );
}

/** Ends one active hold (the caller has locked its row) and records the change. */
export async function endHold(
  db: Sequelize,
  t: Transaction,
  hold: Hold,
  reason: Exclude<EndReason, 'event-cancelled'>,
  publish: ChangePublisher,
): Promise<void> {
  const freed = noneFreed();
  await freeHold(db, t, hold, reason, freed);
  await recordFreed(db, t, hold.eventId, freed, publish);
}

/** Turns an active hold's seats into sold seats and its GA held places into sold places. */
export async function confirmActiveHold(
  db: Sequelize,
  t: Transaction,
  hold: Hold,
  orderId: string,
  publish: ChangePublisher,
): Promise<void> {
  const seatIds = await holdSeatIds(db, hold.id, t);
  const ga = await holdGa(db, hold.id, t);
  const sold = await sellSeatsOfHold(db, t, hold.id);
  if (sold.length !== seatIds.length) {
    // Cannot happen while the invariant holds (an active hold owns its seats); refuse rather than half-sell.
    throw new Error(`hold ${hold.id} owns ${sold.length} of its ${seatIds.length} seats`);
  }
  const gaChanges: { areaId: string; remaining: number }[] = [];
  for (const g of ga) {
    const remaining = await sellGaPlaces(db, t, hold.eventId, g.areaId, g.quantity);
    if (remaining !== undefined) gaChanges.push({ areaId: g.areaId, remaining });
  }
  await markHoldConfirmed(db, t, hold.id, orderId);
  await recordChange(
    db,
    t,
    hold.eventId,
    { seats: Object.fromEntries(seatIds.map((s) => [s, 'sold' as const])), ga: gaChanges },
    publish,
  );
  await enqueueHoldEvent(db, t, 'hold.confirmed', {
    holdId: hold.id,
    eventId: hold.eventId,
    userId: hold.userId,
    seats: seatIds,
    ga,
    orderId,
  });
}

/** A confirmed hold's sold seats and GA places go back on sale, once (the caller has locked its row): the
 *  returned_at marker makes a second call change nothing; the change is recorded so the live map shows them. */
export async function returnConfirmedHold(
  db: Sequelize,
  t: Transaction,
  hold: Hold,
  publish: ChangePublisher,
): Promise<boolean> {
  if (!(await markHoldReturned(db, t, hold.id))) return false;
  const ga = await holdGa(db, hold.id, t);
  const seats = await returnSoldSeatsOfHold(db, t, hold.id);
  const gaChanges: { areaId: string; remaining: number }[] = [];
  for (const g of ga) {
    const remaining = await returnSoldGaPlaces(db, t, hold.eventId, g.areaId, g.quantity);
    if (remaining !== undefined) gaChanges.push({ areaId: g.areaId, remaining });
  }
  if (seats.length || gaChanges.length)
    await recordChange(
      db,
      t,
      hold.eventId,
      { seats: Object.fromEntries(seats.map((s) => [s, 'available' as const])), ga: gaChanges },
      publish,
    );
  return true;
}
