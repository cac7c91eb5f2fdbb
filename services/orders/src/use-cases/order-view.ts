// The public document of an order, from its row.
import type { Order } from '../domain/types.ts';
import type { OrderRow } from '../db/orders.ts';

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

export function orderView(row: OrderRow): Order {
  return {
    id: row.order_id,
    userId: row.user_id,
    eventId: row.event_id,
    holdId: row.hold_id,
    // a pending order past its hold's expiry reads expired before any sweep wrote it
    status: row.expired_now ? 'expired' : row.status,
    lines: row.lines,
    fees: row.fees,
    tax: row.tax,
    amount: row.amount,
    currency: row.currency,
    totals: [{ amount: row.amount, currency: row.currency }],
    failureReason: row.failure_reason,
    lastPaymentError: row.last_payment_error,
    refundedAmount: row.refunded_amount,
    ticketIds: row.ticket_ids ?? [],
    expiresAt: iso(row.expires_at)!,
    confirmedAt: iso(row.confirmed_at),
    cancelledAt: iso(row.cancelled_at),
    cancelReason: row.cancel_reason ?? null,
    refundDeadline: iso(row.refund_deadline ?? null),
    createdAt: iso(row.created_at)!,
    updatedAt: iso(row.updated_at)!,
  };
}
