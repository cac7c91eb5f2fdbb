// Handlers of payments' events: payment.succeeded records the payment and the saga step to run (inside the bus
// transaction, idempotent: only a pending or processing order without a step moves); the worker runs the step.
// payment.failed of an asynchronous attempt makes the order payable again.
import type { CatalogueEvent, Sequelize, Transaction } from '@eventtickets/platform';
import type { PayService } from '../use-cases/pay.ts';
import type { Saga } from '../use-cases/saga.ts';

export const paymentEventTypes = ['payment.succeeded', 'payment.failed'] as const;
export type PaymentEvent = CatalogueEvent<(typeof paymentEventTypes)[number]>;

export function paymentEventHandler(_db: Sequelize, saga: Saga, pay: PayService, kick: (orderId: string) => void) {
  return async (event: PaymentEvent, t: Transaction): Promise<void> => {
    const { orderId, paymentId } = event.payload;
    if (event.type === 'payment.succeeded') {
      if (await saga.paymentSucceeded(t, orderId, paymentId)) t.afterCommit(() => kick(orderId));
    } else {
      await pay.paymentFailed(orderId, paymentId, event.payload.reason);
    }
  };
}
