// Turning a domain event into messages, inside the bus transaction: what notifications keeps of other
// services' events, and one delivery-log row per channel the recipient wants (e-mail when enabled, SMS when
// opted in with a phone number). The rows are the outbox of deliveries: they commit together with the
// processed event, and the delivery worker sends them after commit.
import { randomUUID } from 'node:crypto';
import type { EventPayload, Logger, Sequelize, Transaction } from '@eventtickets/platform';
import { deferMessage, insertMessage, takeDeferred, type Channel } from '../db/messages.ts';
import {
  findContact,
  findEvent,
  findOrder,
  markEventCancelled,
  ticketHolders,
  upsertContact,
  upsertEvent,
  upsertOrder,
} from '../db/projections.ts';
import { smsText, subjectOf, type MessageData, type MessageKind } from '../domain/messages.ts';
import type { NotificationsMetrics } from '../metrics.ts';

export interface Planner {
  /** Returns how many messages it recorded (those kept until the contact was known). */
  rememberUser(t: Transaction, p: EventPayload<'user.registered'>): Promise<number>;
  rememberEvent(t: Transaction, p: EventPayload<'event.published'>): Promise<void>;
  orderCreated(t: Transaction, p: EventPayload<'order.created'>): Promise<number>;
  /** Each returns how many messages it recorded (0 on a redelivery). */
  orderConfirmed(t: Transaction, eventId: string, p: EventPayload<'order.confirmed'>): Promise<number>;
  orderRefunded(t: Transaction, eventId: string, p: EventPayload<'order.refunded'>): Promise<number>;
  paymentFailed(t: Transaction, eventId: string, p: EventPayload<'payment.failed'>): Promise<number>;
  eventCancelled(t: Transaction, eventId: string, p: EventPayload<'event.cancelled'>): Promise<number>;
}

export function createPlanner(deps: {
  db: Sequelize;
  logger: Logger;
  metrics: NotificationsMetrics;
  appUrl: string;
}): Planner {
  const { db, logger, metrics, appUrl } = deps;

  async function eventFacts(t: Transaction, eventId: string): Promise<MessageData['event']> {
    const e = await findEvent(db, eventId, t);
    return e
      ? {
          title: e.title,
          venueName: e.venue_name,
          startsAt: new Date(e.starts_at).toISOString(),
          timeZone: e.time_zone,
        }
      : null;
  }

  /** Records the messages of one source event for one user; returns how many were new. */
  async function plan(
    t: Transaction,
    sourceEventId: string,
    kind: MessageKind,
    userId: string,
    facts: Omit<MessageData, 'name' | 'appUrl'>,
  ): Promise<number> {
    const contact = await findContact(db, userId, t);
    if (!contact) {
      // their user.registered is still behind on its stream: kept, and planned when it arrives
      await deferMessage(db, t, { source_event_id: sourceEventId, kind, user_id: userId, facts });
      logger.info({ userId, kind, sourceEventId }, 'no contact for the user yet: message kept until it arrives');
      return 0;
    }
    const data: MessageData = { ...facts, name: contact.name, appUrl };
    const channels: Array<{ channel: Channel; address: string; subject: string }> = [];
    if (contact.email_enabled)
      channels.push({ channel: 'email', address: contact.email, subject: subjectOf(kind, data) });
    if (contact.sms_enabled && contact.phone)
      channels.push({ channel: 'sms', address: contact.phone, subject: smsText(kind, data) });
    let created = 0;
    for (const c of channels) {
      const fresh = await insertMessage(db, t, {
        messageId: randomUUID(),
        sourceEventId,
        kind,
        channel: c.channel,
        userId,
        address: c.address,
        subject: c.subject,
        data: data as unknown as Record<string, unknown>,
      });
      if (fresh) {
        created++;
        metrics.messagesQueued.inc({ kind, channel: c.channel });
      }
    }
    if (!channels.length) logger.info({ userId, kind }, 'no channel enabled for the user: nothing to send');
    return created;
  }

  return {
    async rememberUser(t, p) {
      await upsertContact(db, t, {
        user_id: p.userId,
        email: p.email,
        name: p.name,
        phone: p.phone,
        email_enabled: p.notificationPrefs.email,
        sms_enabled: p.notificationPrefs.sms,
      });
      let created = 0;
      for (const d of await takeDeferred(db, t, p.userId))
        created += await plan(t, d.source_event_id, d.kind, d.user_id, d.facts as Omit<MessageData, 'name' | 'appUrl'>);
      return created;
    },
    async rememberEvent(t, p) {
      await upsertEvent(db, t, {
        event_id: p.eventId,
        title: p.title,
        venue_name: p.venueName,
        time_zone: p.timeZone,
        starts_at: new Date(p.startsAt),
      });
    },
    async orderCreated(t, p) {
      await upsertOrder(db, t, {
        orderId: p.orderId,
        userId: p.userId,
        eventId: p.eventId,
        status: 'created',
        totals: p.totals,
      });
      let created = 0;
      for (const d of await takeDeferred(db, t, `order:${p.orderId}`)) {
        const facts = { ...d.facts, eventId: p.eventId, event: await eventFacts(t, p.eventId) };
        created += await plan(t, d.source_event_id, d.kind, p.userId, facts as Omit<MessageData, 'name' | 'appUrl'>);
      }
      return created;
    },
    async orderConfirmed(t, eventId, p) {
      await upsertOrder(db, t, {
        orderId: p.orderId,
        userId: p.userId,
        eventId: p.eventId,
        status: 'confirmed',
        totals: p.totals,
      });
      return plan(t, eventId, 'order-confirmed', p.userId, {
        orderId: p.orderId,
        eventId: p.eventId,
        event: await eventFacts(t, p.eventId),
        tickets: p.tickets,
        totals: p.totals,
      });
    },
    async orderRefunded(t, eventId, p) {
      await upsertOrder(db, t, { orderId: p.orderId, userId: p.userId, eventId: p.eventId, status: 'refunded' });
      return plan(t, eventId, 'order-refunded', p.userId, {
        orderId: p.orderId,
        eventId: p.eventId,
        event: await eventFacts(t, p.eventId),
        amount: p.amount,
        currency: p.currency,
        reason: p.reason,
      });
    },
    async paymentFailed(t, eventId, p) {
      const order = await findOrder(db, p.orderId, t);
      if (!order) {
        // its order.created is still behind on the orders stream: kept under the order, planned when it arrives
        const facts = { orderId: p.orderId, amount: p.amount, currency: p.currency, reason: p.reason };
        await deferMessage(db, t, {
          source_event_id: eventId,
          kind: 'payment-failed',
          user_id: `order:${p.orderId}`,
          facts,
        });
        return 0;
      }
      return plan(t, eventId, 'payment-failed', order.user_id, {
        orderId: p.orderId,
        eventId: order.event_id,
        event: await eventFacts(t, order.event_id),
        amount: p.amount,
        currency: p.currency,
        reason: p.reason,
      });
    },
    async eventCancelled(t, eventId, p) {
      await markEventCancelled(db, t, p.eventId);
      const event = await eventFacts(t, p.eventId);
      let created = 0;
      for (const userId of await ticketHolders(db, t, p.eventId))
        created += await plan(t, eventId, 'event-cancelled', userId, { eventId: p.eventId, event });
      return created;
    },
  };
}
