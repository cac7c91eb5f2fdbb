// The purchase saga after a payment succeeded, as a state machine in the orders table (saga_step):
//   confirm-hold: inventory confirms the hold for this order (idempotent per order) → tickets issued, order
//                 confirmed, order.confirmed; a hold that cannot be confirmed (expired, released, another order)
//                 moves the order to the refund step with the reason;
//   refund:       payments refunds the payment (one Idempotency-Key per order) → order failed, order.failed and
//                 order.refunded;
//   cancel-refund: a confirmed order cancelled by its buyer or its event: payments refunds it (one key per
//                 order), a buyer's cancel returns the seats to inventory (once per order) → refunded,
//                 order.refunded with the reason.
// Each step's upstream call is idempotent and its result commits with the next state, so a crash between two
// steps is resumed by the worker (ordersWithSagaStep) without doing anything twice.
import { randomUUID } from 'node:crypto';
import {
  enqueueEvent,
  UpstreamError,
  withRetryingTransaction,
  withSpan,
  type Logger,
  type Sequelize,
  type Transaction,
} from '@eventtickets/platform';
import { lockOrder, ordersWithSagaStep, updateOrder } from '../db/orders.ts';
import { insertTickets, ticketsOfOrder } from '../db/tickets.ts';
import { ticketPlan } from '../domain/tickets.ts';
import type { OrdersMetrics } from '../metrics.ts';
import type { Upstreams } from './upstreams.ts';

/** Inventory's refusals that mean the hold can never be confirmed for this order. */
const HOLD_LOST = new Set(['hold-expired', 'hold-released', 'hold-confirmed-for-other-order', 'hold-not-found']);

export interface Saga {
  /** A payment of the order succeeded (pay response or payment.succeeded): record it, inside t. */
  paymentSucceeded(t: Transaction, orderId: string, paymentId: string): Promise<boolean>;
  /** Runs the order's pending steps now; safe to call concurrently and repeatedly. */
  advance(orderId: string): Promise<void>;
  /** One pass of the worker over every order with a pending step. */
  sweep(limit?: number): Promise<number>;
}

export function createSaga(deps: {
  db: Sequelize;
  logger: Logger;
  metrics: OrdersMetrics;
  upstreams: Upstreams;
  /** Test hook: runs between two steps (simulate a crash by throwing). */
  betweenSteps?: (orderId: string, step: string) => Promise<void>;
}): Saga {
  const { db, logger, metrics, upstreams } = deps;

  async function paymentSucceeded(t: Transaction, orderId: string, paymentId: string): Promise<boolean> {
    const order = await lockOrder(db, t, orderId);
    if (!order || order.saga_step || !['pending', 'processing', 'expired'].includes(order.status)) return false;
    await updateOrder(db, t, orderId, { status: 'processing', saga_step: 'confirm-hold', payment_id: paymentId });
    return true;
  }

  async function confirmHold(orderId: string): Promise<boolean | void> {
    const order = await lockOrderOutside(orderId);
    if (!order || order.saga_step !== 'confirm-hold') return false;
    let lost: string | undefined;
    try {
      await upstreams.inventory.request('POST', `/internal/holds/${encodeURIComponent(order.hold_id)}/confirm`, {
        body: { orderId },
        idempotencyKey: `confirm-${orderId}`,
      });
    } catch (err) {
      const slug = err instanceof UpstreamError ? err.problemType?.split('/').pop() : undefined;
      if (err instanceof UpstreamError && err.upstreamStatus && err.upstreamStatus < 500 && slug && HOLD_LOST.has(slug))
        lost = slug;
      else throw err;
    }
    await deps.betweenSteps?.(orderId, 'confirm-hold');
    await withRetryingTransaction(db, async (t) => {
      const row = await lockOrder(db, t, orderId);
      if (!row || row.saga_step !== 'confirm-hold') return;
      if (lost) {
        await updateOrder(db, t, orderId, { saga_step: 'refund', failure_reason: `${lost}-refunded` });
        return;
      }
      await insertTickets(
        db,
        t,
        { orderId, userId: row.user_id, eventId: row.event_id },
        ticketPlan(row.lines).map((p) => ({ ticketId: randomUUID(), ...p })),
      );
      const tickets = await ticketsOfOrder(db, orderId, t);
      await updateOrder(db, t, orderId, { status: 'confirmed', saga_step: null, confirmed_at: 'now' });
      await enqueueEvent(db, t, {
        type: 'order.confirmed',
        aggregateId: orderId,
        payload: {
          orderId,
          userId: row.user_id,
          eventId: row.event_id,
          tickets: tickets.map((k) => ({ ticketId: k.ticket_id, seatLabel: k.label })),
          totals: [{ amount: row.amount, currency: row.currency }],
        },
      });
      metrics.ordersConfirmed.inc();
      metrics.ticketsIssued.inc(tickets.length);
    });
  }

  async function refundLate(orderId: string): Promise<boolean | void> {
    const order = await lockOrderOutside(orderId);
    if (!order || order.saga_step !== 'refund' || !order.payment_id) return false;
    try {
      await upstreams.payments.request('POST', `/internal/intents/${order.payment_id}/refunds`, {
        body: { reason: 'late-payment' },
        idempotencyKey: `late-payment-${orderId}`,
      });
    } catch (err) {
      // already fully refunded (e.g. an earlier attempt whose answer was lost under another key): nothing left
      if (!(err instanceof UpstreamError && err.problemType?.endsWith('/intent-not-refundable'))) throw err;
    }
    await withRetryingTransaction(db, async (t) => {
      const row = await lockOrder(db, t, orderId);
      if (!row || row.saga_step !== 'refund') return;
      const reason = row.failure_reason ?? 'hold-lost-refunded';
      await updateOrder(db, t, orderId, { status: 'failed', saga_step: null, refunded_amount: row.amount });
      await enqueueEvent(db, t, {
        type: 'order.failed',
        aggregateId: orderId,
        payload: { orderId, userId: row.user_id, reason },
      });
      await enqueueEvent(db, t, {
        type: 'order.refunded',
        aggregateId: orderId,
        payload: {
          orderId,
          userId: row.user_id,
          eventId: row.event_id,
          amount: row.amount,
          currency: row.currency,
          reason: 'late-payment',
        },
      });
      metrics.ordersFailed.inc({ reason });
    });
  }

  /** cancel-refund: the buyer cancelled (or the event was): payments refunds what remains (one key per order),
   *  a buyer's cancellation puts the seats back on sale in inventory (once per order); then refunded and
   *  order.refunded with the reason. The tickets were voided when the step was set. */
  async function cancelRefund(orderId: string): Promise<boolean | void> {
    const order = await lockOrderOutside(orderId);
    if (!order || order.saga_step !== 'cancel-refund') return false;
    const reason = order.cancel_reason ?? 'buyer-cancelled';
    if (order.payment_id) {
      try {
        await upstreams.payments.request('POST', `/internal/intents/${order.payment_id}/refunds`, {
          body: { reason },
          idempotencyKey: `cancel-${orderId}`,
        });
      } catch (err) {
        if (!(err instanceof UpstreamError && err.problemType?.endsWith('/intent-not-refundable'))) throw err;
      }
    }
    await deps.betweenSteps?.(orderId, 'cancel-refund');
    // a cancelled event's seats are void: nothing goes back on sale
    if (reason === 'buyer-cancelled')
      await upstreams.inventory.request('POST', `/internal/holds/${encodeURIComponent(order.hold_id)}/return`, {
        body: { orderId },
        idempotencyKey: `return-${orderId}`,
      });
    await withRetryingTransaction(db, async (t) => {
      const row = await lockOrder(db, t, orderId);
      if (!row || row.saga_step !== 'cancel-refund') return;
      await updateOrder(db, t, orderId, {
        status: 'refunded',
        saga_step: null,
        refunded_amount: row.amount,
        cancelled_at: 'now',
      });
      await enqueueEvent(db, t, {
        type: 'order.refunded',
        aggregateId: orderId,
        payload: {
          orderId,
          userId: row.user_id,
          eventId: row.event_id,
          amount: row.amount,
          currency: row.currency,
          reason,
        },
      });
      metrics.ordersRefunded.inc({ reason });
    });
  }

  async function lockOrderOutside(orderId: string) {
    return withRetryingTransaction(db, (t) => lockOrder(db, t, orderId));
  }

  /** Runs one step and, when it was the order's step (it did not return false), times it. */
  async function timed(step: string, run: (orderId: string) => Promise<boolean | void>, orderId: string) {
    const end = metrics.sagaStepDuration.startTimer({ step });
    try {
      if ((await run(orderId)) !== false) end({ outcome: 'ok' });
    } catch (err) {
      end({ outcome: 'error' });
      throw err;
    }
  }

  async function advance(orderId: string): Promise<void> {
    // One span per pass: in the trace of the pay request or of the payment event that kicked it.
    await withSpan('order saga', async () => {
      await timed('confirm-hold', confirmHold, orderId);
      await timed('refund', refundLate, orderId);
      await timed('cancel-refund', cancelRefund, orderId);
    });
  }

  return {
    paymentSucceeded,
    advance,
    async sweep(limit = 50) {
      const due = await ordersWithSagaStep(db, limit);
      for (const { order_id } of due) {
        await advance(order_id).catch((err) => logger.warn({ err, orderId: order_id }, 'saga step failed; retried'));
      }
      return due.length;
    },
  };
}
