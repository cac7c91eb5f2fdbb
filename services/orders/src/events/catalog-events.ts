// Handlers of catalog's events: event.published keeps what orders needs of the event (organizer, start,
// optional serviceFee / taxRate / refundDeadline), inside the bus transaction (idempotent: an upsert).
import type { CatalogueEvent, Logger, Sequelize, Transaction } from '@eventtickets/platform';
import { rememberEvent } from '../use-cases/events.ts';

export const catalogEventTypes = ['event.published'] as const;
export type CatalogEvent = CatalogueEvent<(typeof catalogEventTypes)[number]>;

export function catalogEventHandler(db: Sequelize, logger: Logger) {
  return async (event: CatalogEvent, t: Transaction): Promise<void> => {
    await rememberEvent(db, t, event.payload);
    logger.info({ eventId: event.payload.eventId }, 'event remembered');
  };
}
