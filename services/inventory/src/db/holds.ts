// SQL on holds and the places they own (hold_seats, hold_ga). Rows are mapped to the domain's Hold here.
import { execute, one, rows, type Sequelize, type Transaction } from '@eventtickets/platform';
import type { EndReason, Hold, HoldGaPlaces, HoldSeat, HoldStatus } from '../domain/types.ts';
import { toHoldSeat, type HoldSeatRow } from './seats.ts';

interface HoldRow {
  hold_id: string;
  event_id: string;
  user_id: string;
  status: HoldStatus;
  created_at: Date;
  expires_at: Date;
  ended_at: Date | null;
  end_reason: EndReason | null;
  confirmed_at: Date | null;
  order_id: string | null;
}

function toHold(r: HoldRow): Hold {
  return {
    id: r.hold_id,
    eventId: r.event_id,
    userId: r.user_id,
    status: r.status,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    endedAt: r.ended_at,
    endReason: r.end_reason,
    confirmedAt: r.confirmed_at,
    orderId: r.order_id,
  };
}

/** A new active hold, expiring `reservationMinutes` from now by the database clock. */
export async function insertHold(
  db: Sequelize,
  t: Transaction,
  hold: { holdId: string; eventId: string; userId: string; reservationMinutes: number },
): Promise<void> {
  await execute(
    db,
    `INSERT INTO holds (hold_id, event_id, user_id, status, expires_at)
     VALUES ($1, $2, $3, 'active', now() + ($4::int * interval '1 minute'))`,
    [hold.holdId, hold.eventId, hold.userId, hold.reservationMinutes],
    t,
  );
}

/** The event's advisory lock in shared mode (hold writers do not wait for each other, only for catalog's
 *  publication and cancellation), then the new active hold, in ONE statement: the lock is taken before the
 *  row is formed. Returns the hold's timestamps (database clock). */
export async function insertHoldSharingEventLock(
  db: Sequelize,
  t: Transaction,
  hold: { holdId: string; eventId: string; userId: string; reservationMinutes: number },
): Promise<{ createdAt: Date; expiresAt: Date }> {
  const row = await one<{ created_at: Date; expires_at: Date }>(
    db,
    `WITH locked AS (SELECT pg_advisory_xact_lock_shared(hashtext('inventory-event:' || $2)) AS l)
     INSERT INTO holds (hold_id, event_id, user_id, status, expires_at)
     SELECT $1, $2, $3, 'active', now() + ($4::int * interval '1 minute') FROM locked
     RETURNING created_at, expires_at`,
    [hold.holdId, hold.eventId, hold.userId, hold.reservationMinutes],
    t,
  );
  return { createdAt: row!.created_at, expiresAt: row!.expires_at };
}

export async function insertHoldSeats(
  db: Sequelize,
  t: Transaction,
  holdId: string,
  eventId: string,
  seatIds: string[],
): Promise<void> {
  await execute(
    db,
    'INSERT INTO hold_seats (hold_id, event_id, seat_id) SELECT $1, $2, unnest($3::text[])',
    [holdId, eventId, seatIds],
    t,
  );
}

export async function insertHoldGa(
  db: Sequelize,
  t: Transaction,
  holdId: string,
  eventId: string,
  areaId: string,
  quantity: number,
): Promise<void> {
  await execute(
    db,
    'INSERT INTO hold_ga (hold_id, event_id, area_id, quantity) VALUES ($1, $2, $3, $4)',
    [holdId, eventId, areaId, quantity],
    t,
  );
}

/** The hold; with `forUpdate` its row stays locked until t ends. */
export async function loadHold(
  db: Sequelize,
  holdId: string,
  t?: Transaction,
  forUpdate = false,
): Promise<Hold | undefined> {
  const row = await one<HoldRow>(
    db,
    `SELECT * FROM holds WHERE hold_id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
    [holdId],
    t,
  );
  return row && toHold(row);
}

export async function holdSeatIds(db: Sequelize, holdId: string, t?: Transaction): Promise<string[]> {
  return (
    await rows<{ seat_id: string }>(
      db,
      'SELECT seat_id FROM hold_seats WHERE hold_id = $1 ORDER BY seat_id',
      [holdId],
      t,
    )
  ).map((r) => r.seat_id);
}

export async function holdGa(
  db: Sequelize,
  holdId: string,
  t?: Transaction,
): Promise<{ areaId: string; quantity: number }[]> {
  const found = await rows<{ area_id: string; quantity: number }>(
    db,
    'SELECT area_id, quantity FROM hold_ga WHERE hold_id = $1 ORDER BY area_id',
    [holdId],
    t,
  );
  return found.map((r) => ({ areaId: r.area_id, quantity: r.quantity }));
}

/** A hold with its places and their prices, and the database clock of the same read. */
export async function loadHoldDetails(
  db: Sequelize,
  holdId: string,
  t?: Transaction,
): Promise<{ hold: Hold; dbNow: Date; seats: HoldSeat[]; ga: HoldGaPlaces[] } | undefined> {
  const row = await one<HoldRow & { db_now: Date }>(
    db,
    'SELECT *, now() AS db_now FROM holds WHERE hold_id = $1',
    [holdId],
    t,
  );
  if (!row) return undefined;
  const seats = await rows<HoldSeatRow>(
    db,
    `SELECT s.seat_id, s.label, s.section, s.row_label, s.tier_id, t.amount, t.currency
       FROM hold_seats hs
       JOIN seats s ON s.event_id = hs.event_id AND s.seat_id = hs.seat_id
       JOIN tiers t ON t.event_id = s.event_id AND t.tier_id = s.tier_id
      WHERE hs.hold_id = $1 ORDER BY s.seat_id`,
    [holdId],
    t,
  );
  const ga = await rows<{
    area_id: string;
    name: string;
    tier_id: string;
    quantity: number;
    amount: string;
    currency: string;
  }>(
    db,
    `SELECT a.area_id, a.name, a.tier_id, hg.quantity, t.amount, t.currency
       FROM hold_ga hg
       JOIN ga_areas a ON a.event_id = hg.event_id AND a.area_id = hg.area_id
       JOIN tiers t ON t.event_id = a.event_id AND t.tier_id = a.tier_id
      WHERE hg.hold_id = $1 ORDER BY a.area_id`,
    [holdId],
    t,
  );
  return {
    hold: toHold(row),
    dbNow: row.db_now,
    seats: seats.map(toHoldSeat),
    ga: ga.map((g) => ({
      areaId: g.area_id,
      name: g.name,
      tierId: g.tier_id,
      quantity: g.quantity,
      price: { amount: Number(g.amount), currency: g.currency },
    })),
  };
}

/** Records the end of a hold (released or expired, or released because its event was cancelled). */
export async function markHoldEnded(
  db: Sequelize,
  t: Transaction,
  holdId: string,
  status: 'released' | 'expired',
  reason: EndReason,
): Promise<void> {
  await execute(
    db,
    'UPDATE holds SET status = $2, ended_at = now(), end_reason = $3 WHERE hold_id = $1',
    [holdId, status, reason],
    t,
  );
}

/** Marks a confirmed hold's places as returned (once: false when it already was). */
export async function markHoldReturned(db: Sequelize, t: Transaction, holdId: string): Promise<boolean> {
  const n = await execute(
    db,
    `UPDATE holds SET returned_at = now() WHERE hold_id = $1 AND status = 'confirmed' AND returned_at IS NULL`,
    [holdId],
    t,
  );
  return n === 1;
}

export async function markHoldConfirmed(db: Sequelize, t: Transaction, holdId: string, orderId: string): Promise<void> {
  await execute(
    db,
    `UPDATE holds SET status = 'confirmed', confirmed_at = now(), order_id = $2 WHERE hold_id = $1`,
    [holdId, orderId],
    t,
  );
}

/** Up to `limit` active holds past their expiry, locked; rows another replica has locked are skipped, so
 *  sweepers take disjoint batches. */
export async function lockDueHolds(db: Sequelize, t: Transaction, limit: number): Promise<Hold[]> {
  const due = await rows<HoldRow>(
    db,
    `SELECT * FROM holds WHERE status = 'active' AND expires_at <= now()
      ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
    [limit],
    t,
  );
  return due.map(toHold);
}

/** The event's active holds, locked in id order. */
export async function lockActiveHoldsOfEvent(db: Sequelize, t: Transaction, eventId: string): Promise<Hold[]> {
  const active = await rows<HoldRow>(
    db,
    `SELECT * FROM holds WHERE event_id = $1 AND status = 'active' ORDER BY hold_id FOR UPDATE`,
    [eventId],
    t,
  );
  return active.map(toHold);
}

/** Holds that are active and not yet past their expiry. */
export async function countLiveHolds(db: Sequelize): Promise<number> {
  const row = await one<{ n: string }>(
    db,
    "SELECT count(*) AS n FROM holds WHERE status = 'active' AND expires_at > now()",
  );
  return Number(row?.n ?? 0);
}
