// Handlers of other services' events, each inside the bus transaction (the processed-events row commits with
// the delivery-log rows, so a redelivered event records nothing new). Messages are sent after commit.
import type { CatalogueEvent, Transaction } from '@eventtickets/platform';
import type { Planner } from '../use-cases/plan.ts';

export const consumedEventTypes = [
  'user.registered',
  'user.updated',
  'event.published',
  'event.cancelled',
  'order.created',
  'order.confirmed',
  'order.refunded',
  'payment.failed',
] as const;
export type ConsumedEvent = CatalogueEvent<(typeof consumedEventTypes)[number]>;

export function eventHandler(planner: Planner, sent: () => void) {
  return async (event: ConsumedEvent, t: Transaction): Promise<void> => {
    let created = 0;
    switch (event.type) {
      case 'user.registered':
      case 'user.updated':
        created = await planner.rememberUser(t, event.payload);
        break;
      case 'event.published':
        return planner.rememberEvent(t, event.payload);
      case 'order.created':
        created = await planner.orderCreated(t, event.payload);
        break;
      case 'order.confirmed':
        created = await planner.orderConfirmed(t, event.id, event.payload);
        break;
      case 'order.refunded':
        created = await planner.orderRefunded(t, event.id, event.payload);
        break;
      case 'payment.failed':
        created = await planner.paymentFailed(t, event.id, event.payload);
        break;
      case 'event.cancelled':
        created = await planner.eventCancelled(t, event.id, event.payload);
        break;
    }
    if (created > 0) t.afterCommit(sent);
  };
}
