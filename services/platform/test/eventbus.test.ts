// Event bus over Redis Streams, against real Postgres and a real redis-server: outbox relay, at-least-once
// transport with exactly-once handler effects, retries, dead letters, claims from crashed consumers.
import { expect } from 'chai';
import { ROOT_CONTEXT, context, propagation, trace, TraceFlags } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import client from 'prom-client';
import { createDatabase, migrate, withTransaction, type Sequelize, type Transaction } from '../src/db.ts';
import { enqueueEvent, outboxMigrations, type DomainEvent } from '../src/outbox.ts';
import type { EventPayloadInput, EventType } from '../src/events/catalogue.ts';
import { samplePayload } from '../src/testing/events.ts';
import { createRedis, type Redis } from '../src/redis.ts';
import { createLogger } from '../src/logger.ts';
import {
  createEventBus,
  deadStreamKey,
  streamKey,
  type EventBus,
  type EventBusOptions,
} from '../src/eventbus/index.ts';
import { createTestDatabase, dropTestDatabase, requireRedis, uniqueSuffix } from '../src/testing/harness.ts';

const logger = createLogger('eventbus-test', { level: 'silent' });

/** Retries an assertion until it passes; the mocha timeout is the only bound (no timed assertions). */
async function eventually<T>(check: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (!(err instanceof Error) || err.name !== 'AssertionError') throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** A database whose relay "crashes" between publishing and marking rows published. */
function crashingAfterPublish(db: Sequelize): Sequelize {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'query') {
        return (sql: string, options: unknown) => {
          if (typeof sql === 'string' && sql.startsWith('UPDATE outbox SET published_at'))
            return Promise.reject(new Error('simulated crash after XADD'));
          return (target.query as any)(sql, options);
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

async function metricValue(registry: client.Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await registry.getSingleMetric(name)!.get();
  const hit = metric.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return hit?.value ?? 0;
}

describe('platform/eventbus over Redis Streams (real Postgres + Redis)', function () {
  let producerUrl: string;
  let consumerUrl: string;
  let producerDb: Sequelize;
  let consumerDb: Sequelize;
  let redis: Redis;
  let prefix: string;
  const buses: EventBus[] = [];

  function bus(opts: Partial<EventBusOptions> & { service: string }): EventBus {
    const b = createEventBus({
      db: producerDb,
      redis,
      logger,
      prefix,
      pollIntervalMs: 20,
      claimIdleMs: 60_000,
      ...opts,
    });
    buses.push(b);
    return b;
  }

  async function produce<T extends EventType>(
    type: T,
    payload: Partial<EventPayloadInput<T>> = {},
  ): Promise<DomainEvent> {
    return withTransaction(producerDb, (t) =>
      enqueueEvent(producerDb, t, { type, aggregateId: 'agg-1', payload: samplePayload(type, payload) }),
    );
  }

  /** Handler side effect, recorded in the consumer's own database inside the delivery transaction. */
  async function recordEffect(event: DomainEvent, t: Transaction): Promise<void> {
    await consumerDb.query('INSERT INTO effects (event_id, type) VALUES (:id, :type)', {
      transaction: t,
      replacements: { id: event.id, type: event.type },
    });
  }

  async function effects(): Promise<Array<{ event_id: string; type: string }>> {
    const [rows] = await consumerDb.query('SELECT event_id, type FROM effects ORDER BY id');
    return rows as Array<{ event_id: string; type: string }>;
  }

  before(async function () {
    const [redisUrl] = requireRedis(this);
    producerUrl = await createTestDatabase(this, 'bus_producer');
    consumerUrl = await createTestDatabase(this, 'bus_consumer');
    producerDb = createDatabase(producerUrl);
    consumerDb = createDatabase(consumerUrl);
    await migrate(producerDb, outboxMigrations);
    await migrate(consumerDb, [
      ...outboxMigrations,
      {
        name: '0001-effects',
        up: (tx) =>
          tx.query('CREATE TABLE effects (id bigserial PRIMARY KEY, event_id uuid NOT NULL, type text NOT NULL)'),
      },
    ]);
    redis = createRedis(redisUrl!);
  });

  beforeEach(async () => {
    prefix = `t:${uniqueSuffix()}:`; // fresh streams and groups per test
    await producerDb.query('DELETE FROM outbox');
    await consumerDb.query('DELETE FROM effects; DELETE FROM processed_events;');
  });

  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.stop()));
  });

  after(async () => {
    await redis?.quit();
    await producerDb?.close();
    await consumerDb?.close();
    if (producerUrl) await dropTestDatabase(producerUrl);
    if (consumerUrl) await dropTestDatabase(consumerUrl);
  });

  it('publishes an outbox event only if its transaction committed, to the stream of its family', async () => {
    const committed = await produce('hold.created', { holdId: 'h1' });
    await withTransaction(producerDb, async (t) => {
      await enqueueEvent(producerDb, t, {
        type: 'hold.expired',
        aggregateId: 'h2',
        payload: samplePayload('hold.expired'),
      });
      throw new Error('state change failed');
    }).catch(() => undefined);
    const registry = new client.Registry();
    const relay = bus({ service: 'producer', registry });

    expect(await relay.relayOnce()).to.equal(1);
    expect(await relay.relayOnce()).to.equal(0);

    const entries = await redis.xrange(streamKey(prefix, 'hold.created'), '-', '+');
    expect(entries).to.have.length(1);
    const fields = entries[0]![1];
    const published = JSON.parse(fields[fields.indexOf('event') + 1]!) as DomainEvent;
    expect(published).to.deep.include({
      id: committed.id,
      type: 'hold.created',
      aggregateId: 'agg-1',
      payload: samplePayload('hold.created', { holdId: 'h1' }),
    });
    expect(`${prefix}events.hold`).to.equal(streamKey(prefix, 'hold.created'));
    const [rows] = await producerDb.query('SELECT event_id FROM outbox WHERE published_at IS NULL');
    expect(rows).to.deep.equal([]);
    expect(await metricValue(registry, 'events_published_total', { type: 'hold.created' })).to.equal(1);
    expect(await metricValue(registry, 'outbox_lag_seconds', {})).to.equal(0);
  });

  it('reports the age of the oldest unpublished row as outbox lag', async () => {
    await producerDb.query(
      `INSERT INTO outbox (event_id, type, aggregate_id, payload, occurred_at) VALUES (gen_random_uuid(), 'hold.created', 'a', '{}', now() - interval '1 hour')`,
    );
    const registry = new client.Registry();
    const relay = bus({ service: 'producer', registry, redis: crashingRedis(redis) });
    await relay.relayOnce().catch(() => undefined);
    await lagOf(registry, (lag) => expect(lag).to.be.at.least(3600));
  });

  it('delivers each event exactly once to a consumer even when the relay crashed after XADD, before marking published', async () => {
    const sent = [];
    for (let i = 0; i < 5; i++) sent.push(await produce('event.published', { title: `show ${i}` }));

    const crashed = bus({ service: 'producer', db: crashingAfterPublish(producerDb) });
    let crashError: Error | undefined;
    await crashed.relayOnce().catch((err) => (crashError = err));
    expect(crashError?.message).to.equal('simulated crash after XADD');
    expect(await redis.xlen(streamKey(prefix, 'event.published'))).to.equal(5); // already on the stream
    const [unpublished] = await producerDb.query('SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL');
    expect(unpublished).to.deep.equal([{ n: 5 }]);

    const restarted = bus({ service: 'producer' });
    expect(await restarted.relayOnce()).to.equal(5);
    expect(await redis.xlen(streamKey(prefix, 'event.published'))).to.equal(10); // each event twice on the stream

    const registry = new client.Registry();
    const consumer = bus({ service: 'consumer', db: consumerDb, registry });
    consumer.subscribe(['event.published'], recordEffect);
    await consumer.start();

    await eventually(async () => {
      const pending = (await redis.xpending(streamKey(prefix, 'event.published'), 'consumer')) as [
        number,
        ...unknown[],
      ];
      expect(
        await metricValue(registry, 'events_consumed_total', { type: 'event.published', outcome: 'duplicate' }),
      ).to.equal(5);
      expect(pending[0]).to.equal(0);
    });
    expect((await effects()).map((e) => e.event_id)).to.deep.equal(sent.map((e) => e.id));
    expect(
      await metricValue(registry, 'events_consumed_total', { type: 'event.published', outcome: 'processed' }),
    ).to.equal(5);
  });

  it('delivers each event exactly once when the relay dies mid-batch (part of the batch on the stream, the rest not)', async () => {
    const sent: DomainEvent[] = [];
    for (let i = 0; i < 5; i++) sent.push(await produce('ticket.checked_in', { ticketId: `t-${i}` }));
    const stream = streamKey(prefix, 'ticket.checked_in');

    // The connection drops after two of the five XADDs reached Redis.
    const dying = bus({ service: 'producer', redis: partialRedis(redis, 2) });
    const crash = await dying.relayOnce().then(
      () => undefined,
      (err: Error) => err,
    );
    expect(crash?.message).to.equal('connection lost mid-pipeline');
    expect(await redis.xlen(stream)).to.equal(2);
    const [unpublished] = await producerDb.query(
      "SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL AND type = 'ticket.checked_in'",
    );
    expect(unpublished).to.deep.equal([{ n: 5 }]);

    expect(await bus({ service: 'producer' }).relayOnce()).to.equal(5);
    expect(await redis.xlen(stream)).to.equal(7);

    const registry = new client.Registry();
    const consumer = bus({ service: 'checkins', db: consumerDb, registry });
    consumer.subscribe(['ticket.checked_in'], recordEffect);
    await consumer.start();
    try {
      await eventually(async () => {
        expect(
          await metricValue(registry, 'events_consumed_total', { type: 'ticket.checked_in', outcome: 'processed' }),
        ).to.equal(5);
        expect(
          await metricValue(registry, 'events_consumed_total', { type: 'ticket.checked_in', outcome: 'duplicate' }),
        ).to.equal(2);
      });
    } finally {
      await consumer.stop();
    }
    const applied = (await effects()).map((e) => e.event_id).filter((id) => sent.some((s) => s.id === id));
    expect(applied).to.deep.equal(sent.map((e) => e.id));
  });

  it('a consumer whose handler throws sees the message again and succeeds later', async () => {
    const event = await produce('order.created');
    await bus({ service: 'producer' }).relayOnce();
    let attempts = 0;
    const consumer = bus({ service: 'consumer', db: consumerDb, maxDeliveries: 5 });
    consumer.subscribe(['order.created'], async (e, t) => {
      attempts++;
      await recordEffect(e, t); // written, then rolled back by the throw below
      if (attempts < 3) throw new Error(`transient failure ${attempts}`);
    });
    await consumer.start();

    await eventually(async () =>
      expect(await effects()).to.deep.equal([{ event_id: event.id, type: 'order.created' }]),
    );
    expect(attempts).to.equal(3);
    expect(await redis.xlen(deadStreamKey(prefix))).to.equal(0);
    await eventually(async () =>
      expect(((await redis.xpending(streamKey(prefix, 'order.created'), 'consumer')) as [number])[0]).to.equal(0),
    );
  });

  it('redelivery of an already processed event is harmless', async () => {
    const event = await produce('payment.succeeded', { orderId: 'o1' });
    await bus({ service: 'producer' }).relayOnce();
    let calls = 0;
    const registry = new client.Registry();
    const consumer = bus({ service: 'consumer', db: consumerDb, registry });
    consumer.subscribe(['payment.succeeded'], async (e, t) => {
      calls++;
      await recordEffect(e, t);
    });
    await consumer.start();
    await eventually(async () => expect(await effects()).to.have.length(1));

    // The same event arrives again (a republished batch, a manual replay): skipped, still acknowledged.
    await redis.xadd(streamKey(prefix, event.type), '*', 'type', event.type, 'event', JSON.stringify(event));
    await eventually(async () =>
      expect(
        await metricValue(registry, 'events_consumed_total', { type: 'payment.succeeded', outcome: 'duplicate' }),
      ).to.equal(1),
    );
    expect(calls).to.equal(1);
    expect(await effects()).to.have.length(1);
  });

  it('moves a poison message to the dead stream after maxDeliveries and acknowledges it', async () => {
    const poison = await produce('ticket.checked_in', { ticketId: 't1' });
    await bus({ service: 'producer' }).relayOnce();
    await redis.xadd(streamKey(prefix, 'ticket.checked_in'), '*', 'type', 'ticket.checked_in', 'event', '{not json');
    let calls = 0;
    const registry = new client.Registry();
    const consumer = bus({ service: 'consumer', db: consumerDb, maxDeliveries: 3, registry });
    consumer.subscribe(['ticket.checked_in'], async (e, t) => {
      calls++;
      await recordEffect(e, t);
      throw new Error('cannot handle this ticket');
    });
    await consumer.start();

    const dead = await eventually(async () => {
      const entries = await redis.xrange(deadStreamKey(prefix), '-', '+');
      expect(entries).to.have.length(2);
      return entries.map(
        ([, f]) => Object.fromEntries(f.flatMap((v, i) => (i % 2 ? [] : [[v, f[i + 1]]]))) as Record<string, string>,
      );
    });
    const handled = dead.find((d) => d.error === 'cannot handle this ticket')!;
    expect(handled).to.include({
      type: 'ticket.checked_in',
      group: 'consumer',
      deliveries: '3',
      stream: streamKey(prefix, 'ticket.checked_in'),
    });
    expect(JSON.parse(handled.event!).id).to.equal(poison.id);
    const malformed = dead.find((d) => d.event === '{not json')!;
    expect(malformed.error).to.be.a('string').and.not.empty;
    expect(calls).to.equal(3);
    expect(await effects()).to.deep.equal([]);
    expect(((await redis.xpending(streamKey(prefix, 'ticket.checked_in'), 'consumer')) as [number])[0]).to.equal(0);
    expect(
      await metricValue(registry, 'events_consumed_total', { type: 'ticket.checked_in', outcome: 'dead' }),
    ).to.equal(2);
    expect(
      await metricValue(registry, 'events_consumed_total', { type: 'ticket.checked_in', outcome: 'failed' }),
    ).to.equal(2);
  });

  it('a message that fails its catalogue schema (a producer renamed a field) goes to the dead stream at once, unhandled', async () => {
    // A producer that bypasses enqueueEvent's check (older code, a hand-written row) renames eventId to eventID.
    const { eventId, ...rest } = samplePayload('event.published');
    await producerDb.query(
      "INSERT INTO outbox (event_id, type, aggregate_id, payload) VALUES (gen_random_uuid(), 'event.published', :agg, :payload)",
      {
        replacements: { agg: eventId, payload: JSON.stringify({ ...rest, eventID: eventId }) },
      },
    );
    const valid = await produce('event.published', { eventId: 'e-2' });
    expect(await bus({ service: 'producer' }).relayOnce()).to.equal(2);
    // And one published raw to the stream, with a field of the wrong type.
    const raw = {
      ...valid,
      id: '00000000-0000-4000-8000-000000000001',
      payload: { ...valid.payload, reservationMinutes: 'ten' },
    };
    await redis.xadd(
      streamKey(prefix, 'event.published'),
      '*',
      'type',
      'event.published',
      'event',
      JSON.stringify(raw),
    );

    const handled: unknown[] = [];
    const registry = new client.Registry();
    const consumer = bus({ service: 'consumer', db: consumerDb, maxDeliveries: 5, registry });
    consumer.subscribe(['event.published'], async (e, t) => {
      handled.push(e.payload.eventId); // typed: the parsed event.published payload
      await recordEffect(e, t);
    });
    await consumer.start();

    const dead = await eventually(async () => {
      const entries = await redis.xrange(deadStreamKey(prefix), '-', '+');
      expect(entries).to.have.length(2);
      return entries.map(
        ([, f]) => Object.fromEntries(f.flatMap((v, i) => (i % 2 ? [] : [[v, f[i + 1]]]))) as Record<string, string>,
      );
    });
    expect(dead.map((d) => ({ type: d.type, deliveries: d.deliveries, group: d.group }))).to.deep.equal([
      { type: 'event.published', deliveries: '1', group: 'consumer' },
      { type: 'event.published', deliveries: '1', group: 'consumer' },
    ]);
    expect(dead[0]!.error).to.match(/^event\.published payload does not match the event catalogue: eventId: /);
    expect(JSON.parse(dead[0]!.event!).payload.eventID).to.equal(eventId);
    expect(dead[1]!.error).to.match(/reservationMinutes: /);
    expect(handled).to.deep.equal(['e-2']);
    expect(
      await metricValue(registry, 'events_consumed_total', { type: 'event.published', outcome: 'failed' }),
    ).to.equal(0);
    // counted just after the dead-letter XADD: the second count may land a moment after the entry is visible
    await eventually(async () =>
      expect(
        await metricValue(registry, 'events_consumed_total', { type: 'event.published', outcome: 'dead' }),
      ).to.equal(2),
    );
    await eventually(async () =>
      expect(((await redis.xpending(streamKey(prefix, 'event.published'), 'consumer')) as [number])[0]).to.equal(0),
    );
  });

  it('refuses a subscription to a type that is not in the event catalogue', () => {
    const consumer = bus({ service: 'consumer', db: consumerDb });
    expect(() => consumer.subscribe(['hold.vanished' as EventType], recordEffect)).to.throw(
      /not in the event catalogue/,
    );
  });

  it('claims messages a crashed consumer left pending after claimIdleMs', async () => {
    const event = await produce('hold.expired', { holdId: 'h9' });
    await bus({ service: 'producer' }).relayOnce();
    const stream = streamKey(prefix, 'hold.expired');
    // A replica read the message and died before acknowledging it.
    await redis.xgroup('CREATE', stream, 'consumer', '0', 'MKSTREAM');
    await redis.xreadgroup('GROUP', 'consumer', 'crashed-replica', 'COUNT', 10, 'STREAMS', stream, '>');

    const consumer = bus({ service: 'consumer', db: consumerDb, claimIdleMs: 50 });
    consumer.subscribe(['hold.expired'], recordEffect);
    await consumer.start();
    await eventually(async () => expect((await effects()).map((e) => e.event_id)).to.deep.equal([event.id]));
    await eventually(async () => expect(((await redis.xpending(stream, 'consumer')) as [number])[0]).to.equal(0));
  });

  it('runs the handler in the trace context carried by the event, and skips types nobody subscribed to', async () => {
    // What the SDK registers in a service (tracing-register.ts); undone in finally for the other suites.
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    try {
      await checkTracePropagation();
    } finally {
      context.disable();
      propagation.disable();
    }
  });

  async function checkTracePropagation(): Promise<void> {
    const traceId = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
    const parent = trace.setSpanContext(ROOT_CONTEXT, {
      traceId,
      spanId: '0102030405060708',
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
    await context.with(parent, () => produce('order.confirmed'));
    await produce('order.refunded'); // same stream, no handler
    await bus({ service: 'producer' }).relayOnce();
    const seen: string[] = [];
    const registry = new client.Registry();
    const consumer = bus({ service: 'consumer', db: consumerDb, registry });
    consumer.subscribe(['order.confirmed'], async (e, t) => {
      seen.push(trace.getActiveSpan()?.spanContext().traceId ?? 'none');
      await recordEffect(e, t);
    });
    await consumer.start();
    await eventually(async () =>
      expect(
        await metricValue(registry, 'events_consumed_total', { type: 'order.refunded', outcome: 'ignored' }),
      ).to.equal(1),
    );
    expect(seen).to.deep.equal([traceId]);
    expect((await effects()).map((e) => e.type)).to.deep.equal(['order.confirmed']);
  }

  it('every stream message carries a W3C traceparent in the trace of the request that enqueued it (a field and the envelope headers)', async () => {
    const traceId = 'c0ffee00c0ffee00c0ffee00c0ffee00';
    const parent = trace.setSpanContext(ROOT_CONTEXT, {
      traceId,
      spanId: '1112131415161718',
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
    // A context manager as the SDK registers, but no propagator: the platform writes and reads traceparent itself.
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    let sent: DomainEvent;
    try {
      sent = await context.with(parent, () => produce('order.confirmed'));
    } finally {
      context.disable();
    }
    expect(sent.headers.traceparent).to.equal(`00-${traceId}-1112131415161718-01`);
    await bus({ service: 'producer' }).relayOnce();
    const entries = (await redis.xrange(streamKey(prefix, 'order.confirmed'), '-', '+')) as Array<[string, string[]]>;
    const entry = entries.find(([, f]) => f.includes('event') && f[f.indexOf('event') + 1]!.includes(sent.id));
    expect(entry, 'the relayed message').to.exist;
    const fields = entry![1];
    const traceparent = fields[fields.indexOf('traceparent') + 1];
    expect(traceparent).to.match(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    const envelope = JSON.parse(fields[fields.indexOf('event') + 1]!) as DomainEvent;
    expect(envelope.headers.traceparent).to.equal(traceparent);
  });

  it('reports consumer lag per stream at scrape time and counts dead letters by type', async () => {
    const registry = new client.Registry();
    const consumer = bus({ service: 'lagging', db: consumerDb, registry, maxDeliveries: 1 });
    consumer.subscribe(['user.registered'], async () => {
      throw new Error('always fails');
    });
    await consumer.start();
    await consumer.stop(); // the group exists; nothing consumes now
    const reader = bus({ service: 'lagging', db: consumerDb, registry, maxDeliveries: 1 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    reader.subscribe(['user.registered'], async () => {
      await gate;
      throw new Error('always fails');
    });
    await produce('user.registered');
    await produce('user.registered');
    await bus({ service: 'producer' }).relayOnce();
    await reader.start();
    // two messages not yet processed (one in the blocked handler, pending; one unread)
    await eventually(async () =>
      expect(await metricValue(registry, 'events_consumer_lag_messages', { stream: 'events.user' })).to.equal(2),
    );
    release();
    await eventually(async () =>
      expect(await metricValue(registry, 'events_dead_letters_total', { type: 'user.registered' })).to.equal(2),
    );
    await eventually(async () =>
      expect(await metricValue(registry, 'events_consumer_lag_messages', { stream: 'events.user' })).to.equal(0),
    );
    await reader.stop();
  });

  it('stop() lets the in-flight delivery finish and acknowledge before returning', async () => {
    await produce('user.registered');
    await bus({ service: 'producer' }).relayOnce();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const inFlight = new Promise<void>((r) => (started = r));
    const order: string[] = [];
    const consumer = createEventBus({ service: 'consumer', db: consumerDb, redis, logger, prefix, pollIntervalMs: 20 });
    consumer.subscribe(['user.registered'], async (e, t) => {
      started();
      await gate;
      await recordEffect(e, t);
      order.push('handler finished');
    });
    await consumer.start();
    await inFlight;
    const stopped = consumer.stop().then(() => order.push('stop returned'));
    release();
    await stopped;
    expect(order).to.deep.equal(['handler finished', 'stop returned']);
    expect(await effects()).to.have.length(1);
    expect(((await redis.xpending(streamKey(prefix, 'user.registered'), 'consumer')) as [number])[0]).to.equal(0);
  });

  it('startRelay() publishes continuously until stopped', async () => {
    const relay = bus({ service: 'producer' });
    relay.startRelay();
    const event = await produce('event.cancelled', { eventId: 'e1' });
    await eventually(async () => expect(await redis.xlen(streamKey(prefix, 'event.cancelled'))).to.equal(1));
    await relay.stop();
    const [rows] = await producerDb.query(
      'SELECT published_at IS NOT NULL AS published FROM outbox WHERE event_id = :id',
      { replacements: { id: event.id } },
    );
    expect(rows).to.deep.equal([{ published: true }]);
  });
});

/** A Redis whose XADDs fail, so the outbox stays unpublished (for the lag gauge). */
/** A Redis whose pipelines reach the server only for their first `delivered` commands, then the connection "drops". */
function partialRedis(redis: Redis, delivered: number): Redis {
  return new Proxy(redis, {
    get(target, prop) {
      if (prop === 'pipeline') {
        const calls: unknown[][] = [];
        return () => ({
          xadd(...args: unknown[]) {
            calls.push(args);
          },
          exec: async () => {
            const results: [Error | null, unknown][] = [];
            for (const [i, args] of calls.entries()) {
              results.push(
                i < delivered
                  ? [null, await (target.xadd as any)(...args)]
                  : [new Error('connection lost mid-pipeline'), null],
              );
            }
            return results;
          },
        });
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

function crashingRedis(redis: Redis): Redis {
  return new Proxy(redis, {
    get(target, prop) {
      if (prop === 'pipeline') return () => ({ xadd() {}, exec: async () => [[new Error('redis down'), null]] });
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

async function lagOf(registry: client.Registry, check: (lag: number) => void): Promise<void> {
  const metric = await registry.getSingleMetric('outbox_lag_seconds')!.get();
  check(metric.values[0]?.value ?? 0);
}
