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

export type OrderStatus = 'pending' | 'processing' | 'confirmed' | 'failed' | 'cancelled' | 'expired';

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
  createdAt: string;
  updatedAt: string;
}
