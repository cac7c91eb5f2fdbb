// The availability snapshot: every seat's status and every GA area's remaining places, read in one
// REPEATABLE READ transaction so they are consistent with each other and with the sequence number.
import { one, rows, type Sequelize, type Transaction } from '@eventtickets/platform';
import { directRows } from './direct.ts';
import type { AvailabilitySnapshot, EventStatus, SeatStatus } from '../domain/types.ts';

export async function loadSnapshot(db: Sequelize, eventId: string): Promise<AvailabilitySnapshot | undefined> {
  const options = { isolationLevel: 'REPEATABLE READ' as Transaction.ISOLATION_LEVELS, readOnly: true };
  return db.transaction(options, async (t) => {
    const event = await one<{ status: EventStatus; seq: string }>(
      db,
      'SELECT status, seq FROM events WHERE event_id = $1',
      [eventId],
      t,
    );
    if (!event) return undefined;
    const seats = await rows<{ seat_id: string; status: SeatStatus }>(
      db,
      'SELECT seat_id, status FROM seats WHERE event_id = $1 ORDER BY seat_id',
      [eventId],
      t,
    );
    const ga = await rows<{
      area_id: string;
      name: string;
      tier_id: string;
      capacity: number;
      held: number;
      sold: number;
    }>(
      db,
      'SELECT area_id, name, tier_id, capacity, held, sold FROM ga_areas WHERE event_id = $1 ORDER BY area_id',
      [eventId],
      t,
    );
    const tiers = await rows<{ tier_id: string; name: string; amount: string; currency: string }>(
      db,
      'SELECT tier_id, name, amount, currency FROM tiers WHERE event_id = $1 ORDER BY tier_id',
      [eventId],
      t,
    );
    const cancelled = event.status === 'cancelled';
    return {
      eventId,
      seq: Number(event.seq),
      status: event.status,
      seats: Object.fromEntries(seats.map((s) => [s.seat_id, s.status])),
      ga: ga.map((a) => ({
        areaId: a.area_id,
        name: a.name,
        tierId: a.tier_id,
        capacity: a.capacity,
        remaining: cancelled ? 0 : a.capacity - a.held - a.sold,
      })),
      tiers: tiers.map((r) => ({ tierId: r.tier_id, name: r.name, amount: Number(r.amount), currency: r.currency })),
    };
  });
}

/** An event's seq, status and every seat's status, in ONE statement (one snapshot, so the seq and the seats agree)
 *  and one JSON value (the taken-seats view loads it on the hot path's event loop: no per-row parsing). */
export async function loadSeatStatuses(
  db: Sequelize,
  eventId: string,
): Promise<{ seq: number; status: EventStatus; seats: Record<string, SeatStatus> } | undefined> {
  const [row] = await directRows<{ seq: string; status: EventStatus; seats: Record<string, SeatStatus> | null }>(
    db,
    {
      name: 'inventory_seat_statuses',
      text: `SELECT e.seq, e.status,
                    (SELECT json_object_agg(s.seat_id, s.status) FROM seats s WHERE s.event_id = e.event_id) AS seats
               FROM events e WHERE e.event_id = $1`,
    },
    [eventId],
  );
  return row && { seq: Number(row.seq), status: row.status, seats: row.seats ?? {} };
}
