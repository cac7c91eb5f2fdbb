// Inventory's availability documents (its openapi.yaml: Availability and AvailabilityChange), folded at
// the gateway (pure): a fan-out hub keeps one event's current snapshot by applying each change to the last
// one, so a viewer who arrives mid-sale gets one up-to-date document instead of a replay from the start.

export interface AvailabilityDocument {
  eventId: string;
  seq: number;
  status: string;
  seats: Record<string, string>;
  ga: { areaId: string; remaining: number; [k: string]: unknown }[];
  [k: string]: unknown;
}

export interface AvailabilityChangeDocument {
  eventId?: string;
  seq: number;
  status?: string;
  seats?: Record<string, string>;
  ga?: { areaId: string; remaining: number }[];
}

/** Applies one change to the snapshot in place: seat statuses, GA remaining by area, the event's status,
 *  and the sequence number the snapshot now includes. */
export function applyAvailabilityChange(doc: AvailabilityDocument, change: AvailabilityChangeDocument): void {
  if (change.seats) for (const [seatId, status] of Object.entries(change.seats)) doc.seats[seatId] = status;
  if (change.ga?.length) {
    for (const area of change.ga) {
      const known = doc.ga.find((a) => a.areaId === area.areaId);
      if (known) known.remaining = area.remaining;
      else doc.ga.push({ areaId: area.areaId, remaining: area.remaining });
    }
  }
  if (change.status) doc.status = change.status;
  doc.seq = change.seq;
}
