// Business metrics of orders, every name prefixed `orders_`.
import { prom } from '@eventtickets/platform';

export interface OrdersMetrics {
  ordersCreated: prom.Counter;
  paymentAttempts: prom.Counter<'outcome'>;
  ordersConfirmed: prom.Counter;
  ordersFailed: prom.Counter<'reason'>;
  ordersRefunded: prom.Counter<'reason'>;
  ordersCancelled: prom.Counter;
}

export function createOrdersMetrics(registry: prom.Registry): OrdersMetrics {
  const registers = [registry];
  return {
    ordersCreated: new prom.Counter({ name: 'orders_created_total', help: 'Orders created', registers }),
    paymentAttempts: new prom.Counter({
      name: 'orders_payment_attempts_total',
      help: 'Pay attempts by outcome (succeeded, processing, declined)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    ordersConfirmed: new prom.Counter({
      name: 'orders_confirmed_total',
      help: 'Orders confirmed (seats sold, tickets issued)',
      registers,
    }),
    ordersFailed: new prom.Counter({
      name: 'orders_failed_total',
      help: 'Orders that failed after payment (refunded)',
      labelNames: ['reason'] as const,
      registers,
    }),
    ordersRefunded: new prom.Counter({
      name: 'orders_refunded_total',
      help: 'Confirmed orders cancelled and refunded, by reason (buyer-cancelled, event-cancelled)',
      labelNames: ['reason'] as const,
      registers,
    }),
    ordersCancelled: new prom.Counter({
      name: 'orders_cancelled_total',
      help: 'Unpaid orders cancelled by their buyer (hold released)',
      registers,
    }),
  };
}
