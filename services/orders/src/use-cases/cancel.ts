// Cancellation. POST /api/orders/{id}/cancel by the buyer: a pending order releases its hold in inventory and
// ends cancelled; a confirmed order before its refund deadline (snapshotted at order time) has its tickets voided
// and the saga's cancel-refund step set in one transaction, then run now (refund through payments, seats back on
// sale in inventory, refunded, order.refunded); the worker resumes it after a crash. event.cancelled sets the
// same step on every confirmed order of the event.
import {
  committedIdempotentResult,
  problems,
  requestFingerprint,
  runIdempotent,
  withRetryingTransaction,
  HttpProblem,
  type Sequelize,
  type Transaction,
} from '@eventtickets/platform';
import { dbNow, findEvent, markEventCancelled } from '../db/events.ts';
import { findOrder, lockConfirmedOrdersOfEvent, lockOrder, updateOrder } from '../db/orders.ts';
import { voidTicketsOfOrder } from '../db/tickets.ts';
import { refundDeadline, type Order } from '../domain/types.ts';
import type { OrdersMetrics } from '../metrics.ts';
import { orderView } from './order-view.ts';
import type { Saga } from './saga.ts';
import { isProblem, upstreamProblem, type Upstreams } from './upstreams.ts';

export interface CancelResult {
  status: number;
  body: Order;
  replayed: boolean;
}

export interface CancelService {
  cancel(userId: string, orderId: string, idempotencyKey?: string): Promise<CancelResult>;
  /** event.cancelled, inside the bus transaction: the orders whose cancel-refund step was set. */
  eventCancelled(t: Transaction, eventId: string): Promise<string[]>;
}

export function createCancelService(deps: {
  db: Sequelize;
  metrics: OrdersMetrics;
  upstreams: Upstreams;
  saga: Saga;
}): CancelService {
  const { db, metrics, upstreams, saga } = deps;

  const notCancellable = (status: string) =>
    problems.conflict(`The order is ${status}`, 'order-not-cancellable', { orderStatus: status });

  async function cancelPending(orderId: string, holdId: string): Promise<void> {
    try {
      await upstreams.inventory.request('POST', `/internal/holds/${encodeURIComponent(holdId)}/release`, {
        idempotencyKey: `release-${orderId}`,
      });
    } catch (err) {
      // the payment went through meanwhile (its confirmation took the hold): cancel the confirmed order instead
      if (isProblem(err, 'hold-confirmed')) throw notCancellable('being confirmed');
      throw upstreamProblem(err);
    }
    await withRetryingTransaction(db, async (t) => {
      const row = await lockOrder(db, t, orderId);
      if (row?.status !== 'pending' || row.saga_step) throw notCancellable(row?.status ?? 'gone');
      await updateOrder(db, t, orderId, { status: 'cancelled', cancel_reason: 'buyer-cancelled', cancelled_at: 'now' });
      metrics.ordersCancelled.inc();
    });
  }

  async function startRefund(orderId: string): Promise<void> {
    await withRetryingTransaction(db, async (t) => {
      const row = await lockOrder(db, t, orderId);
      if (row?.status !== 'confirmed' || row.saga_step) throw notCancellable(row?.status ?? 'gone');
      const deadline = row.refund_deadline ?? refundDeadlineOf(await findEvent(db, row.event_id, t));
      if (deadline && (await dbNow(db, t)) > new Date(deadline))
        throw new HttpProblem(409, 'refund-deadline-passed', 'Conflict', 'The event’s refund deadline has passed', {
          refundDeadline: new Date(deadline).toISOString(),
        });
      await updateOrder(db, t, orderId, { saga_step: 'cancel-refund', cancel_reason: 'buyer-cancelled' });
      await voidTicketsOfOrder(db, t, orderId);
    });
    // now; if it cannot finish (an outage), the worker resumes it and the buyer polls GET /api/orders/{id}
    await saga.advance(orderId).catch(() => undefined);
  }

  return {
    async cancel(userId, orderId, key) {
      const ref = key
        ? {
            scope: `orders:cancel:${userId}`,
            key,
            fingerprint: requestFingerprint('POST', `/api/orders/${orderId}/cancel`, {}),
          }
        : undefined;
      if (ref) {
        const done = await committedIdempotentResult<Order>(db, ref);
        if (done) return done;
      }
      const row = await findOrder(db, orderId);
      if (!row || row.user_id !== userId) throw problems.notFound(`No order ${orderId}`, 'order-not-found');
      if (row.status === 'pending' && !row.expired_now && !row.saga_step) await cancelPending(orderId, row.hold_id);
      else if (row.status === 'confirmed' && !row.saga_step) await startRefund(orderId);
      else throw notCancellable(row.expired_now ? 'expired' : row.saga_step ? 'being processed' : row.status);
      const order = orderView((await findOrder(db, orderId))!);
      if (!ref) return { status: 200, body: order, replayed: false };
      return withRetryingTransaction(db, (t) =>
        runIdempotent<Order>(db, t, ref, async () => ({ status: 200, body: order })),
      );
    },

    async eventCancelled(t, eventId) {
      await markEventCancelled(db, t, eventId);
      const orders = await lockConfirmedOrdersOfEvent(db, t, eventId);
      for (const o of orders) {
        await updateOrder(db, t, o.order_id, { saga_step: 'cancel-refund', cancel_reason: 'event-cancelled' });
        await voidTicketsOfOrder(db, t, o.order_id);
      }
      return orders.map((o) => o.order_id);
    },
  };
}

function refundDeadlineOf(event: { refund_deadline: Date | null; starts_at: Date } | undefined): Date | null {
  return refundDeadline(
    event ? { refundDeadline: event.refund_deadline, startsAt: new Date(event.starts_at) } : undefined,
  );
}
