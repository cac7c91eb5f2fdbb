// One delivery to a consumer group: the handler runs in a transaction together with the processed_events
// insert, so its effect commits exactly once however often the transport redelivers. The handler runs in
// the trace context carried by the event's headers. Before that, check() holds a message of a subscribed type
// against the event catalogue: a message that fails cannot succeed on redelivery, so the transports move it
// to the dead-letter stream at once, and the handler only ever sees a parsed, typed payload.
import { ROOT_CONTEXT, SpanKind } from '@opentelemetry/api';
import type { Sequelize } from 'sequelize';
import { isEventType, parseEventPayload, type EventType } from '../events/catalogue.ts';
import type { CatalogueEvent, DomainEvent } from '../outbox.ts';
import { contextFromHeaders, withSpan } from '../tracing.ts';
import type { EventHandler } from './types.ts';

export type DeliveryResult = 'processed' | 'duplicate' | 'ignored';

export class Dispatcher {
  readonly handlers = new Map<string, EventHandler<EventType>>();
  private readonly db: Sequelize;
  private readonly consumer: string;

  constructor(db: Sequelize, consumer: string) {
    this.db = db;
    this.consumer = consumer;
  }

  add(types: readonly string[], handler: EventHandler<EventType>): void {
    for (const type of types) {
      if (!isEventType(type))
        throw new Error(
          `event bus: "${type}" is not in the event catalogue (services/platform/src/events/catalogue.ts)`,
        );
      if (this.handlers.has(type)) throw new Error(`event bus: a handler for ${type} is already subscribed`);
      this.handlers.set(type, handler);
    }
  }

  get types(): string[] {
    return [...this.handlers.keys()];
  }

  /** Reads a transported message. A subscribed type comes back with its payload parsed by the catalogue
   *  schema; any other type comes back unchecked (deliver ignores it). Throws when the message is not an
   *  event envelope or its payload fails the schema: such a message goes to the dead-letter stream at once. */
  check(raw: unknown): DomainEvent {
    const event = parseEvent(raw);
    if (!this.handlers.has(event.type)) return event;
    return { ...event, payload: parseEventPayload(event.type, event.payload) as Record<string, unknown> };
  }

  /** Resolves with what happened; rejects (after rollback) when the handler throws. The event must come
   *  from check(). */
  async deliver(event: DomainEvent): Promise<DeliveryResult> {
    const handler = this.handlers.get(event.type);
    if (!handler) return 'ignored';
    const parent = contextFromHeaders(event.headers ?? {}, ROOT_CONTEXT);
    const attributes = {
      'messaging.operation': 'process',
      'messaging.message.id': event.id,
      'messaging.consumer.group.name': this.consumer,
      'messaging.destination.name': event.type,
    };
    return withSpan(
      `${event.type} process`,
      () =>
        this.db.transaction(async (t): Promise<DeliveryResult> => {
          const [rows] = await this.db.query(
            'INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING event_id',
            { transaction: t, bind: [this.consumer, event.id] },
          );
          if ((rows as unknown[]).length === 0) return 'duplicate';
          await handler(event as CatalogueEvent, t);
          return 'processed';
        }),
      { kind: SpanKind.CONSUMER, parent, attributes },
    );
  }
}

/** Parses a transported event envelope; throws on anything that is not a DomainEvent. */
export function parseEvent(raw: unknown): DomainEvent {
  const e = (typeof raw === 'string' ? JSON.parse(raw) : raw) as DomainEvent;
  if (!e || typeof e !== 'object' || typeof e.id !== 'string' || typeof e.type !== 'string')
    throw new Error('not a domain event');
  if (!e.payload || typeof e.payload !== 'object') throw new Error(`${e.type} ${e.id} has no payload object`);
  return e;
}

/** The type named by a message that may not parse, for metrics and logs. */
export function rawEventType(raw: unknown): string {
  try {
    const e = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { type?: unknown };
    return typeof e?.type === 'string' ? e.type : 'unknown';
  } catch {
    return 'unknown';
  }
}
