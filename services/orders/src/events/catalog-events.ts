// Handlers of catalog's events: event.published keeps what orders needs of the event (organizer, start,
// optional serviceFee / taxRate / refundDeadline), inside the bus transaction (idempotent: an upsert);
// event.cancelled sets the saga's cancel-refund step on every confirmed order of the event, in the bus
// transaction (a redelivery finds them refunded or already stepping: nothing twice), then kicks the steps.
import type { CatalogueEvent, Logger, Sequelize, Transaction } from '@eventtickets/platform';
import type { CancelService } from '../use-cases/cancel.ts';
import { rememberEvent } from '../use-cases/events.ts';

export const catalogEventTypes = ['event.published', 'event.cancelled'] as const;
export type CatalogEvent = CatalogueEvent<(typeof catalogEventTypes)[number]>;

export function catalogEventHandler(
  db: Sequelize,
  logger: Logger,
  cancels: CancelService,
  kick: (orderId: string) => void,
) {
  return async (event: CatalogEvent, t: Transaction): Promise<void> => {
    if (event.type === 'event.cancelled') {
      const orders = await cancels.eventCancelled(t, event.payload.eventId);
      t.afterCommit(() => orders.forEach(kick));
      logger.info({ eventId: event.payload.eventId, orders: orders.length }, 'event cancelled: refunding orders');
      return;
    }
    await rememberEvent(db, t, event.payload);
    logger.info({ eventId: event.payload.eventId }, 'event remembered');
  };
}
