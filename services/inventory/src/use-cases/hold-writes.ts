// The transactional writes on seats and GA counters. Postgres is the authority for the seat invariant:
// every write is conditional on the current state and all-or-nothing within its transaction.
import { randomUUID } from 'node:crypto';
import { enqueueEvent, HttpProblem, problems, type Sequelize, type Transaction } from '@eventtickets/platform';
import { rows } from '../db/sql.ts';
import { recordChange } from '../db/changes.ts';
import { holdGa, holdSeatIds, type HoldRow } from '../db/queries.ts';
import type { AvailabilityChange, EndReason, HoldEventPayload, HoldRequest, SeatStatus } from '../domain/types.ts';

export type ChangePublisher = (change: AvailabilityChange) => void;

/** Thrown inside the hold transaction so it rolls back; carries the seats/areas that were gone. */
export function seatsUnavailable(seats: string[]): HttpProblem {
  return problems.conflict(`${seats.length} of the requested seats are no longer available`, 'seats-unavailable', { unavailableSeats: seats });
}

export function gaExceeded(areas: { areaId: string; requested: number; remaining: number }[]): HttpProblem {
  return problems.conflict('Not enough general-admission places left', 'ga-capacity-exceeded', { areas });
}

/** Creates the hold: ONE conditional UPDATE over all requested seats (row count must match), conditional
 *  GA increments, then the sequence bump, change log and hold.created, all in transaction t. */
export async function writeHold(
  db: Sequelize,
  t: Transaction,
  req: HoldRequest & { userId: string; reservationMinutes: number },
  publish: ChangePublisher,
): Promise<string> {
  // First lock of the transaction: shared with other hold writers, exclusive against a cancellation, so a
  // cancel never runs while a hold it cannot see yet is being written (that hold would stay active).
  await shareCatalogEventLock(db, t, req.eventId);
  const holdId = randomUUID();
  const seatIds = [...(req.seats ?? [])].sort();
  const ga = [...(req.ga ?? [])].sort((a, b) => a.areaId.localeCompare(b.areaId));
  await db.query(
    `INSERT INTO holds (hold_id, event_id, user_id, status, expires_at)
     VALUES ($1, $2, $3, 'active', now() + ($4::int * interval '1 minute'))`,
    { bind: [holdId, req.eventId, req.userId, req.reservationMinutes], transaction: t },
  );
  const seatChanges: Record<string, SeatStatus> = {};
  if (seatIds.length) {
    const held = await rows<{ seat_id: string }>(
      db,
      `UPDATE seats SET status = 'held', hold_id = $1, version = version + 1
        WHERE event_id = $2 AND seat_id = ANY($3) AND status = 'available'
        RETURNING seat_id`,
      [holdId, req.eventId, seatIds],
      t,
    );
    if (held.length !== seatIds.length) {
      const got = new Set(held.map((r) => r.seat_id));
      throw seatsUnavailable(seatIds.filter((s) => !got.has(s)));
    }
    await db.query('INSERT INTO hold_seats (hold_id, event_id, seat_id) SELECT $1, $2, unnest($3::text[])', { bind: [holdId, req.eventId, seatIds], transaction: t });
    for (const s of seatIds) seatChanges[s] = 'held';
  }
  const gaChanges: { areaId: string; remaining: number }[] = [];
  const exceeded: { areaId: string; requested: number; remaining: number }[] = [];
  for (const g of ga) {
    // sold + held <= capacity is checked here (and backed by the ga_within_capacity CHECK constraint)
    const [row] = await rows<{ remaining: number }>(
      db,
      `UPDATE ga_areas SET held = held + $3, version = version + 1
        WHERE event_id = $1 AND area_id = $2 AND sold + held + $3 <= capacity
        RETURNING capacity - held - sold AS remaining`,
      [req.eventId, g.areaId, g.quantity],
      t,
    );
    if (!row) {
      const [left] = await rows<{ remaining: number }>(db, 'SELECT capacity - held - sold AS remaining FROM ga_areas WHERE event_id = $1 AND area_id = $2', [req.eventId, g.areaId], t);
      exceeded.push({ areaId: g.areaId, requested: g.quantity, remaining: left?.remaining ?? 0 });
      continue;
    }
    gaChanges.push({ areaId: g.areaId, remaining: row.remaining });
    await db.query('INSERT INTO hold_ga (hold_id, event_id, area_id, quantity) VALUES ($1, $2, $3, $4)', { bind: [holdId, req.eventId, g.areaId, g.quantity], transaction: t });
  }
  if (exceeded.length) throw gaExceeded(exceeded);
  await recordChange(db, t, req.eventId, { seats: seatChanges, ga: gaChanges, requirePublished: true }, publish);
  await enqueueHoldEvent(db, t, 'hold.created', { holdId, eventId: req.eventId, userId: req.userId, seats: seatIds, ga: ga.map((g) => ({ areaId: g.areaId, quantity: g.quantity })) });
  return holdId;
}

async function enqueueHoldEvent(db: Sequelize, t: Transaction, type: 'hold.created' | 'hold.released' | 'hold.expired' | 'hold.confirmed', payload: HoldEventPayload): Promise<void> {
  await enqueueEvent(db, t, { type, aggregateId: payload.holdId, payload });
}

/** What ending holds freed on one event, not yet recorded as a change. */
export interface FreedPlaces { seats: Record<string, SeatStatus>; ga: Map<string, number> }

/** Frees an active hold's places (the caller has locked its row): seats back to available, GA held counters
 *  down, hold marked released/expired, hold.released/hold.expired enqueued. Adds what it freed to `freed`;
 *  the caller records the change (recordChange) after its last row write. */
export async function freeHold(db: Sequelize, t: Transaction, hold: HoldRow, reason: Exclude<EndReason, 'event-cancelled'>, freed: FreedPlaces): Promise<void> {
  const seatIds = await holdSeatIds(db, hold.hold_id, t);
  const ga = await holdGa(db, hold.hold_id, t);
  const seats = await rows<{ seat_id: string }>(
    db,
    `UPDATE seats SET status = 'available', hold_id = NULL, version = version + 1
      WHERE hold_id = $1 AND status = 'held' RETURNING seat_id`,
    [hold.hold_id],
    t,
  );
  for (const r of seats) freed.seats[r.seat_id] = 'available';
  for (const g of ga) {
    const [row] = await rows<{ remaining: number }>(
      db,
      `UPDATE ga_areas SET held = held - $3, version = version + 1
        WHERE event_id = $1 AND area_id = $2 RETURNING capacity - held - sold AS remaining`,
      [hold.event_id, g.areaId, g.quantity],
      t,
    );
    if (row) freed.ga.set(g.areaId, row.remaining); // the latest count wins when several holds free one area
  }
  const status = reason === 'expired' ? 'expired' : 'released';
  await db.query(`UPDATE holds SET status = $2, ended_at = now(), end_reason = $3 WHERE hold_id = $1`, { bind: [hold.hold_id, status, reason], transaction: t });
  await enqueueHoldEvent(db, t, `hold.${status}`, { holdId: hold.hold_id, eventId: hold.event_id, userId: hold.user_id, seats: seatIds, ga });
}

export function noneFreed(): FreedPlaces {
  return { seats: {}, ga: new Map() };
}

/** Records what was freed on one event as one change (bumps its sequence: the events row lock comes last). */
export async function recordFreed(db: Sequelize, t: Transaction, eventId: string, freed: FreedPlaces, publish: ChangePublisher): Promise<void> {
  await recordChange(db, t, eventId, { seats: freed.seats, ga: [...freed.ga].map(([areaId, remaining]) => ({ areaId, remaining })) }, publish);
}

/** Ends one active hold (the caller has locked its row) and records the change. */
export async function endHold(db: Sequelize, t: Transaction, hold: HoldRow, reason: Exclude<EndReason, 'event-cancelled'>, publish: ChangePublisher): Promise<void> {
  const freed = noneFreed();
  await freeHold(db, t, hold, reason, freed);
  await recordFreed(db, t, hold.event_id, freed, publish);
}

/** Turns an active hold's seats into sold seats and its GA held places into sold places. */
export async function confirmActiveHold(db: Sequelize, t: Transaction, hold: HoldRow, orderId: string, publish: ChangePublisher): Promise<void> {
  const seatIds = await holdSeatIds(db, hold.hold_id, t);
  const ga = await holdGa(db, hold.hold_id, t);
  const sold = await rows<{ seat_id: string }>(
    db,
    `UPDATE seats SET status = 'sold', version = version + 1 WHERE hold_id = $1 AND status = 'held' RETURNING seat_id`,
    [hold.hold_id],
    t,
  );
  if (sold.length !== seatIds.length) {
    // Cannot happen while the invariant holds (an active hold owns its seats); refuse rather than half-sell.
    throw new Error(`hold ${hold.hold_id} owns ${sold.length} of its ${seatIds.length} seats`);
  }
  const gaChanges: { areaId: string; remaining: number }[] = [];
  for (const g of ga) {
    const [row] = await rows<{ remaining: number }>(
      db,
      `UPDATE ga_areas SET held = held - $3, sold = sold + $3, version = version + 1
        WHERE event_id = $1 AND area_id = $2 RETURNING capacity - held - sold AS remaining`,
      [hold.event_id, g.areaId, g.quantity],
      t,
    );
    if (row) gaChanges.push({ areaId: g.areaId, remaining: row.remaining });
  }
  await db.query(`UPDATE holds SET status = 'confirmed', confirmed_at = now(), order_id = $2 WHERE hold_id = $1`, { bind: [hold.hold_id, orderId], transaction: t });
  await recordChange(db, t, hold.event_id, { seats: Object.fromEntries(seatIds.map((s) => [s, 'sold' as const])), ga: gaChanges }, publish);
  await enqueueHoldEvent(db, t, 'hold.confirmed', { holdId: hold.hold_id, eventId: hold.event_id, userId: hold.user_id, seats: seatIds, ga, orderId });
}

/** Serialises catalog's publication and cancellation of one event (two consumers may handle them at once),
 *  and waits for hold writers in flight. Every taker takes it before any row lock, so it closes no deadlock. */
export async function lockCatalogEvent(db: Sequelize, t: Transaction, eventId: string): Promise<void> {
  await db.query("SELECT pg_advisory_xact_lock(hashtext('inventory-event:' || $1))", { bind: [eventId], transaction: t });
}

/** The same lock in shared mode, for hold writers: they do not wait for each other, only for publication
 *  and cancellation. */
async function shareCatalogEventLock(db: Sequelize, t: Transaction, eventId: string): Promise<void> {
  await db.query("SELECT pg_advisory_xact_lock_shared(hashtext('inventory-event:' || $1))", { bind: [eventId], transaction: t });
}

/** event.cancelled: active holds released, every seat void, GA held counters cleared, event marked cancelled. */
export async function cancelEvent(db: Sequelize, t: Transaction, eventId: string, publish: ChangePublisher): Promise<boolean> {
  await lockCatalogEvent(db, t, eventId);
  const [event] = await rows<{ status: string }>(db, 'SELECT status FROM events WHERE event_id = $1', [eventId], t);
  if (!event) {
    // Not materialised yet: remember the cancellation for the publication that comes later.
    await db.query('INSERT INTO event_cancellations (event_id) VALUES ($1) ON CONFLICT DO NOTHING', { bind: [eventId], transaction: t });
    return false;
  }
  if (event.status === 'cancelled') return false;
  // Hold writers in flight have committed (they share the advisory lock taken above), so this sees every
  // active hold. Then the same lock order as every other writer: hold rows, seats, GA, the events row.
  const active = await rows<HoldRow>(db, `SELECT * FROM holds WHERE event_id = $1 AND status = 'active' ORDER BY hold_id FOR UPDATE`, [eventId], t);
  const voided = await rows<{ seat_id: string }>(
    db,
    `UPDATE seats SET status = 'void', hold_id = CASE WHEN status = 'sold' THEN hold_id END, version = version + 1
      WHERE event_id = $1 AND status <> 'void' RETURNING seat_id`,
    [eventId],
    t,
  );
  const areas = await rows<{ area_id: string }>(db, 'UPDATE ga_areas SET held = 0, version = version + 1 WHERE event_id = $1 RETURNING area_id', [eventId], t);
  for (const hold of active) {
    await db.query(`UPDATE holds SET status = 'released', ended_at = now(), end_reason = 'event-cancelled' WHERE hold_id = $1`, { bind: [hold.hold_id], transaction: t });
    await enqueueHoldEvent(db, t, 'hold.released', { holdId: hold.hold_id, eventId, userId: hold.user_id, seats: await holdSeatIds(db, hold.hold_id, t), ga: await holdGa(db, hold.hold_id, t) });
  }
  await db.query(`UPDATE events SET status = 'cancelled', cancelled_at = now() WHERE event_id = $1`, { bind: [eventId], transaction: t });
  await recordChange(db, t, eventId, {
    status: 'cancelled',
    seats: Object.fromEntries(voided.map((r) => [r.seat_id, 'void' as const])),
    ga: areas.map((a) => ({ areaId: a.area_id, remaining: 0 })),
  }, publish);
  return true;
}
