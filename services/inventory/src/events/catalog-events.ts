// Handlers of catalog's events: event.published materialises the event, event.cancelled cancels it. They
// parse the payload and call the use cases, inside the event bus transaction.
import type { DomainEvent, Logger, Sequelize, Transaction } from '@eventtickets/platform';
import { z } from '@eventtickets/platform';
import { cancelEvent, materialiseEvent } from '../use-cases/materialise.ts';
import type { ChangePublisher } from '../use-cases/changes.ts';

const id = z.string().min(1).max(128);
const instant = z.string().datetime({ offset: true }).nullish();

/** The part of catalog's event.published payload inventory needs (docs/CONVENTIONS.md). */
export const eventPublishedSchema = z.object({
  eventId: id,
  organizerId: z.string().nullish(),
  title: z.string(),
  salesStartAt: instant,
  salesEndAt: instant,
  reservationMinutes: z.number().int().positive().default(10),
  maxSeatsPerOrder: z.number().int().positive().default(10),
  tiers: z.array(z.object({ tierId: id, name: z.string(), amount: z.number().int().nonnegative(), currency: z.string().min(1) })),
  seats: z.array(z.object({ seatId: id, label: z.string(), section: z.string().nullish(), row: z.string().nullish(), tierId: id, x: z.number().nullish(), y: z.number().nullish() })).default([]),
  gaAreas: z.array(z.object({ areaId: id, name: z.string(), tierId: id, capacity: z.number().int().nonnegative() })).default([]),
});
export type EventPublished = z.infer<typeof eventPublishedSchema>;

/** The bus handler for event.published and event.cancelled. */
export function catalogEventHandler(db: Sequelize, logger: Logger, publish: ChangePublisher) {
  return async (event: DomainEvent, t: Transaction): Promise<void> => {
    if (event.type === 'event.published') {
      const parsed = eventPublishedSchema.safeParse(event.payload);
      if (!parsed.success) {
        // A malformed event would fail forever; the bus's dead stream is the place for it.
        throw new Error(`event.published ${event.id} does not match the contract: ${parsed.error.message}`);
      }
      const result = await materialiseEvent(db, t, parsed.data, publish);
      logger.info({ eventId: parsed.data.eventId, ...result }, 'event materialised');
    } else if (event.type === 'event.cancelled') {
      const eventId = String((event.payload as { eventId?: unknown }).eventId ?? '');
      if (!eventId) throw new Error(`event.cancelled ${event.id} has no eventId`);
      const cancelled = await cancelEvent(db, t, eventId, publish);
      logger.info({ eventId, cancelled }, 'event cancelled');
    }
  };
}
