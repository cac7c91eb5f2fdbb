// The inventory's domain vocabulary, shared by db/, use cases and routes (no database row shapes here).
export type SeatStatus = 'available' | 'held' | 'sold' | 'void';
export type HoldStatus = 'active' | 'confirmed' | 'released' | 'expired';
export type EndReason = 'released' | 'expired' | 'event-cancelled';
export type EventStatus = 'published' | 'cancelled';

export interface Price {
  amount: number;
  currency: string;
}

/** What a hold request is checked against: the event's state and sale rules (as catalog published them). */
export interface SaleRules {
  status: EventStatus;
  salesStartAt: Date | null;
  salesEndAt: Date | null;
  reservationMinutes: number;
  maxSeatsPerOrder: number;
}

/** A hold as stored (its places are read separately). */
export interface Hold {
  id: string;
  eventId: string;
  userId: string;
  status: HoldStatus;
  createdAt: Date;
  expiresAt: Date;
  endedAt: Date | null;
  endReason: EndReason | null;
  confirmedAt: Date | null;
  orderId: string | null;
}

export interface HoldRequest {
  eventId: string;
  seats?: string[];
  ga?: { areaId: string; quantity: number }[];
}

export interface HoldSeat {
  seatId: string;
  label: string;
  section: string | null;
  row: string | null;
  tierId: string;
  price: Price;
}
export interface HoldGaPlaces {
  areaId: string;
  name: string;
  tierId: string;
  quantity: number;
  price: Price;
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
  seats: HoldSeat[];
  ga: HoldGaPlaces[];
  totals: Price[];
}

/** GET /api/events/{id}/availability and the SSE snapshot: the seats and counters as of `seq`. */
export interface AvailabilitySnapshot {
  eventId: string;
  seq: number;
  status: EventStatus;
  seats: Record<string, SeatStatus>;
  ga: { areaId: string; name: string; tierId: string; capacity: number; remaining: number }[];
  tiers: { tierId: string; name: string; amount: number; currency: string }[];
}

/** One numbered availability change: the seats and GA areas it touched, with their new state. */
export interface AvailabilityChange {
  eventId: string;
  seq: number;
  status?: EventStatus;
  seats: Record<string, SeatStatus>;
  ga: { areaId: string; remaining: number }[];
}

/** A change as its transaction records it: numbered by the sequencer after commit. */
export type PendingChange = Omit<AvailabilityChange, 'seq'>;

/** The payload of hold.created / hold.released / hold.expired / hold.confirmed (docs/CONVENTIONS.md). */
export interface HoldEventPayload extends Record<string, unknown> {
  holdId: string;
  eventId: string;
  userId: string;
  seats: string[];
  ga: { areaId: string; quantity: number }[];
}
