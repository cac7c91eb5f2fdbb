// Transactional outbox, write side: a domain event is a row inserted in the same transaction as the state
// change, so it exists if and only if the change committed. The relay (eventbus) publishes it later.
import { randomUUID } from 'node:crypto';
import type { Sequelize, Transaction } from 'sequelize';
import type { Migration } from './db.ts';
import { traceHeaders } from './tracing.ts';
import { parseEventPayload, type EventPayload, type EventPayloadInput, type EventType } from './events/catalogue.ts';

/** An event envelope as stored and transported, its payload not yet checked against the catalogue. */
export interface DomainEvent<P = Record<string, unknown>> {
  /** Unique id; consumers deduplicate on it. */
  id: string;
  /** e.g. "event.published", "hold.expired". */
  type: string;
  /** The entity the event is about (event id, hold id...). */
  aggregateId: string;
  payload: P;
  occurredAt: string;
  /** W3C trace context of the transaction that produced it. */
  headers: Record<string, string>;
}

/** A checked event of a catalogued type: `type` narrows `payload` (a union of types narrows by `type`). */
export type CatalogueEvent<T extends EventType = EventType> = {
  [K in T]: Omit<DomainEvent, 'type' | 'payload'> & { type: K; payload: EventPayload<K> };
}[T];

export const outboxMigrations: Migration[] = [
  {
    name: '0000-platform-outbox',
    up: (tx) =>
      tx.query(`
        CREATE TABLE IF NOT EXISTS outbox (
          seq bigserial PRIMARY KEY,
          event_id uuid NOT NULL UNIQUE,
          type text NOT NULL,
          aggregate_id text NOT NULL,
          payload jsonb NOT NULL,
          headers jsonb NOT NULL DEFAULT '{}'::jsonb,
          occurred_at timestamptz NOT NULL DEFAULT now(),
          published_at timestamptz
        );
        CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;
        CREATE TABLE IF NOT EXISTS processed_events (
          consumer text NOT NULL,
          event_id uuid NOT NULL,
          processed_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (consumer, event_id)
        );`),
    down: (tx) => tx.query('DROP TABLE IF EXISTS outbox; DROP TABLE IF EXISTS processed_events;'),
  },
];

/** Adds an event to the outbox inside the caller's transaction. The type must be in the event catalogue and
 *  the payload must match its schema (checked here too: a producer bug fails the producer's transaction);
 *  what is stored is the parsed payload. */
/** An event checked against the catalogue and made into its outbox row, without writing it: for a service whose
 *  state change and outbox row are ONE statement (inventory's hold function). `bind` is, in order, event_id,
 *  type, aggregate_id, payload (JSON), headers (JSON), occurred_at; enqueueEvent inserts exactly this. */
export function outboxRecord<T extends EventType>(event: {
  type: T;
  aggregateId: string;
  payload: EventPayloadInput<T>;
  id?: string;
}): { event: CatalogueEvent<T>; bind: [string, string, string, string, string, string] } {
  const payload = parseEventPayload(event.type, event.payload) as Record<string, unknown>;
  // W3C traceparent (and tracestate, baggage) of the transaction's span: the relay and every consumer continue
  // the trace of the request that changed the state.
  const headers = traceHeaders();
  const row: DomainEvent = {
    id: event.id ?? randomUUID(),
    type: event.type,
    aggregateId: event.aggregateId,
    payload,
    occurredAt: new Date().toISOString(),
    headers,
  };
  return {
    event: row as CatalogueEvent<T>,
    bind: [row.id, row.type, row.aggregateId, JSON.stringify(row.payload), JSON.stringify(headers), row.occurredAt],
  };
}

export async function enqueueEvent<T extends EventType>(
  db: Sequelize,
  transaction: Transaction,
  event: { type: T; aggregateId: string; payload: EventPayloadInput<T>; id?: string },
): Promise<CatalogueEvent<T>> {
  const record = outboxRecord(event);
  await db.query(
    'INSERT INTO outbox (event_id, type, aggregate_id, payload, headers, occurred_at) VALUES ($1, $2, $3, $4, $5, $6)',
    { transaction, bind: record.bind },
  );
  return record.event;
}
