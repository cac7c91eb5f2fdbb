// Event bus interface: relays each service's outbox to a transport (Redis Streams, or a shared Postgres
// bus database when Redis is absent) and delivers events to consumer groups at least once, with handler
// effects exactly once thanks to the processed_events table committed together with the handler's work.
import type { Redis } from 'ioredis';
import type { Sequelize, Transaction } from 'sequelize';
import type { Logger } from 'pino';
import type client from 'prom-client';
import type { EventType } from '../events/catalogue.ts';
import type { CatalogueEvent } from '../outbox.ts';

/** Receives an event whose payload already passed its catalogue schema; `event.type` narrows the payload. */
export type EventHandler<T extends EventType = EventType> = (event: CatalogueEvent<T>, t: Transaction) => Promise<void>;

export interface EventBusOptions {
  /** Service name; also the consumer group name. */
  service: string;
  /** The service's own database (holds outbox and processed_events). */
  db: Sequelize;
  /** Redis for streams; absent means the Postgres transport over busDatabaseUrl (announced with a warning). */
  redis?: Redis;
  logger: Logger;
  /** Key prefix for streams (default 'et:'). */
  prefix?: string;
  /** How often the relay polls the outbox and the Postgres transport polls the bus (default 200 ms). */
  pollIntervalMs?: number;
  /** Events per relay batch and per read (default 100). */
  batchSize?: number;
  /** Deliveries after which a failing event goes to the dead stream (default 5); an event that fails its
   *  catalogue schema goes there on its first delivery. */
  maxDeliveries?: number;
  /** Idle time after which another consumer's pending message is claimed (default 30 s). */
  claimIdleMs?: number;
  /** Registry for the bus metrics (outbox_lag_seconds, events_published_total, events_consumed_total). */
  registry?: client.Registry;
  /** No-Redis local mode: the shared bus database URL (bus_events, bus_cursors, bus_dead). */
  busDatabaseUrl?: string;
}

export interface EventBus {
  /** Relay this service's outbox to the transport (call once; safe with many replicas). */
  startRelay(): void;
  /** Consumer group = service name. Handler runs inside a DB transaction together with the
   *  processed_events insert, so a redelivered event is skipped; the message is acknowledged only after commit.
   *  Types must be catalogued; each message is checked against its schema before the handler runs, and one
   *  that fails goes to the dead-letter stream at once (no retries) with the reason. */
  subscribe<T extends EventType>(types: readonly T[], handler: EventHandler<T>): void;
  /** Creates the groups (from the start of each stream, so a new service sees retained history) and starts
   *  consuming the subscribed types. Subscribe first; without subscriptions it does nothing. */
  start(): Promise<void>;
  /** Stops relay and consumers; drains the in-flight message, then returns. Does not close db/redis (the
   *  Postgres transport closes its own bus-database pool). A stopped bus is not restarted: create a new one. */
  stop(): Promise<void>;
  /** For tests: publish one batch now, returns how many events were published. */
  relayOnce(): Promise<number>;
}

/** The stream (Redis) or family (Postgres) an event type belongs to: "hold.created" → "hold". */
export function eventFamily(type: string): string {
  return type.split('.')[0]!;
}

export function streamKey(prefix: string, type: string): string {
  return `${prefix}events.${eventFamily(type)}`;
}

export function deadStreamKey(prefix: string): string {
  return `${prefix}events.dead`;
}
