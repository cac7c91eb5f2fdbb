// Business metrics of orders, every name prefixed `orders_`.
import { prom } from '@eventtickets/platform';

export interface OrdersMetrics {
  ordersCreated: prom.Counter;
  paymentAttempts: prom.Counter<'outcome'>;
  ordersConfirmed: prom.Counter;
  ordersFailed: prom.Counter<'reason'>;
  ordersRefunded: prom.Counter<'reason'>;
  ordersCancelled: prom.Counter;
  /** Tickets issued by confirmed orders: tickets sold. */
  ticketsIssued: prom.Counter;
  /** One saga step (confirm-hold, refund, cancel-refund), upstream calls and commit, by outcome (ok, error). */
  sagaStepDuration: prom.Histogram<'step' | 'outcome'>;
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
    ticketsIssued: new prom.Counter({
      name: 'orders_tickets_issued_total',
      help: 'Tickets issued by confirmed orders (tickets sold)',
      registers,
    }),
    sagaStepDuration: new prom.Histogram({
      name: 'orders_saga_step_duration_seconds',
      help: 'Duration of one purchase saga step (confirm-hold, refund, cancel-refund) by outcome (ok, error: retried)',
      labelNames: ['step', 'outcome'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    ordersCancelled: new prom.Counter({
      name: 'orders_cancelled_total',
      help: 'Unpaid orders cancelled by their buyer (hold released)',
      registers,
    }),
  };
}
