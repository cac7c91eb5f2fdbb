// Catalog's events arriving through the real event bus (outbox → Redis Streams → consumer group):
// event.published materialises seats, counters and prices idempotently; event.cancelled voids the event.
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import {
  deadStreamKey,
  enqueueEvent,
  withTransaction,
  type CatalogueEvent,
  type EventPayloadInput,
  type EventType,
} from '@eventtickets/platform';
import { catalogEventHandler } from '../src/events/catalog-events.ts';
import type { InventoryConfig } from '../src/config.ts';
import {
  buyer,
  dropDatabase,
  eventPayload,
  ordersService,
  query,
  startInstance,
  suiteConfig,
  type Instance,
} from './helpers.ts';
import { openSse, waitFor } from '@eventtickets/platform/testing';

describe('inventory: catalog events through the bus (real Postgres + Redis Streams)', function () {
  let config: InventoryConfig;
  let app: Instance;

  before(async function () {
    config = await suiteConfig(this);
    app = await startInstance(config);
  });
  after(async () => {
    await app?.stop();
    await dropDatabase(config);
  });

  /** Sends an event the way catalog would: an outbox row relayed to the stream (here from our own outbox,
   *  since the relay publishes by type), then waits until the inventory consumer has processed it. */
  async function deliver<T extends EventType>(type: T, payload: EventPayloadInput<T>): Promise<string> {
    const id = randomUUID();
    await withTransaction(app.deps.db, (t) =>
      enqueueEvent(app.deps.db, t, {
        id,
        type,
        aggregateId: String((payload as { eventId?: string }).eventId),
        payload,
      }),
    );
    await waitFor(
      `${type} ${id} processed`,
      async () => (await query(app.deps, 'SELECT 1 FROM processed_events WHERE event_id = $1', [id])).length > 0,
    );
    return id;
  }

  async function state(eventId: string) {
    return {
      event: await query(
        app.deps,
        'SELECT event_id, title, status, reservation_minutes, max_seats_per_order, seq FROM events WHERE event_id = $1',
        [eventId],
      ),
      tiers: await query(
        app.deps,
        'SELECT tier_id, name, amount, currency FROM tiers WHERE event_id = $1 ORDER BY tier_id',
        [eventId],
      ),
      seats: await query(
        app.deps,
        'SELECT seat_id, label, section, row_label, tier_id, x, y, status, version FROM seats WHERE event_id = $1 ORDER BY seat_id',
        [eventId],
      ),
      areas: await query(
        app.deps,
        'SELECT area_id, name, tier_id, capacity, held, sold FROM ga_areas WHERE event_id = $1',
        [eventId],
      ),
    };
  }

  it('event.published materialises seats, GA counters and prices; delivering it twice leaves the same rows', async () => {
    const ev = eventPayload({ seats: 30, ga: 200, maxSeatsPerOrder: 8, reservationMinutes: 12 });
    await deliver('event.published', ev);
    const first = await state(ev.eventId);
    expect(first.event).to.deep.equal([
      {
        event_id: ev.eventId,
        title: 'Test night',
        status: 'published',
        reservation_minutes: 12,
        max_seats_per_order: 8,
        seq: '0',
      },
    ]);
    expect(first.seats).to.have.length(30);
    expect(first.seats[0]).to.deep.equal({
      seat_id: 's001',
      label: 'A1',
      section: 'Stalls',
      row_label: 'A',
      tier_id: 'vip',
      x: 0,
      y: 0,
      status: 'available',
      version: 0,
    });
    expect(first.tiers).to.deep.equal([
      { tier_id: 'std', name: 'Standard', amount: '4550', currency: 'EUR' },
      { tier_id: 'vip', name: 'VIP', amount: '12000', currency: 'EUR' },
    ]);
    expect(first.areas).to.deep.equal([
      { area_id: 'floor', name: 'Floor', tier_id: 'std', capacity: 200, held: 0, sold: 0 },
    ]);

    await deliver('event.published', ev); // a second delivery (a new message id, so the bus does not dedupe it)
    expect(await state(ev.eventId)).to.deep.equal(first);

    // A later publication that adds seats inserts only those and announces them as a change.
    const extended = {
      ...ev,
      seats: [...ev.seats, { seatId: 's999', label: 'Z1', section: 'Balcony', row: 'Z', tierId: 'std', x: 1, y: 2 }],
    };
    await deliver('event.published', extended);
    // the change is numbered after its transaction commits (the sequencer), then events.seq is 1
    await waitFor('the added seats numbered as change 1', async () => (await state(ev.eventId)).event[0].seq === '1');
    const after = await state(ev.eventId);
    expect(after.seats).to.have.length(31);
    const [change] = await query(app.deps, 'SELECT change FROM availability_changes WHERE event_id = $1', [ev.eventId]);
    expect(change.change.seats).to.deep.equal({ s999: 'available' });
  });

  it('a malformed event.published (a renamed field) goes to the dead-letter stream before the handler and writes nothing', async () => {
    // Written to the outbox directly: enqueueEvent would refuse it at the producer already.
    const id = randomUUID();
    const { tiers, ...rest } = eventPayload({ seats: 2 });
    const payload = { ...rest, eventId: `bad-${id}`, priceTiers: tiers };
    await query(
      app.deps,
      "INSERT INTO outbox (event_id, type, aggregate_id, payload, headers, occurred_at) VALUES ($1, 'event.published', $2, $3, '{}', now())",
      [id, payload.eventId, JSON.stringify(payload)],
    );
    const dead = await waitFor('the message in the dead-letter stream', async () => {
      const entries = await app.deps.redis[0]!.xrange(deadStreamKey(config.REDIS_PREFIX), '-', '+');
      const fields = entries.map(
        ([, f]) => Object.fromEntries(f.flatMap((v, i) => (i % 2 ? [] : [[v, f[i + 1]!]]))) as Record<string, string>,
      );
      return fields.find((f) => f.event?.includes(id));
    });
    expect(dead.error).to.match(/tiers/);
    expect(await query(app.deps, 'SELECT 1 FROM events WHERE event_id = $1', [payload.eventId])).to.have.length(0);
    expect(await query(app.deps, 'SELECT 1 FROM processed_events WHERE event_id = $1', [id])).to.have.length(0);
  });

  it('event.cancelled voids every seat, releases active holds (hold.released), zeroes GA, and is announced live', async () => {
    const ev = eventPayload({ seats: 10, ga: 50 });
    await deliver('event.published', ev);
    const active = (
      await app.call('POST', '/api/holds', {
        as: buyer('u1'),
        body: { eventId: ev.eventId, seats: ['s001'], ga: [{ areaId: 'floor', quantity: 2 }] },
      })
    ).body;
    const sold = (
      await app.call('POST', '/api/holds', { as: buyer('u2'), body: { eventId: ev.eventId, seats: ['s002'] } })
    ).body;
    await app.call('POST', `/internal/holds/${sold.id}/confirm`, { as: ordersService, body: { orderId: 'o-1' } });
    const live = await openSse(`${app.url}/api/events/${ev.eventId}/availability/stream`);
    const snapshot = await live.next();

    await deliver('event.cancelled', { eventId: ev.eventId });
    const cancelledChange = await live.next();
    live.close();
    expect(cancelledChange.event).to.equal('changes');
    expect(Number(cancelledChange.id)).to.equal(snapshot.data.seq + 1);
    expect(cancelledChange.data).to.have.length(1);
    expect(cancelledChange.data[0].status).to.equal('cancelled');
    expect(Object.keys(cancelledChange.data[0].seats)).to.have.length(10);

    const seats = await query(app.deps, 'SELECT DISTINCT status FROM seats WHERE event_id = $1', [ev.eventId]);
    expect(seats).to.deep.equal([{ status: 'void' }]);
    const holds = await query(
      app.deps,
      'SELECT hold_id, status, end_reason FROM holds WHERE event_id = $1 ORDER BY created_at',
      [ev.eventId],
    );
    expect(holds).to.deep.equal([
      { hold_id: active.id, status: 'released', end_reason: 'event-cancelled' },
      { hold_id: sold.id, status: 'confirmed', end_reason: null },
    ]);
    const released = await query(
      app.deps,
      "SELECT payload FROM outbox WHERE aggregate_id = $1 AND type = 'hold.released'",
      [active.id],
    );
    expect(released.map((r) => r.payload)).to.deep.equal([
      { holdId: active.id, eventId: ev.eventId, userId: 'u1', seats: ['s001'], ga: [{ areaId: 'floor', quantity: 2 }] },
    ]);
    const snap = (await app.call('GET', `/api/events/${ev.eventId}/availability`)).body;
    expect(snap.status).to.equal('cancelled');
    expect(snap.ga[0].remaining).to.equal(0);
    const refused = await app.call('POST', '/api/holds', {
      as: buyer('u3'),
      body: { eventId: ev.eventId, ga: [{ areaId: 'floor', quantity: 1 }] },
    });
    expect([refused.status, refused.body.type]).to.deep.equal([
      409,
      'https://eventtickets.dev/problems/event-cancelled',
    ]);

    // A second cancellation changes nothing.
    await deliver('event.cancelled', { eventId: ev.eventId });
    expect((await app.call('GET', `/api/events/${ev.eventId}/availability`)).body.seq).to.equal(snap.seq);
  });

  it('a cancellation that arrives while a hold is being written waits for it and releases it too', async () => {
    const ev = eventPayload({ seats: 4, ga: 20 });
    await deliver('event.published', ev);
    let atCommit!: () => void;
    const writing = new Promise<void>((resolve) => {
      atCommit = resolve;
    });
    let resume!: () => void;
    const gate = new Promise<void>((resolve) => {
      resume = resolve;
    });
    // A replica whose hold transaction pauses after its writes, before its commit (its row locks held).
    const slow = await startInstance(config, {
      hooks: {
        beforeCommit: async () => {
          atCommit();
          await gate;
        },
      },
    });
    try {
      const holding = slow.call('POST', '/api/holds', {
        as: buyer('u1'),
        body: { eventId: ev.eventId, seats: ['s001'], ga: [{ areaId: 'floor', quantity: 2 }] },
      });
      await writing;
      const handler = catalogEventHandler(app.deps.db, app.deps.logger, app.deps.hub.publish);
      const cancel = {
        id: randomUUID(),
        type: 'event.cancelled',
        aggregateId: ev.eventId,
        payload: { eventId: ev.eventId },
        occurredAt: new Date().toISOString(),
        headers: {},
      } as CatalogueEvent<'event.cancelled'>;
      const cancelling = withTransaction(app.deps.db, (t) => handler(cancel, t));
      // The cancellation is blocked behind the hold transaction before the hold may commit.
      await waitFor(
        'the cancellation waiting on a lock',
        async () =>
          (
            await query(
              app.deps,
              "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
          ).length > 0,
      );
      resume();
      const [hold] = await Promise.all([holding, cancelling]);
      expect(hold.status, JSON.stringify(hold.body)).to.equal(201);

      const holds = await query(app.deps, 'SELECT hold_id, status, end_reason FROM holds WHERE event_id = $1', [
        ev.eventId,
      ]);
      expect(holds).to.deep.equal([{ hold_id: hold.body.id, status: 'released', end_reason: 'event-cancelled' }]);
      expect(
        await query(app.deps, 'SELECT DISTINCT status, hold_id FROM seats WHERE event_id = $1', [ev.eventId]),
      ).to.deep.equal([{ status: 'void', hold_id: null }]);
      expect(await query(app.deps, 'SELECT held, sold FROM ga_areas WHERE event_id = $1', [ev.eventId])).to.deep.equal([
        { held: 0, sold: 0 },
      ]);
      const released = await query(
        app.deps,
        "SELECT 1 FROM outbox WHERE aggregate_id = $1 AND type = 'hold.released'",
        [hold.body.id],
      );
      expect(released).to.have.length(1);
      // Nothing is left for the sweeper to trip over: the hold can no longer be confirmed.
      const confirm = await app.call('POST', `/internal/holds/${hold.body.id}/confirm`, {
        as: ordersService,
        body: { orderId: 'o-late' },
      });
      expect([confirm.status, confirm.body.type]).to.deep.equal([
        409,
        'https://eventtickets.dev/problems/hold-released',
      ]);
    } finally {
      resume();
      await slow.stop();
    }
  });

  it('an event.cancelled handled before its event.published wins: the late publication materialises a cancelled event', async () => {
    const ev = eventPayload({ seats: 4, ga: 20 });
    await deliver('event.cancelled', { eventId: ev.eventId }); // e.g. the publication's delivery failed and is retried later
    expect(await query(app.deps, 'SELECT 1 FROM events WHERE event_id = $1', [ev.eventId])).to.have.length(0);
    await deliver('event.published', ev);
    const snap = (await app.call('GET', `/api/events/${ev.eventId}/availability`)).body;
    expect(snap.status).to.equal('cancelled');
    expect(Object.values(snap.seats)).to.deep.equal(['void', 'void', 'void', 'void']);
    expect(snap.ga.map((g: { remaining: number }) => g.remaining)).to.deep.equal([0]);
    const refused = await app.call('POST', '/api/holds', {
      as: buyer('u1'),
      body: { eventId: ev.eventId, seats: ['s001'] },
    });
    expect([refused.status, refused.body.type]).to.deep.equal([
      409,
      'https://eventtickets.dev/problems/event-cancelled',
    ]);

    // A publication after the cancellation that adds a seat adds it void, and says so live.
    await deliver('event.published', {
      ...ev,
      seats: [...ev.seats, { seatId: 's999', label: 'Z1', section: null, row: null, tierId: 'std', x: null, y: null }],
    });
    const [seat] = await query(app.deps, "SELECT status FROM seats WHERE event_id = $1 AND seat_id = 's999'", [
      ev.eventId,
    ]);
    expect(seat.status).to.equal('void');
    const [change] = await query(
      app.deps,
      'SELECT change FROM availability_changes WHERE event_id = $1 ORDER BY seq DESC LIMIT 1',
      [ev.eventId],
    );
    expect(change.change.seats).to.deep.equal({ s999: 'void' });
  });
});
