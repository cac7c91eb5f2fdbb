// Handlers of catalog's events: event.published materialises the event, event.cancelled cancels it, inside the
// event bus transaction. The bus has already checked the payload against the platform's event catalogue (a
// message that fails goes to the dead-letter stream and never reaches these handlers), so `event.payload` is
// parsed and typed.
import type { CatalogueEvent, Logger, Sequelize, Transaction } from '@eventtickets/platform';
import type { ChangePublisher } from '../use-cases/changes.ts';
import { cancelEvent, materialiseEvent } from '../use-cases/materialise.ts';

/** The catalog events inventory consumes. */
export const catalogEventTypes = ['event.published', 'event.cancelled'] as const;
export type CatalogEvent = CatalogueEvent<(typeof catalogEventTypes)[number]>;

/** The bus handler for event.published and event.cancelled. */
export function catalogEventHandler(db: Sequelize, logger: Logger, publish: ChangePublisher) {
  return async (event: CatalogEvent, t: Transaction): Promise<void> => {
    if (event.type === 'event.published') {
      const result = await materialiseEvent(db, t, event.payload, publish);
      logger.info({ eventId: event.payload.eventId, ...result }, 'event materialised');
    } else {
      const cancelled = await cancelEvent(db, t, event.payload.eventId, publish);
      logger.info({ eventId: event.payload.eventId, cancelled }, 'event cancelled');
    }
  };
}
