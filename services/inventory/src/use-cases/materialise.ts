// Applying catalog's events to the inventory. Both run inside the event bus transaction (together with the
// processed_events insert), and are idempotent on their own too: every insert is ON CONFLICT DO NOTHING, so
// delivering event.published twice leaves the same rows, and a second cancellation changes nothing.
import type { Sequelize, Transaction } from '@eventtickets/platform';
import {
  eventStatus,
  insertEvent,
  insertTiers,
  lockCatalogEvent,
  markEventCancelled,
  rememberCancellation,
} from '../db/events.ts';
import { clearGaHeld, insertGaAreas, type NewGaArea } from '../db/ga-areas.ts';
import { holdGa, holdSeatIds, lockActiveHoldsOfEvent, markHoldEnded } from '../db/holds.ts';
import { insertSeats, voidSeatsOfEvent, type NewSeat } from '../db/seats.ts';
import { recordChange, type ChangePublisher } from './changes.ts';
import { enqueueHoldEvent } from './hold-writes.ts';

/** The part of catalog's event.published payload (the platform's event catalogue) inventory keeps. */
export interface PublishedEvent {
  eventId: string;
  organizerId?: string | null;
  title: string;
  salesStartAt?: string | null;
  salesEndAt?: string | null;
  reservationMinutes: number;
  maxSeatsPerOrder: number;
  tiers: { tierId: string; name: string; amount: number; currency: string }[];
  seats: NewSeat[];
  gaAreas: NewGaArea[];
}

/** event.published: the event, its tiers, seats and GA areas (what exists already is left as it is). */
export async function materialiseEvent(
  db: Sequelize,
  t: Transaction,
  payload: PublishedEvent,
  publish: ChangePublisher,
): Promise<{ seats: number; areas: number }> {
  await lockCatalogEvent(db, t, payload.eventId);
  // A cancellation that arrived first wins: the event is created cancelled.
  const created = await insertEvent(db, t, {
    eventId: payload.eventId,
    organizerId: payload.organizerId ?? null,
    title: payload.title,
    salesStartAt: payload.salesStartAt ?? null,
    salesEndAt: payload.salesEndAt ?? null,
    reservationMinutes: payload.reservationMinutes,
    maxSeatsPerOrder: payload.maxSeatsPerOrder,
  });
  // Seats of a cancelled event (first published late, or added by a publication after the cancel) are void.
  const cancelled = (await eventStatus(db, payload.eventId, t)) === 'cancelled';
  const seatStatus = cancelled ? 'void' : 'available';
  await insertTiers(db, t, payload.eventId, payload.tiers);
  const seats = await insertSeats(db, t, payload.eventId, payload.seats, seatStatus);
  const areas = await insertGaAreas(db, t, payload.eventId, payload.gaAreas);
  // A first publication is the baseline (seq 0, read through the snapshot); seats added by a later
  // publication are a change that live clients must see.
  if (!created && (seats.length || areas.length)) {
    await recordChange(
      db,
      t,
      payload.eventId,
      {
        seats: Object.fromEntries(seats.map((seatId) => [seatId, seatStatus])),
        ga: areas.map((a) => ({ areaId: a.areaId, remaining: cancelled ? 0 : a.capacity })),
      },
      publish,
    );
  }
  return { seats: seats.length, areas: areas.length };
}

/** event.cancelled: active holds released, every seat void, GA held counters cleared, event marked cancelled.
 *  Returns false when there was nothing to cancel (already cancelled, or not materialised yet). */
export async function cancelEvent(
  db: Sequelize,
  t: Transaction,
  eventId: string,
  publish: ChangePublisher,
): Promise<boolean> {
  await lockCatalogEvent(db, t, eventId);
  const status = await eventStatus(db, eventId, t);
  if (!status) {
    // Not materialised yet: remember the cancellation for the publication that comes later.
    await rememberCancellation(db, t, eventId);
    return false;
  }
  if (status === 'cancelled') return false;
  // Hold writers in flight have committed (they share the advisory lock taken above), so this sees every
  // active hold. Then the same lock order as every other writer: hold rows, seats, GA, the events row.
  const active = await lockActiveHoldsOfEvent(db, t, eventId);
  const voided = await voidSeatsOfEvent(db, t, eventId);
  const areas = await clearGaHeld(db, t, eventId);
  for (const hold of active) {
    await markHoldEnded(db, t, hold.id, 'released', 'event-cancelled');
    await enqueueHoldEvent(db, t, 'hold.released', {
      holdId: hold.id,
      eventId,
      userId: hold.userId,
      seats: await holdSeatIds(db, hold.id, t),
      ga: await holdGa(db, hold.id, t),
    });
  }
  await markEventCancelled(db, t, eventId);
  await recordChange(
    db,
    t,
    eventId,
    {
      status: 'cancelled',
      seats: Object.fromEntries(voided.map((seatId) => [seatId, 'void' as const])),
      ga: areas.map((areaId) => ({ areaId, remaining: 0 })),
    },
    publish,
  );
  return true;
}
