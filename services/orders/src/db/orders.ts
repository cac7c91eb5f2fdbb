// Every SQL statement about orders.
import { execute, one, rows, type Sequelize, type Transaction } from '@eventtickets/platform';
import type { CancelReason, Fee, OrderLine, OrderStatus, SagaStep, Tax } from '../domain/types.ts';

export interface OrderRow {
  order_id: string;
  user_id: string;
  event_id: string;
  hold_id: string;
  status: OrderStatus;
  saga_step: SagaStep | null;
  cancel_reason: CancelReason | null;
  refund_deadline: Date | null;
  lines: OrderLine[];
  fees: Fee[];
  tax: Tax | null;
  amount: number;
  currency: string;
  payment_id: string | null;
  failure_reason: string | null;
  last_payment_error: string | null;
  refunded_amount: number;
  expires_at: Date;
  confirmed_at: Date | null;
  cancelled_at: Date | null;
  created_at: Date;
  updated_at: Date;
  /** Computed by the reads: a pending order past its hold's expiry reads expired. */
  expired_now?: boolean;
  ticket_ids?: string[];
}

const SELECT = `SELECT o.*, (o.status = 'pending' AND o.expires_at <= now()) AS expired_now,
  COALESCE((SELECT array_agg(ticket_id::text ORDER BY place) FROM tickets k WHERE k.order_id = o.order_id), '{}') AS ticket_ids
  FROM orders o`;

export async function insertOrder(
  db: Sequelize,
  t: Transaction,
  o: {
    orderId: string;
    userId: string;
    eventId: string;
    holdId: string;
    lines: OrderLine[];
    fees: Fee[];
    tax: Tax | null;
    amount: number;
    currency: string;
    expiresAt: string;
    refundDeadline: Date | null;
  },
): Promise<OrderRow | undefined> {
  return one<OrderRow>(
    db,
    `INSERT INTO orders (order_id, user_id, event_id, hold_id, lines, fees, tax, amount, currency, expires_at,
       refund_deadline)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT ON CONSTRAINT one_order_per_hold DO NOTHING
     RETURNING *, false AS expired_now, '{}'::text[] AS ticket_ids`,
    [
      o.orderId,
      o.userId,
      o.eventId,
      o.holdId,
      JSON.stringify(o.lines),
      JSON.stringify(o.fees),
      o.tax ? JSON.stringify(o.tax) : null,
      o.amount,
      o.currency,
      o.expiresAt,
      o.refundDeadline,
    ],
    t,
  );
}

export async function findOrder(db: Sequelize, orderId: string, t?: Transaction): Promise<OrderRow | undefined> {
  return one<OrderRow>(db, `${SELECT} WHERE o.order_id = $1`, [orderId], t);
}

export async function findOrderByHold(db: Sequelize, holdId: string, t?: Transaction): Promise<OrderRow | undefined> {
  return one<OrderRow>(db, `${SELECT} WHERE o.hold_id = $1`, [holdId], t);
}

/** Locks the order row for a state change. */
export async function lockOrder(db: Sequelize, t: Transaction, orderId: string): Promise<OrderRow | undefined> {
  return one<OrderRow>(
    db,
    `SELECT o.*, (o.status = 'pending' AND o.expires_at <= now()) AS expired_now, '{}'::text[] AS ticket_ids
     FROM orders o WHERE o.order_id = $1 FOR UPDATE`,
    [orderId],
    t,
  );
}

export async function listOrders(db: Sequelize, userId: string): Promise<OrderRow[]> {
  return rows<OrderRow>(db, `${SELECT} WHERE o.user_id = $1 ORDER BY o.created_at DESC LIMIT 200`, [userId]);
}

export async function updateOrder(
  db: Sequelize,
  t: Transaction,
  orderId: string,
  set: Partial<{
    status: OrderStatus;
    saga_step: SagaStep | null;
    cancel_reason: CancelReason | null;
    payment_id: string | null;
    failure_reason: string | null;
    last_payment_error: string | null;
    refunded_amount: number;
    confirmed_at: 'now';
    cancelled_at: 'now';
  }>,
): Promise<number> {
  const cols: string[] = [];
  const bind: unknown[] = [orderId];
  for (const [col, value] of Object.entries(set)) {
    // column names come from the typed keys above, never from input
    if (value === 'now') cols.push(`${col} = now()`);
    else {
      bind.push(value);
      cols.push(`${col} = $${bind.length}`);
    }
  }
  return execute(db, `UPDATE orders SET ${cols.join(', ')}, updated_at = now() WHERE order_id = $1`, bind, t);
}

/** Orders whose saga has a step left (a crash or an upstream outage between two steps). */
export async function ordersWithSagaStep(db: Sequelize, limit: number): Promise<Array<{ order_id: string }>> {
  return rows(db, 'SELECT order_id FROM orders WHERE saga_step IS NOT NULL ORDER BY updated_at LIMIT $1', [limit]);
}

/** Confirmed orders of an event with no saga step running (event.cancelled refunds them), locked. */
export async function lockConfirmedOrdersOfEvent(db: Sequelize, t: Transaction, eventId: string): Promise<OrderRow[]> {
  return rows<OrderRow>(
    db,
    `SELECT * FROM orders WHERE event_id = $1 AND status = 'confirmed' AND saga_step IS NULL
     ORDER BY order_id FOR UPDATE`,
    [eventId],
    t,
  );
}

export interface SalesRow {
  currency: string | null;
  revenue: number;
  refunds: number;
  orders_confirmed: number;
}

/** An event's money: revenue of its confirmed orders, what was refunded, how many orders stand. */
export async function salesOfEvent(db: Sequelize, eventId: string): Promise<SalesRow> {
  return (await one<SalesRow>(
    db,
    `SELECT min(currency) AS currency,
       COALESCE(sum(amount) FILTER (WHERE status = 'confirmed'), 0)::int AS revenue,
       COALESCE(sum(refunded_amount), 0)::int AS refunds,
       (count(*) FILTER (WHERE status = 'confirmed'))::int AS orders_confirmed
     FROM orders WHERE event_id = $1 AND status IN ('confirmed', 'refunded', 'failed')`,
    [eventId],
  ))!;
}
