// Orders: creation from a hold (Idempotency-Key), reads for the owner.
import { randomUUID } from 'node:crypto';
import {
  committedIdempotentResult,
  enqueueEvent,
  problems,
  requestFingerprint,
  runIdempotent,
  withRetryingTransaction,
  type Logger,
  type Sequelize,
} from '@eventtickets/platform';
import { findEvent } from '../db/events.ts';
import { findOrder, findOrderByHold, insertOrder, listOrders } from '../db/orders.ts';
import { MixedCurrenciesError, priceHold } from '../domain/pricing.ts';
import { refundDeadline, type Order } from '../domain/types.ts';
import type { OrdersMetrics } from '../metrics.ts';
import { orderView } from './order-view.ts';
import { readHold, type Upstreams } from './upstreams.ts';

export interface Created {
  status: number;
  body: Order;
  replayed: boolean;
}

export interface OrderService {
  create(userId: string, holdId: string, idempotencyKey?: string): Promise<Created>;
  getOwned(userId: string, orderId: string): Promise<Order>;
  list(userId: string): Promise<Order[]>;
}

export function createOrderService(deps: {
  db: Sequelize;
  logger: Logger;
  metrics: OrdersMetrics;
  upstreams: Upstreams;
}): OrderService {
  const { db, metrics, upstreams } = deps;

  async function create(userId: string, holdId: string, key?: string): Promise<Created> {
    const ref = key
      ? { scope: `orders:create:${userId}`, key, fingerprint: requestFingerprint('POST', '/api/orders', { holdId }) }
      : undefined;
    if (ref) {
      const done = await committedIdempotentResult<Order>(db, ref);
      if (done) return done;
    }
    const hold = await readHold(upstreams.inventory, holdId);
    // another buyer's hold is as absent as an unknown one
    if (!hold || hold.userId !== userId) throw problems.notFound(`No hold ${holdId}`, 'hold-not-found');
    const existing = await findOrderByHold(db, hold.id);
    if (existing && !ref) orderExists(existing.order_id);
    if (hold.status !== 'active' && !existing)
      throw problems.conflict(`Hold ${holdId} is ${hold.status}`, 'hold-not-active', { holdStatus: hold.status });
    const event = await findEvent(db, hold.eventId);
    let priced;
    try {
      priced = priceHold(hold, {
        serviceFee: event?.service_fee ?? null,
        taxRate: event?.tax_rate == null ? null : Number(event.tax_rate),
      });
    } catch (err) {
      if (err instanceof MixedCurrenciesError)
        throw problems.unprocessable(`The hold mixes currencies (${err.message})`, 'mixed-currencies');
      throw err;
    }
    const apply = async (t: Parameters<Parameters<typeof withRetryingTransaction>[1]>[0]) => {
      const orderId = randomUUID();
      const row = await insertOrder(db, t, {
        orderId,
        userId,
        eventId: hold.eventId,
        holdId: hold.id,
        ...priced,
        expiresAt: hold.expiresAt,
        refundDeadline: refundDeadline(
          event ? { refundDeadline: event.refund_deadline, startsAt: new Date(event.starts_at) } : undefined,
        ),
      });
      if (!row) orderExists((await findOrderByHold(db, hold.id, t))!.order_id);
      await enqueueEvent(db, t, {
        type: 'order.created',
        aggregateId: orderId,
        payload: {
          orderId,
          userId,
          eventId: hold.eventId,
          holdId: hold.id,
          totals: [{ amount: priced.amount, currency: priced.currency }],
        },
      });
      return { status: 201, body: orderView(row!) };
    };
    const result = await withRetryingTransaction(db, async (t) =>
      ref ? runIdempotent<Order>(db, t, ref, () => apply(t)) : { ...(await apply(t)), replayed: false },
    );
    if (!result.replayed) metrics.ordersCreated.inc();
    return result;
  }

  return {
    create,
    async getOwned(userId, orderId) {
      const row = await findOrder(db, orderId);
      if (!row || row.user_id !== userId) throw problems.notFound(`No order ${orderId}`, 'order-not-found');
      return orderView(row);
    },
    async list(userId) {
      return (await listOrders(db, userId)).map(orderView);
    },
  };
}

function orderExists(orderId: string): never {
  throw problems.conflict('This hold already has an order', 'order-exists-for-hold', { orderId });
}
