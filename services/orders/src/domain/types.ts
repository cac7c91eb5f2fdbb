// The orders domain's types (no row types: those live in db/).
export interface Price {
  amount: number;
  currency: string;
}

/** A hold as inventory's internal API answers it (the fields orders uses). */
export interface HoldView {
  id: string;
  eventId: string;
  userId: string;
  status: 'active' | 'confirmed' | 'released' | 'expired';
  expiresAt: string;
  orderId?: string | null;
  seats: Array<{
    seatId: string;
    label: string;
    section: string | null;
    row: string | null;
    tierId: string;
    price: Price;
  }>;
  ga: Array<{ areaId: string; name: string; tierId: string; quantity: number; price: Price }>;
  totals: Price[];
}

export interface OrderLine {
  kind: 'seat' | 'ga';
  seatId?: string;
  areaId?: string;
  description: string;
  tierId: string;
  quantity: number;
  unitAmount: number;
  amount: number;
  currency: string;
}

export interface Fee {
  description: string;
  amount: number;
}

export interface Tax {
  description: string;
  rate: number;
  amount: number;
}

/** Per-event settings orders snapshots at order time (optional fields of catalog's event.published). */
export interface EventSettings {
  serviceFee: number | null;
  taxRate: number | null;
}

export type OrderStatus = 'pending' | 'processing' | 'confirmed' | 'failed' | 'cancelled' | 'expired' | 'refunded';

export type SagaStep = 'confirm-hold' | 'refund' | 'cancel-refund';
export type CancelReason = 'buyer-cancelled' | 'event-cancelled';

/** The last moment a buyer may cancel for a refund: the event's own deadline, else 24 h before its start. */
export function refundDeadline(event: { refundDeadline: Date | null; startsAt: Date } | undefined): Date | null {
  if (!event) return null;
  return event.refundDeadline ?? new Date(event.startsAt.getTime() - 24 * 3_600_000);
}

export interface Order {
  id: string;
  userId: string;
  eventId: string;
  holdId: string;
  status: OrderStatus;
  lines: OrderLine[];
  fees: Fee[];
  tax: Tax | null;
  amount: number;
  currency: string;
  totals: Price[];
  failureReason: string | null;
  lastPaymentError: string | null;
  refundedAmount: number;
  ticketIds: string[];
  expiresAt: string;
  confirmedAt: string | null;
  cancelledAt: string | null;
  cancelReason: CancelReason | null;
  refundDeadline: string | null;
  createdAt: string;
  updatedAt: string;
}
