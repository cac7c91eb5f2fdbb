// Read-side queries: the event's rules, a hold with its prices, the availability snapshot.
import type { Sequelize, Transaction } from '@eventtickets/platform';
import { one, rows } from './sql.ts';
import { totals } from '../domain/hold-rules.ts';
import { observedState } from '../domain/hold-state.ts';
import type { EndReason, EventRow, HoldStatus, HoldView, SeatStatus } from '../domain/types.ts';

export async function loadEvent(db: Sequelize, eventId: string, t?: Transaction): Promise<(EventRow & { db_now: Date }) | undefined> {
  return one(db, 'SELECT event_id, status, sales_start_at, sales_end_at, reservation_minutes, max_seats_per_order, seq, now() AS db_now FROM events WHERE event_id = $1', [eventId], t);
}

export interface HoldRow {
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

export async function loadHold(db: Sequelize, holdId: string, t?: Transaction, forUpdate = false): Promise<HoldRow | undefined> {
  return one<HoldRow>(db, `SELECT * FROM holds WHERE hold_id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [holdId], t);
}

export async function holdSeatIds(db: Sequelize, holdId: string, t?: Transaction): Promise<string[]> {
  return (await rows<{ seat_id: string }>(db, 'SELECT seat_id FROM hold_seats WHERE hold_id = $1 ORDER BY seat_id', [holdId], t)).map((r) => r.seat_id);
}

export async function holdGa(db: Sequelize, holdId: string, t?: Transaction): Promise<{ areaId: string; quantity: number }[]> {
  const found = await rows<{ area_id: string; quantity: number }>(db, 'SELECT area_id, quantity FROM hold_ga WHERE hold_id = $1 ORDER BY area_id', [holdId], t);
  return found.map((r) => ({ areaId: r.area_id, quantity: r.quantity }));
}

/** A hold as its owner and orders see it. An active hold past its expiry reads as expired (observedState,
 *  against the database clock of this read) even before the sweeper has written that down. */
export async function loadHoldView(db: Sequelize, holdId: string, t?: Transaction): Promise<HoldView | undefined> {
  const hold = await one<HoldRow & { db_now: Date }>(db, 'SELECT *, now() AS db_now FROM holds WHERE hold_id = $1', [holdId], t);
  if (!hold) return undefined;
  const state = observedState(hold, hold.db_now);
  const seats = await rows<{ seat_id: string; label: string; section: string | null; row_label: string | null; tier_id: string; amount: string; currency: string }>(
    db,
    `SELECT s.seat_id, s.label, s.section, s.row_label, s.tier_id, t.amount, t.currency
       FROM hold_seats hs
       JOIN seats s ON s.event_id = hs.event_id AND s.seat_id = hs.seat_id
       JOIN tiers t ON t.event_id = s.event_id AND t.tier_id = s.tier_id
      WHERE hs.hold_id = $1 ORDER BY s.seat_id`,
    [holdId],
    t,
  );
  const ga = await rows<{ area_id: string; name: string; tier_id: string; quantity: number; amount: string; currency: string }>(
    db,
    `SELECT a.area_id, a.name, a.tier_id, hg.quantity, t.amount, t.currency
       FROM hold_ga hg
       JOIN ga_areas a ON a.event_id = hg.event_id AND a.area_id = hg.area_id
       JOIN tiers t ON t.event_id = a.event_id AND t.tier_id = a.tier_id
      WHERE hg.hold_id = $1 ORDER BY a.area_id`,
    [holdId],
    t,
  );
  const items = {
    seats: seats.map((s) => ({ seatId: s.seat_id, label: s.label, section: s.section, row: s.row_label, tierId: s.tier_id, price: { amount: Number(s.amount), currency: s.currency } })),
    ga: ga.map((g) => ({ areaId: g.area_id, name: g.name, tierId: g.tier_id, quantity: g.quantity, price: { amount: Number(g.amount), currency: g.currency } })),
  };
  return {
    id: hold.hold_id,
    eventId: hold.event_id,
    userId: hold.user_id,
    status: state.status,
    createdAt: hold.created_at.toISOString(),
    expiresAt: hold.expires_at.toISOString(),
    endedAt: state.endedAt?.toISOString() ?? null,
    endReason: state.endReason,
    confirmedAt: hold.confirmed_at?.toISOString() ?? null,
    orderId: hold.order_id,
    ...items,
    totals: totals(items),
  };
}

export interface AvailabilitySnapshot {
  eventId: string;
  seq: number;
  status: 'published' | 'cancelled';
  seats: Record<string, SeatStatus>;
  ga: { areaId: string; name: string; tierId: string; capacity: number; remaining: number }[];
  tiers: { tierId: string; name: string; amount: number; currency: string }[];
}

/** A consistent snapshot (one REPEATABLE READ transaction): the seats and counters as of `seq`. */
export async function loadSnapshot(db: Sequelize, eventId: string): Promise<AvailabilitySnapshot | undefined> {
  return db.transaction({ isolationLevel: 'REPEATABLE READ' as any, readOnly: true } as any, async (t) => {
    const event = await one<{ status: 'published' | 'cancelled'; seq: string }>(db, 'SELECT status, seq FROM events WHERE event_id = $1', [eventId], t);
    if (!event) return undefined;
    const seats = await rows<{ seat_id: string; status: SeatStatus }>(db, 'SELECT seat_id, status FROM seats WHERE event_id = $1 ORDER BY seat_id', [eventId], t);
    const ga = await rows<{ area_id: string; name: string; tier_id: string; capacity: number; held: number; sold: number }>(
      db, 'SELECT area_id, name, tier_id, capacity, held, sold FROM ga_areas WHERE event_id = $1 ORDER BY area_id', [eventId], t);
    const tiers = await rows<{ tier_id: string; name: string; amount: string; currency: string }>(
      db, 'SELECT tier_id, name, amount, currency FROM tiers WHERE event_id = $1 ORDER BY tier_id', [eventId], t);
    const cancelled = event.status === 'cancelled';
    return {
      eventId,
      seq: Number(event.seq),
      status: event.status,
      seats: Object.fromEntries(seats.map((s) => [s.seat_id, s.status])),
      ga: ga.map((a) => ({ areaId: a.area_id, name: a.name, tierId: a.tier_id, capacity: a.capacity, remaining: cancelled ? 0 : a.capacity - a.held - a.sold })),
      tiers: tiers.map((r) => ({ tierId: r.tier_id, name: r.name, amount: Number(r.amount), currency: r.currency })),
    };
  });
}
