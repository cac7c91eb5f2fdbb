// Rows → API bodies (the shapes in openapi.yaml). Here in the use-case layer, not in routes/, because the hot
// reads cache these bodies as text (reads.ts); routers send what the use cases return or map with these.
import type { EventDetailRow, EventRow } from '../db/events.ts';
import type { VenueRow } from '../db/venues.ts';
import { effectiveStatus } from '../domain/event-status.ts';
import { localWallClock } from '../domain/time.ts';
import { lowestPrice, pricedSeatMap } from '../domain/tiers.ts';

export function venueSummary(v: VenueRow) {
  return {
    id: v.id,
    organizerId: v.organizer_id,
    name: v.name,
    city: v.city,
    address: v.address,
    timeZone: v.time_zone,
    seatCount: v.seat_count,
    gaCapacity: v.ga_capacity,
    createdAt: v.created_at.toISOString(),
    updatedAt: v.updated_at.toISOString(),
  };
}

export function venueBody(v: VenueRow) {
  return { ...venueSummary(v), seatMap: v.seat_map };
}

export function eventSummary(e: EventRow, now: Date) {
  return {
    id: e.id,
    organizerId: e.organizer_id,
    status: effectiveStatus(e.status, e.ends_at, now),
    title: e.title,
    description: e.description,
    category: e.category,
    imageUrl: e.image_url,
    venue: { id: e.venue_id, name: e.venue_name, city: e.city, address: e.venue_address, timeZone: e.time_zone },
    timeZone: e.time_zone,
    startsAt: e.starts_at.toISOString(),
    endsAt: e.ends_at.toISOString(),
    startsAtLocal: localWallClock(e.starts_at, e.time_zone),
    endsAtLocal: localWallClock(e.ends_at, e.time_zone),
    salesStartAt: e.sales_start_at.toISOString(),
    salesEndAt: e.sales_end_at.toISOString(),
    priceFrom: lowestPrice(e.tiers),
  };
}

export type EventBody = ReturnType<typeof eventBody>;

/** The detail: a published (or cancelled-after-publish) event shows the seat map frozen at publish. */
export function eventBody(e: EventDetailRow, now: Date) {
  const seatMap = e.seat_map_snapshot ?? e.venue_seat_map;
  return {
    ...eventSummary(e, now),
    reservationMinutes: e.reservation_minutes,
    maxSeatsPerOrder: e.max_seats_per_order,
    tiers: e.tiers,
    seatMap: pricedSeatMap(seatMap, e.tiers),
    publishedAt: e.published_at?.toISOString() ?? null,
    cancelledAt: e.cancelled_at?.toISOString() ?? null,
    createdAt: e.created_at.toISOString(),
    updatedAt: e.updated_at.toISOString(),
  };
}
