// SQL on the events inventory materialised from catalog's event.published: their sale rules and tiers, the
// per-event sequence number, the per-event advisory lock, and the cancellation writes.
import { execute, one, rows, type Sequelize, type Transaction } from '@eventtickets/platform';
import type { EventStatus, SaleRules } from '../domain/types.ts';

interface SaleRulesRow {
  status: EventStatus;
  sales_start_at: Date | null;
  sales_end_at: Date | null;
  reservation_minutes: number;
  max_seats_per_order: number;
  db_now: Date;
}

function saleRulesOf(row: SaleRulesRow): SaleRules {
  return {
    status: row.status,
    salesStartAt: row.sales_start_at,
    salesEndAt: row.sales_end_at,
    reservationMinutes: row.reservation_minutes,
    maxSeatsPerOrder: row.max_seats_per_order,
  };
}

/** The event's sale rules, with the database clock of the same read (sales windows are judged by it). */
export async function loadSaleRules(
  db: Sequelize,
  eventId: string,
  t?: Transaction,
): Promise<{ rules: SaleRules; dbNow: Date } | undefined> {
  const row = await one<SaleRulesRow>(
    db,
    'SELECT status, sales_start_at, sales_end_at, reservation_minutes, max_seats_per_order, now() AS db_now FROM events WHERE event_id = $1',
    [eventId],
    t,
  );
  if (!row) return undefined;
  return {
    rules: saleRulesOf(row),
    dbNow: row.db_now,
  };
}

export async function eventStatus(db: Sequelize, eventId: string, t?: Transaction): Promise<EventStatus | undefined> {
  return (await one<{ status: EventStatus }>(db, 'SELECT status FROM events WHERE event_id = $1', [eventId], t))
    ?.status;
}

/** The current sequence number of each known event (unknown ids are absent from the map). */
export async function currentSeqs(db: Sequelize, eventIds: string[]): Promise<Map<string, number>> {
  const found = await rows<{ event_id: string; seq: string }>(
    db,
    'SELECT event_id, seq FROM events WHERE event_id = ANY($1)',
    [eventIds],
  );
  return new Map(found.map((r) => [r.event_id, Number(r.seq)]));
}

/** Serialises catalog's publication and cancellation of one event (two consumers may handle them at once),
 *  and waits for hold writers in flight. Every taker takes it before any row lock, so it closes no deadlock. */
export async function lockCatalogEvent(db: Sequelize, t: Transaction, eventId: string): Promise<void> {
  await execute(db, "SELECT pg_advisory_xact_lock(hashtext('inventory-event:' || $1))", [eventId], t);
}

/** The same lock in shared mode, for hold writers: they do not wait for each other, only for publication
 *  and cancellation. */
export async function shareCatalogEventLock(db: Sequelize, t: Transaction, eventId: string): Promise<void> {
  await execute(db, "SELECT pg_advisory_xact_lock_shared(hashtext('inventory-event:' || $1))", [eventId], t);
}

export interface NewEvent {
  eventId: string;
  organizerId: string | null;
  title: string;
  salesStartAt: string | null;
  salesEndAt: string | null;
  reservationMinutes: number;
  maxSeatsPerOrder: number;
}

/** Inserts the event unless it exists; returns whether it was created. A cancellation remembered before the
 *  publication wins: the event is created cancelled. */
export async function insertEvent(db: Sequelize, t: Transaction, e: NewEvent): Promise<boolean> {
  const created = await rows<{ event_id: string }>(
    db,
    `INSERT INTO events (event_id, organizer_id, title, sales_start_at, sales_end_at, reservation_minutes, max_seats_per_order, status, cancelled_at)
     SELECT $1, $2, $3, $4, $5, $6, $7, CASE WHEN c.event_id IS NULL THEN 'published' ELSE 'cancelled' END, c.cancelled_at
       FROM (SELECT 1) one LEFT JOIN event_cancellations c ON c.event_id = $1
     ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
    [e.eventId, e.organizerId, e.title, e.salesStartAt, e.salesEndAt, e.reservationMinutes, e.maxSeatsPerOrder],
    t,
  );
  return created.length > 0;
}

export async function insertTiers(
  db: Sequelize,
  t: Transaction,
  eventId: string,
  tiers: { tierId: string; name: string; amount: number; currency: string }[],
): Promise<void> {
  await execute(
    db,
    `INSERT INTO tiers (event_id, tier_id, name, amount, currency)
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[]) ON CONFLICT DO NOTHING`,
    [
      eventId,
      tiers.map((x) => x.tierId),
      tiers.map((x) => x.name),
      tiers.map((x) => x.amount),
      tiers.map((x) => x.currency),
    ],
    t,
  );
}

/** A cancellation of an event not materialised yet, kept for the publication that comes later. */
export async function rememberCancellation(db: Sequelize, t: Transaction, eventId: string): Promise<void> {
  await execute(db, 'INSERT INTO event_cancellations (event_id) VALUES ($1) ON CONFLICT DO NOTHING', [eventId], t);
}

export async function markEventCancelled(db: Sequelize, t: Transaction, eventId: string): Promise<void> {
  await execute(db, `UPDATE events SET status = 'cancelled', cancelled_at = now() WHERE event_id = $1`, [eventId], t);
}

/** The database clock (expiry is decided by it, never by a replica's clock). */
export async function dbNow(db: Sequelize, t?: Transaction): Promise<Date> {
  return (await one<{ now: Date }>(db, 'SELECT now() AS now', [], t))!.now;
}
