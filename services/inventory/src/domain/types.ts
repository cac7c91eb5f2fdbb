// The inventory's domain vocabulary, shared by queries, services and routes.
export type SeatStatus = 'available' | 'held' | 'sold' | 'void';
export type HoldStatus = 'active' | 'confirmed' | 'released' | 'expired';
export type EndReason = 'released' | 'expired' | 'event-cancelled';

export interface Price { amount: number; currency: string }

export interface EventRow {
  event_id: string;
  status: 'published' | 'cancelled';
  sales_start_at: Date | null;
  sales_end_at: Date | null;
  reservation_minutes: number;
  max_seats_per_order: number;
  seq: string | number;
}

export interface HoldRequest {
  eventId: string;
  seats?: string[];
  ga?: { areaId: string; quantity: number }[];
}

export interface HoldView {
  id: string;
  eventId: string;
  userId: string;
  status: HoldStatus;
  createdAt: string;
  expiresAt: string;
  endedAt: string | null;
  endReason: EndReason | null;
  confirmedAt: string | null;
  orderId: string | null;
  seats: { seatId: string; label: string; section: string | null; row: string | null; tierId: string; price: Price }[];
  ga: { areaId: string; name: string; tierId: string; quantity: number; price: Price }[];
  totals: Price[];
}

/** One numbered availability change: the seats and GA areas it touched, with their new state. */
export interface AvailabilityChange {
  eventId: string;
  seq: number;
  status?: 'published' | 'cancelled';
  seats: Record<string, SeatStatus>;
  ga: { areaId: string; remaining: number }[];
}

/** The payload of hold.created / hold.released / hold.expired / hold.confirmed (docs/CONVENTIONS.md). */
export interface HoldEventPayload extends Record<string, unknown> {
  holdId: string;
  eventId: string;
  userId: string;
  seats: string[];
  ga: { areaId: string; quantity: number }[];
}
