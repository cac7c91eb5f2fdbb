// POST /api/orders/{id}/pay: one payment intent per attempt in payments, confirmed with the buyer's method.
// succeeded → the saga confirms the hold and issues tickets now (the worker resumes it after a crash);
// processing → the asynchronous card settles later (payment.succeeded); failed → 402 with the reason, the
// hold kept. The intent's creation carries an Idempotency-Key derived from the request's (or a fresh one), so a
// retried request reuses its intent and payments charges it once; at most one intent per order can succeed.
import { randomUUID } from 'node:crypto';
import {
  committedIdempotentResult,
  HttpProblem,
  problems,
  requestFingerprint,
  runIdempotent,
  withRetryingTransaction,
  UpstreamError,
  type Sequelize,
} from '@eventtickets/platform';
import { findOrder, lockOrder, updateOrder, type OrderRow } from '../db/orders.ts';
import type { Order } from '../domain/types.ts';
import type { OrdersMetrics } from '../metrics.ts';
import { orderView } from './order-view.ts';
import type { Saga } from './saga.ts';
import type { Upstreams } from './upstreams.ts';

interface Intent {
  id: string;
  status: 'requires_confirmation' | 'processing' | 'succeeded' | 'failed';
  failureReason: string | null;
}

export interface PayResult {
  status: number;
  body: Order;
  replayed: boolean;
}

export interface PayService {
  pay(userId: string, orderId: string, paymentMethodId: string, idempotencyKey?: string): Promise<PayResult>;
  /** payment.failed of an asynchronous attempt: the order is payable again (while its hold lives). */
  paymentFailed(orderId: string, paymentId: string, reason: string | undefined): Promise<void>;
}

export function createPayService(deps: {
  db: Sequelize;
  metrics: OrdersMetrics;
  upstreams: Upstreams;
  saga: Saga;
}): PayService {
  const { db, metrics, upstreams, saga } = deps;

  function payable(row: OrderRow): void {
    if (row.expired_now || row.status === 'expired')
      throw problems.conflict('The order expired with its hold', 'order-expired');
    if (row.status === 'processing' || row.saga_step)
      throw problems.conflict('A payment of this order is in progress', 'payment-in-progress');
    if (row.status !== 'pending') throw problems.conflict(`The order is ${row.status}`, 'order-not-payable');
  }

  async function attempt(userId: string, row: OrderRow, paymentMethodId: string, key: string): Promise<Order> {
    const intentKey = `pay-${row.order_id}-${key}`.slice(0, 128);
    const created = await upstreams.payments.request<Intent>('POST', '/internal/intents', {
      idempotencyKey: intentKey,
      body: {
        orderId: row.order_id,
        userId,
        amount: row.amount,
        currency: row.currency,
        lines: row.lines.map((l) => ({
          description: l.description,
          quantity: l.quantity,
          unitAmount: l.unitAmount,
          amount: l.amount,
        })),
        fees: row.fees,
        ...(row.tax ? { taxes: [row.tax] } : {}),
      },
    });
    const intent = (
      await upstreams.payments.request<Intent>('POST', `/internal/intents/${created.body.id}/confirm`, {
        body: { paymentMethodId },
        idempotencyKey: intentKey,
      })
    ).body;
    if (intent.status === 'failed') {
      metrics.paymentAttempts.inc({ outcome: 'declined' });
      await withRetryingTransaction(db, (t) =>
        updateOrder(db, t, row.order_id, { last_payment_error: intent.failureReason ?? 'declined' }),
      );
      throw new HttpProblem(
        402,
        'payment-declined',
        'Payment declined',
        'The payment was declined; the seats stay held',
        {
          reason: intent.failureReason ?? 'declined',
          orderId: row.order_id,
        },
      );
    }
    if (intent.status === 'succeeded') {
      metrics.paymentAttempts.inc({ outcome: 'succeeded' });
      await withRetryingTransaction(db, (t) => saga.paymentSucceeded(t, row.order_id, intent.id));
      // the confirmation now; if it cannot finish (an outage), the worker resumes it and the buyer polls
      await saga.advance(row.order_id).catch(() => undefined);
    } else {
      metrics.paymentAttempts.inc({ outcome: 'processing' });
      await withRetryingTransaction(db, async (t) => {
        const locked = await lockOrder(db, t, row.order_id);
        if (locked?.status === 'pending' && !locked.saga_step)
          await updateOrder(db, t, row.order_id, { status: 'processing', payment_id: intent.id });
      });
    }
    return orderView((await findOrder(db, row.order_id))!);
  }

  return {
    async pay(userId, orderId, paymentMethodId, key) {
      const ref = key
        ? {
            scope: `orders:pay:${userId}`,
            key,
            fingerprint: requestFingerprint('POST', `/api/orders/${orderId}/pay`, { paymentMethodId }),
          }
        : undefined;
      if (ref) {
        const done = await committedIdempotentResult<Order>(db, ref);
        if (done) return done;
      }
      const row = await findOrder(db, orderId);
      if (!row || row.user_id !== userId) throw problems.notFound(`No order ${orderId}`, 'order-not-found');
      payable(row);
      let order: Order;
      try {
        order = await attempt(userId, row, paymentMethodId, key ?? randomUUID());
      } catch (err) {
        if (err instanceof UpstreamError) throw err.toHttpProblem();
        throw err;
      }
      if (!ref) return { status: 200, body: order, replayed: false };
      // remember the answer for a retry with this key (a concurrent twin that stored first wins)
      return withRetryingTransaction(db, (t) =>
        runIdempotent<Order>(db, t, ref, async () => ({ status: 200, body: order })),
      );
    },
    async paymentFailed(orderId, paymentId, reason) {
      await withRetryingTransaction(db, async (t) => {
        const row = await lockOrder(db, t, orderId);
        if (row?.status === 'processing' && !row.saga_step && row.payment_id === paymentId)
          await updateOrder(db, t, orderId, { status: 'pending', last_payment_error: reason ?? 'declined' });
      });
    },
  };
}
