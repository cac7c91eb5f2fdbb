// The event.published payload (docs/CONVENTIONS.md): everything inventory needs to materialise seats and GA
// capacities, taken from the seat map frozen at publish.
import type { SeatMap } from './seatmap.ts';
import { assignTiers, type Tier } from './tiers.ts';

export interface PublishedEventPayload extends Record<string, unknown> {
  eventId: string;
  organizerId: string;
  title: string;
  venueId: string;
  venueName: string;
  timeZone: string;
  startsAt: string;
  endsAt: string;
  salesStartAt: string;
  salesEndAt: string;
  reservationMinutes: number;
  maxSeatsPerOrder: number;
  tiers: { tierId: string; name: string; amount: number; currency: string }[];
  seats: { seatId: string; label: string; section: string; row: string; tierId: string; x: number; y: number }[];
  gaAreas: { areaId: string; name: string; tierId: string; capacity: number }[];
}

export interface PublishableEvent {
  id: string;
  organizerId: string;
  title: string;
  venueId: string;
  venueName: string;
  timeZone: string;
  startsAt: Date;
  endsAt: Date;
  salesStartAt: Date;
  salesEndAt: Date;
  reservationMinutes: number;
  maxSeatsPerOrder: number;
  tiers: Tier[];
}

/** Precondition: every seat and area is priced (checked by publish before calling this). */
export function publishedPayload(e: PublishableEvent, seatMap: SeatMap): PublishedEventPayload {
  const { seatTier, areaTier } = assignTiers(seatMap, e.tiers);
  return {
    eventId: e.id,
    organizerId: e.organizerId,
    title: e.title,
    venueId: e.venueId,
    venueName: e.venueName,
    timeZone: e.timeZone,
    startsAt: e.startsAt.toISOString(),
    endsAt: e.endsAt.toISOString(),
    salesStartAt: e.salesStartAt.toISOString(),
    salesEndAt: e.salesEndAt.toISOString(),
    reservationMinutes: e.reservationMinutes,
    maxSeatsPerOrder: e.maxSeatsPerOrder,
    tiers: e.tiers.map((t) => ({ tierId: t.id, name: t.name, amount: t.amount, currency: t.currency })),
    seats: seatMap.sections.flatMap((section) =>
      section.rows.flatMap((row) =>
        row.seats.map((seat) => ({
          seatId: seat.id,
          label: seat.label,
          section: section.name,
          row: row.label,
          tierId: seatTier.get(seat.id)!,
          x: seat.x,
          y: seat.y,
        })),
      ),
    ),
    gaAreas: seatMap.gaAreas.map((a) => ({
      areaId: a.id,
      name: a.name,
      tierId: areaTier.get(a.id)!,
      capacity: a.capacity,
    })),
  };
}
