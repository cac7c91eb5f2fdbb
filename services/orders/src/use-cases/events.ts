// Catalog's events as orders keeps them.
import type { EventPayload, Sequelize, Transaction } from '@eventtickets/platform';
import { upsertEvent } from '../db/events.ts';

export async function rememberEvent(db: Sequelize, t: Transaction, p: EventPayload<'event.published'>): Promise<void> {
  await upsertEvent(db, t, {
    eventId: p.eventId,
    organizerId: p.organizerId,
    title: p.title,
    startsAt: p.startsAt,
    serviceFee: p.serviceFee ?? null,
    taxRate: p.taxRate ?? null,
    refundDeadline: p.refundDeadline ?? null,
  });
}
