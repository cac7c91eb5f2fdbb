// Event bus without Redis: the Postgres transport over a shared bus database, against real Postgres.
import { expect } from 'chai';
import client from 'prom-client';
import pg from 'pg';
import { randomUUID } from 'node:crypto';
import { createDatabase, migrate, withTransaction, type Sequelize, type Transaction } from '../src/db.ts';
import { enqueueEvent, outboxMigrations, type DomainEvent } from '../src/outbox.ts';
import type { EventPayloadInput, EventType } from '../src/events/catalogue.ts';
import { samplePayload } from '../src/testing/events.ts';
import { createLogger } from '../src/logger.ts';
import { createEventBus, type EventBus, type EventBusOptions } from '../src/eventbus/index.ts';
import { createTestDatabase, dropTestDatabase } from '../src/testing/harness.ts';

const silent = createLogger('eventbus-pg-test', { level: 'silent' });

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

describe('platform/eventbus over the Postgres bus database (real Postgres, no Redis)', function () {
  let producerUrl: string;
  let consumerUrl: string;
  let busUrl: string;
  let producerDb: Sequelize;
  let consumerDb: Sequelize;
  let busDb: pg.Client;
  const buses: EventBus[] = [];

  function bus(opts: Partial<EventBusOptions> & { service: string }): EventBus {
    const b = createEventBus({ db: producerDb, logger: silent, busDatabaseUrl: busUrl, pollIntervalMs: 20, ...opts });
    buses.push(b);
    return b;
  }
  const produce = <T extends EventType>(type: T, payload: Partial<EventPayloadInput<T>> = {}): Promise<DomainEvent> =>
    withTransaction(producerDb, (t) =>
      enqueueEvent(producerDb, t, { type, aggregateId: 'a', payload: samplePayload(type, payload) }),
    );
  const recordEffect = async (e: DomainEvent, t: Transaction) => {
    await consumerDb.query('INSERT INTO effects (event_id, type) VALUES (:id, :type)', {
      transaction: t,
      replacements: { id: e.id, type: e.type },
    });
  };
  const effects = async () =>
    ((await consumerDb.query('SELECT event_id FROM effects ORDER BY id'))[0] as Array<{ event_id: string }>).map(
      (r) => r.event_id,
    );
  const cursor = async (consumer: string) =>
    (await busDb.query('SELECT last_seq::int AS last FROM bus_cursors WHERE consumer = $1', [consumer])).rows[0]
      ?.last as number | undefined;

  before(async function () {
    producerUrl = await createTestDatabase(this, 'pgbus_producer');
    consumerUrl = await createTestDatabase(this, 'pgbus_consumer');
    busUrl = await createTestDatabase(this, 'pgbus_bus');
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
    busDb = new pg.Client({ connectionString: busUrl });
    await busDb.connect();
  });
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.stop()));
  });
  after(async () => {
    await busDb?.end();
    await producerDb?.close();
    await consumerDb?.close();
    for (const url of [producerUrl, consumerUrl, busUrl]) if (url) await dropTestDatabase(url);
  });

  it('announces local mode, delivers, and a restarted consumer resumes from its cursor', async () => {
    const logs: string[] = [];
    const relay = bus({
      service: 'producer',
      logger: createLogger('t', { level: 'warn', destination: { write: (l: string) => void logs.push(l) } as any }),
    });
    expect(logs.some((l) => l.includes('Postgres bus database'))).to.equal(true);
    const first = [await produce('hold.created'), await produce('hold.expired'), await produce('event.published')];
    expect(await relay.relayOnce()).to.equal(3);

    const seenByFirst: string[] = [];
    const consumer = bus({ service: 'inventory', db: consumerDb });
    consumer.subscribe(['hold.created', 'hold.expired'], async (e, t) => {
      seenByFirst.push(e.id);
      await recordEffect(e, t);
    });
    await consumer.start();
    await eventually(async () => expect(await cursor('inventory')).to.equal(3)); // event.published skipped, cursor past it
    await consumer.stop();
    expect(seenByFirst).to.deep.equal([first[0]!.id, first[1]!.id]);

    const later = [await produce('hold.created'), await produce('hold.expired')];
    expect(await relay.relayOnce()).to.equal(2);
    const seenBySecond: string[] = [];
    const restarted = bus({ service: 'inventory', db: consumerDb });
    restarted.subscribe(['hold.created', 'hold.expired'], async (e, t) => {
      seenBySecond.push(e.id);
      await recordEffect(e, t);
    });
    await restarted.start();
    await eventually(async () => expect(await cursor('inventory')).to.equal(5));
    expect(seenBySecond).to.deep.equal(later.map((e) => e.id));
    expect(await effects()).to.deep.equal([...first.slice(0, 2), ...later].map((e) => e.id));
  });

  it('a republished batch (relay crash before marking) is stored once; a throwing handler retries, then a poison event goes to bus_dead', async () => {
    const sent = await produce('order.created');
    const poison = await produce('order.created', { holdId: 'poison' });
    // Relay crash after publishing, before marking: the outbox rows stay unpublished and go out again.
    expect(await bus({ service: 'producer' }).relayOnce()).to.equal(2);
    await producerDb.query('UPDATE outbox SET published_at = NULL WHERE event_id IN (:ids)', {
      replacements: { ids: [sent.id, poison.id] },
    });
    expect(await bus({ service: 'producer' }).relayOnce()).to.equal(2);
    const { rows } = await busDb.query('SELECT count(*)::int AS n FROM bus_events WHERE event_id = ANY($1)', [
      [sent.id, poison.id],
    ]);
    expect(rows).to.deep.equal([{ n: 2 }]);

    let attempts = 0;
    const registry = new client.Registry();
    const consumer = bus({ service: 'orders-consumer', db: consumerDb, maxDeliveries: 3, registry });
    consumer.subscribe(['order.created'], async (e, t) => {
      if (e.payload.holdId === 'poison') throw new Error('poisoned payload');
      attempts++;
      await recordEffect(e, t);
      if (attempts < 2) throw new Error('transient');
    });
    await consumer.start();
    const dead = await eventually(async () => {
      const { rows } = await busDb.query(
        "SELECT event->>'id' AS id, error, deliveries FROM bus_dead WHERE consumer = $1",
        ['orders-consumer'],
      );
      expect(rows).to.have.length(1);
      return rows[0];
    });
    expect(dead).to.deep.equal({ id: poison.id, error: 'poisoned payload', deliveries: 3 });
    expect(attempts).to.equal(2);
    expect(await effects()).to.include(sent.id);
    expect((await effects()).filter((id) => id === sent.id)).to.have.length(1);
    const consumed = await registry.getSingleMetric('events_consumed_total')!.get();
    const byOutcome = Object.fromEntries(
      consumed.values.filter((v) => v.labels.type === 'order.created').map((v) => [v.labels.outcome, v.value]),
    );
    expect(byOutcome).to.deep.equal({ failed: 3, processed: 1, dead: 1 });
  });

  it('a message that fails its catalogue schema goes to bus_dead at once, with the failing field, and no handler runs', async () => {
    const { holdId, ...rest } = samplePayload('hold.created');
    const renamedId = randomUUID();
    await producerDb.query(
      "INSERT INTO outbox (event_id, type, aggregate_id, payload) VALUES (:id, 'hold.created', :agg, :payload)",
      {
        replacements: { id: renamedId, agg: holdId, payload: JSON.stringify({ ...rest, holdID: holdId }) },
      },
    );
    const valid = await produce('hold.created', { holdId: 'h-2' });
    expect(await bus({ service: 'producer' }).relayOnce()).to.equal(2);
    const handled: string[] = [];
    const registry = new client.Registry();
    const consumer = bus({ service: 'schema-consumer', db: consumerDb, maxDeliveries: 5, registry });
    consumer.subscribe(['hold.created'], async (e, t) => {
      handled.push(`${e.id} ${e.payload.holdId}`); // typed: the parsed hold.created payload
      await recordEffect(e, t);
    });
    await consumer.start();
    await eventually(async () => expect(await effects()).to.include(valid.id));
    // The group started at the bus's first event: earlier tests' hold.created events are handled too. The
    // bus_dead row commits with the cursor, after the handler's own transaction.
    const rows = await eventually(async () => {
      const { rows } = await busDb.query(
        "SELECT event->>'id' AS id, event->'payload'->>'holdID' AS renamed, error, deliveries FROM bus_dead WHERE consumer = $1",
        ['schema-consumer'],
      );
      expect(rows).to.have.length(1);
      return rows;
    });
    expect(rows[0].id).to.equal(renamedId);
    expect(rows[0].renamed).to.equal(holdId);
    expect(rows[0].deliveries).to.equal(1);
    expect(rows[0].error).to.match(/^hold\.created payload does not match the event catalogue: holdId: /);
    expect(handled).to.include(`${valid.id} h-2`);
    expect(handled.filter((h) => h.startsWith(renamedId))).to.deep.equal([]);
    const consumed = await registry.getSingleMetric('events_consumed_total')!.get();
    const byOutcome = Object.fromEntries(
      consumed.values.filter((v) => v.labels.type === 'hold.created').map((v) => [v.labels.outcome, v.value]),
    );
    expect(byOutcome).to.deep.include({ dead: 1 });
    expect(byOutcome).to.not.have.property('failed');
  });
});
