// Consumers of catalog's events. They run inside the event bus transaction (together with the
// processed_events insert), and are idempotent on their own too: every insert is ON CONFLICT DO NOTHING,
// so delivering event.published twice leaves the same rows.
import type { DomainEvent, Logger, Sequelize, Transaction } from '@eventtickets/platform';
import { z } from '@eventtickets/platform';
import { one, rows } from '../db/sql.ts';
import { recordChange } from '../db/changes.ts';
import { cancelEvent, lockCatalogEvent, type ChangePublisher } from './hold-writes.ts';

const id = z.string().min(1).max(128);
const instant = z.string().datetime({ offset: true }).nullish();

/** The part of catalog's event.published payload inventory needs (docs/CONVENTIONS.md). */
export const eventPublishedSchema = z.object({
  eventId: id,
  organizerId: z.string().nullish(),
  title: z.string(),
  salesStartAt: instant,
  salesEndAt: instant,
  reservationMinutes: z.number().int().positive().default(10),
  maxSeatsPerOrder: z.number().int().positive().default(10),
  tiers: z.array(z.object({ tierId: id, name: z.string(), amount: z.number().int().nonnegative(), currency: z.string().min(1) })),
  seats: z.array(z.object({ seatId: id, label: z.string(), section: z.string().nullish(), row: z.string().nullish(), tierId: id, x: z.number().nullish(), y: z.number().nullish() })).default([]),
  gaAreas: z.array(z.object({ areaId: id, name: z.string(), tierId: id, capacity: z.number().int().nonnegative() })).default([]),
});
export type EventPublished = z.infer<typeof eventPublishedSchema>;

export async function materialiseEvent(db: Sequelize, t: Transaction, payload: EventPublished, publish: ChangePublisher): Promise<{ seats: number; areas: number }> {
  await lockCatalogEvent(db, t, payload.eventId);
  // A cancellation that arrived first wins: the event is created cancelled.
  const created = await rows<{ event_id: string }>(
    db,
    `INSERT INTO events (event_id, organizer_id, title, sales_start_at, sales_end_at, reservation_minutes, max_seats_per_order, status, cancelled_at)
     SELECT $1, $2, $3, $4, $5, $6, $7, CASE WHEN c.event_id IS NULL THEN 'published' ELSE 'cancelled' END, c.cancelled_at
       FROM (SELECT 1) one LEFT JOIN event_cancellations c ON c.event_id = $1
     ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
    [payload.eventId, payload.organizerId ?? null, payload.title, payload.salesStartAt ?? null, payload.salesEndAt ?? null, payload.reservationMinutes, payload.maxSeatsPerOrder],
    t,
  );
  // Seats of a cancelled event (first published late, or added by a publication after the cancel) are void.
  const cancelled = (await one<{ status: string }>(db, 'SELECT status FROM events WHERE event_id = $1', [payload.eventId], t))?.status === 'cancelled';
  const seatStatus = cancelled ? 'void' : 'available';
  await db.query(
    `INSERT INTO tiers (event_id, tier_id, name, amount, currency)
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[]) ON CONFLICT DO NOTHING`,
    { bind: [payload.eventId, payload.tiers.map((x) => x.tierId), payload.tiers.map((x) => x.name), payload.tiers.map((x) => x.amount), payload.tiers.map((x) => x.currency)], transaction: t },
  );
  const s = payload.seats;
  const seats = await rows<{ seat_id: string }>(
    db,
    `INSERT INTO seats (event_id, status, seat_id, label, section, row_label, tier_id, x, y)
     SELECT $1, $9, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::float8[], $8::float8[])
     ON CONFLICT DO NOTHING RETURNING seat_id`,
    [payload.eventId, s.map((x) => x.seatId), s.map((x) => x.label), s.map((x) => x.section ?? null), s.map((x) => x.row ?? null), s.map((x) => x.tierId), s.map((x) => x.x ?? null), s.map((x) => x.y ?? null), seatStatus],
    t,
  );
  const a = payload.gaAreas;
  const areas = await rows<{ area_id: string; capacity: number }>(
    db,
    `INSERT INTO ga_areas (event_id, area_id, name, tier_id, capacity)
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::int[])
     ON CONFLICT DO NOTHING RETURNING area_id, capacity`,
    [payload.eventId, a.map((x) => x.areaId), a.map((x) => x.name), a.map((x) => x.tierId), a.map((x) => x.capacity)],
    t,
  );
  // A first publication is the baseline (seq 0, read through the snapshot); seats added by a later
  // publication are a change that live clients must see.
  if (!created.length && (seats.length || areas.length)) {
    await recordChange(db, t, payload.eventId, {
      seats: Object.fromEntries(seats.map((r) => [r.seat_id, seatStatus])),
      ga: areas.map((r) => ({ areaId: r.area_id, remaining: cancelled ? 0 : r.capacity })),
    }, publish);
  }
  return { seats: seats.length, areas: areas.length };
}

/** The bus handler for event.published and event.cancelled. */
export function catalogEventHandler(db: Sequelize, logger: Logger, publish: ChangePublisher) {
  return async (event: DomainEvent, t: Transaction): Promise<void> => {
    if (event.type === 'event.published') {
      const parsed = eventPublishedSchema.safeParse(event.payload);
      if (!parsed.success) {
        // A malformed event would fail forever; the bus's dead stream is the place for it.
        throw new Error(`event.published ${event.id} does not match the contract: ${parsed.error.message}`);
      }
      const result = await materialiseEvent(db, t, parsed.data, publish);
      logger.info({ eventId: parsed.data.eventId, ...result }, 'event materialised');
    } else if (event.type === 'event.cancelled') {
      const eventId = String((event.payload as { eventId?: unknown }).eventId ?? '');
      if (!eventId) throw new Error(`event.cancelled ${event.id} has no eventId`);
      const cancelled = await cancelEvent(db, t, eventId, publish);
      logger.info({ eventId, cancelled }, 'event cancelled');
    }
  };
}
