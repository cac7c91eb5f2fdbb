// One delivery to a consumer group: the handler runs in a transaction together with the processed_events
// insert, so its effect commits exactly once however often the transport redelivers. The handler runs in
// the trace context carried by the event's headers.
import { ROOT_CONTEXT, SpanKind, propagation } from '@opentelemetry/api';
import type { Sequelize } from 'sequelize';
import type { DomainEvent } from '../outbox.ts';
import { withSpan } from '../tracing.ts';
import type { EventHandler } from './types.ts';

export type DeliveryResult = 'processed' | 'duplicate' | 'ignored';

export class Dispatcher {
  readonly handlers = new Map<string, EventHandler>();
  private readonly db: Sequelize;
  private readonly consumer: string;

  constructor(db: Sequelize, consumer: string) {
    this.db = db;
    this.consumer = consumer;
  }

  add(types: string[], handler: EventHandler): void {
    for (const type of types) {
      if (this.handlers.has(type)) throw new Error(`event bus: a handler for ${type} is already subscribed`);
      this.handlers.set(type, handler);
    }
  }

  get types(): string[] {
    return [...this.handlers.keys()];
  }

  /** Resolves with what happened; rejects (after rollback) when the handler throws. */
  async deliver(event: DomainEvent): Promise<DeliveryResult> {
    const handler = this.handlers.get(event.type);
    if (!handler) return 'ignored';
    const parent = propagation.extract(ROOT_CONTEXT, event.headers ?? {});
    const attributes = { 'messaging.operation': 'process', 'messaging.message.id': event.id, 'messaging.consumer.group.name': this.consumer };
    return withSpan(`${event.type} process`, () => this.db.transaction(async (t): Promise<DeliveryResult> => {
      const [rows] = await this.db.query(
        'INSERT INTO processed_events (consumer, event_id) VALUES (:consumer, :id) ON CONFLICT DO NOTHING RETURNING event_id',
        { transaction: t, replacements: { consumer: this.consumer, id: event.id } },
      );
      if ((rows as unknown[]).length === 0) return 'duplicate';
      await handler(event, t);
      return 'processed';
    }), { kind: SpanKind.CONSUMER, parent, attributes });
  }
}

/** Parses a transported event; throws on anything that is not a DomainEvent (it then goes to the dead stream). */
export function parseEvent(raw: unknown): DomainEvent {
  const e = (typeof raw === 'string' ? JSON.parse(raw) : raw) as DomainEvent;
  if (!e || typeof e !== 'object' || typeof e.id !== 'string' || typeof e.type !== 'string') throw new Error('not a domain event');
  return e;
}
