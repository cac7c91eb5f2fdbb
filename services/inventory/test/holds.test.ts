// Holds through HTTP against real Postgres and Redis: creation with prices and expiry, every refusal
// (and that it changes nothing), ownership, release, confirm (idempotent), the outbox events, the snapshot.
import { expect } from 'chai';
import type { InventoryConfig } from '../src/config.ts';
import {
  buyer,
  dropDatabase,
  eventPayload,
  ordersService,
  publishEvent,
  query,
  startInstance,
  suiteConfig,
  type Instance,
} from './helpers.ts';

describe('inventory: holds (real Postgres + Redis)', function () {
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

  async function seatRows(eventId: string) {
    return query<{ seat_id: string; status: string; hold_id: string | null }>(
      app.deps,
      'SELECT seat_id, status, hold_id FROM seats WHERE event_id = $1 ORDER BY seat_id',
      [eventId],
    );
  }
  async function metricsText(): Promise<string> {
    return (await fetch(`${app.url}/metrics`)).text();
  }
  async function outbox(holdId: string) {
    return query<{ type: string; payload: any }>(
      app.deps,
      'SELECT type, payload FROM outbox WHERE aggregate_id = $1 ORDER BY seq',
      [holdId],
    );
  }

  it('holds seats and GA places for the signed-in user: 201 with expiry, prices, totals, and hold.created', async () => {
    const ev = eventPayload({ seats: 20, ga: 100, reservationMinutes: 7 });
    await publishEvent(app.deps, ev);
    const before = await app.call('GET', `/api/events/${ev.eventId}/availability`);
    const res = await app.call('POST', '/api/holds', {
      as: buyer('u1'),
      body: { eventId: ev.eventId, seats: ['s012', 's001'], ga: [{ areaId: 'floor', quantity: 3 }] },
    });
    expect(res.status).to.equal(201);
    const hold = res.body;
    expect(res.headers.get('location')).to.equal(`/api/holds/${hold.id}`);
    expect(hold).to.include({ eventId: ev.eventId, userId: 'u1', status: 'active' });
    const minutes = (Date.parse(hold.expiresAt) - Date.parse(hold.createdAt)) / 60_000;
    expect(minutes).to.equal(7);
    expect(hold.seats.map((s: any) => [s.seatId, s.tierId, s.price])).to.deep.equal([
      ['s001', 'vip', { amount: 12000, currency: 'EUR' }],
      ['s012', 'std', { amount: 4550, currency: 'EUR' }],
    ]);
    expect(hold.ga).to.deep.equal([
      { areaId: 'floor', name: 'Floor', tierId: 'std', quantity: 3, price: { amount: 4550, currency: 'EUR' } },
    ]);
    expect(hold.totals).to.deep.equal([{ amount: 12000 + 4550 + 3 * 4550, currency: 'EUR' }]);

    const seats = await seatRows(ev.eventId);
    expect(seats.filter((s) => s.status === 'held').map((s) => [s.seat_id, s.hold_id])).to.deep.equal([
      ['s001', hold.id],
      ['s012', hold.id],
    ]);
    const [ga] = await query(app.deps, 'SELECT held, sold FROM ga_areas WHERE event_id = $1', [ev.eventId]);
    expect(ga).to.deep.equal({ held: 3, sold: 0 });
    const events = await outbox(hold.id);
    expect(events).to.deep.equal([
      {
        type: 'hold.created',
        payload: {
          holdId: hold.id,
          eventId: ev.eventId,
          userId: 'u1',
          seats: ['s001', 's012'],
          ga: [{ areaId: 'floor', quantity: 3 }],
        },
      },
    ]);

    const after = await app.call('GET', `/api/events/${ev.eventId}/availability`);
    expect(after.body.seq).to.equal(before.body.seq + 1);
    expect(after.body.seats.s001).to.equal('held');
    expect(after.body.seats.s002).to.equal('available');
    expect(after.body.ga).to.deep.equal([
      { areaId: 'floor', name: 'Floor', tierId: 'std', capacity: 100, remaining: 97 },
    ]);
    expect(after.body.tiers).to.deep.equal([
      { tierId: 'std', name: 'Standard', amount: 4550, currency: 'EUR' },
      { tierId: 'vip', name: 'VIP', amount: 12000, currency: 'EUR' },
    ]);
    expect(after.body.eventId).to.equal(ev.eventId);
    expect(after.body.status).to.equal('published');
    expect(after.headers.get('content-type')).to.match(/^application\/json/);
  });

  it('refuses bad input with a clear 4xx and changes nothing', async () => {
    const ev = eventPayload({ seats: 10, ga: 5, maxSeatsPerOrder: 4 });
    await publishEvent(app.deps, ev);
    const cases: [unknown, number, string][] = [
      [{ eventId: ev.eventId }, 400, 'validation-error'],
      [{ eventId: ev.eventId, seats: ['s001'], extra: 1 }, 400, 'validation-error'],
      [{ eventId: ev.eventId, seats: [] }, 400, 'validation-error'],
      [{ eventId: ev.eventId, seats: ['s001', 's001'] }, 400, 'validation-error'],
      [{ eventId: ev.eventId, ga: [{ areaId: 'floor', quantity: 0 }] }, 400, 'validation-error'],
      [
        {
          eventId: ev.eventId,
          ga: [
            { areaId: 'floor', quantity: 1 },
            { areaId: 'floor', quantity: 1 },
          ],
        },
        400,
        'validation-error',
      ],
      [
        { eventId: ev.eventId, seats: ['s001', 's002', 's003'], ga: [{ areaId: 'floor', quantity: 2 }] },
        422,
        'too-many-seats',
      ],
      [{ eventId: ev.eventId, seats: ['s001', 'nope'] }, 422, 'unknown-seats'],
      [{ eventId: ev.eventId, ga: [{ areaId: 'balcony', quantity: 1 }] }, 422, 'unknown-areas'],
      [{ eventId: 'no-such-event', seats: ['s001'] }, 404, 'event-not-found'],
    ];
    for (const [body, status, slug] of cases) {
      const res = await app.call('POST', '/api/holds', { as: buyer('u1'), body });
      expect(res.status, JSON.stringify(body)).to.equal(status);
      expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
      expect(res.body.type).to.equal(`https://eventtickets.dev/problems/${slug}`);
    }
    const unknown = await app.call('POST', '/api/holds', {
      as: buyer('u1'),
      body: { eventId: ev.eventId, seats: ['s001', 'nope'] },
    });
    expect(unknown.body.unknownSeats).to.deep.equal(['nope']);
    const anonymous = await app.call('POST', '/api/holds', { body: { eventId: ev.eventId, seats: ['s001'] } });
    expect(anonymous.status).to.equal(401);
    expect((await seatRows(ev.eventId)).every((s) => s.status === 'available')).to.equal(true);
    expect(await query(app.deps, 'SELECT 1 FROM holds WHERE event_id = $1', [ev.eventId])).to.have.length(0);
    expect((await app.call('GET', `/api/events/${ev.eventId}/availability`)).body.seq).to.equal(0);
  });

  it('respects the sales window', async () => {
    const early = eventPayload({ salesStartAt: new Date(Date.now() + 3_600_000).toISOString() });
    const late = eventPayload({ salesEndAt: new Date(Date.now() - 60_000).toISOString() });
    await publishEvent(app.deps, early);
    await publishEvent(app.deps, late);
    const a = await app.call('POST', '/api/holds', {
      as: buyer('u1'),
      body: { eventId: early.eventId, seats: ['s001'] },
    });
    expect([a.status, a.body.type]).to.deep.equal([409, 'https://eventtickets.dev/problems/sales-not-open']);
    const b = await app.call('POST', '/api/holds', {
      as: buyer('u1'),
      body: { eventId: late.eventId, seats: ['s001'] },
    });
    expect([b.status, b.body.type]).to.deep.equal([409, 'https://eventtickets.dev/problems/sales-closed']);
  });

  it('a conflict is a 409 naming exactly the seats that are gone, and holds nothing', async () => {
    const ev = eventPayload({ seats: 10 });
    await publishEvent(app.deps, ev);
    const first = await app.call('POST', '/api/holds', {
      as: buyer('u1'),
      body: { eventId: ev.eventId, seats: ['s002', 's003'] },
    });
    expect(first.status).to.equal(201);
    const second = await app.call('POST', '/api/holds', {
      as: buyer('u2'),
      body: { eventId: ev.eventId, seats: ['s001', 's003', 's004', 's002'] },
    });
    expect(second.status).to.equal(409);
    expect(second.body.type).to.equal('https://eventtickets.dev/problems/seats-unavailable');
    expect(second.body.unavailableSeats).to.deep.equal(['s002', 's003']);
    const held = (await seatRows(ev.eventId)).filter((s) => s.status !== 'available');
    expect(held.map((s) => s.seat_id)).to.deep.equal(['s002', 's003']);
    expect(
      await query(app.deps, 'SELECT 1 FROM holds WHERE user_id = $1 AND event_id = $2', ['u2', ev.eventId]),
    ).to.have.length(0);
  });

  it('GET and DELETE are for the owner only; release frees the seats and emits hold.released', async () => {
    const ev = eventPayload({ seats: 10, ga: 10 });
    await publishEvent(app.deps, ev);
    const { body: hold } = await app.call('POST', '/api/holds', {
      as: buyer('owner'),
      body: { eventId: ev.eventId, seats: ['s005'], ga: [{ areaId: 'floor', quantity: 2 }] },
    });
    expect((await app.call('GET', `/api/holds/${hold.id}`, { as: buyer('owner') })).body.id).to.equal(hold.id);
    for (const method of ['GET', 'DELETE']) {
      const other = await app.call(method, `/api/holds/${hold.id}`, { as: buyer('intruder') });
      expect([other.status, other.body.type]).to.deep.equal([404, 'https://eventtickets.dev/problems/hold-not-found']);
    }
    expect((await app.call('GET', '/api/holds/not-a-uuid', { as: buyer('owner') })).status).to.equal(400);
    expect((await app.call('DELETE', `/api/holds/${hold.id}`, { as: buyer('owner') })).status).to.equal(204);
    expect((await app.call('DELETE', `/api/holds/${hold.id}`, { as: buyer('owner') })).status).to.equal(204); // idempotent
    const after = await app.call('GET', `/api/holds/${hold.id}`, { as: buyer('owner') });
    expect(after.body).to.include({ status: 'released', endReason: 'released' });
    expect((await seatRows(ev.eventId)).every((s) => s.status === 'available' && s.hold_id === null)).to.equal(true);
    const [ga] = await query(app.deps, 'SELECT held FROM ga_areas WHERE event_id = $1', [ev.eventId]);
    expect(ga.held).to.equal(0);
    expect((await outbox(hold.id)).map((e) => e.type)).to.deep.equal(['hold.created', 'hold.released']);
    // released seats can be held again
    expect(
      (await app.call('POST', '/api/holds', { as: buyer('u9'), body: { eventId: ev.eventId, seats: ['s005'] } }))
        .status,
    ).to.equal(201);
  });

  it('confirm needs an orderId: a confirm without one (or malformed) is a 400 that sells nothing', async () => {
    const ev = eventPayload({ seats: 5 });
    await publishEvent(app.deps, ev);
    const { body: hold } = await app.call('POST', '/api/holds', {
      as: buyer('u1'),
      body: { eventId: ev.eventId, seats: ['s001'] },
    });
    for (const body of [undefined, {}, { orderId: '' }, { orderId: 'o-1', extra: true }]) {
      const res = await app.call('POST', `/internal/holds/${hold.id}/confirm`, { as: ordersService, body });
      expect([res.status, res.body.type], JSON.stringify(body)).to.deep.equal([
        400,
        'https://eventtickets.dev/problems/validation-error',
      ]);
    }
    expect((await app.call('GET', `/internal/holds/${hold.id}`, { as: ordersService })).body).to.include({
      status: 'active',
      orderId: null,
    });
    expect((await seatRows(ev.eventId))[0]).to.include({ status: 'held', hold_id: hold.id });
    expect((await outbox(hold.id)).map((e) => e.type)).to.deep.equal(['hold.created']);
  });

  it('confirm sells the seats for one order, again with that order returns the same result, another order is 409; a confirmed hold cannot be released', async () => {
    const ev = eventPayload({ seats: 10, ga: 10 });
    await publishEvent(app.deps, ev);
    const { body: hold } = await app.call('POST', '/api/holds', {
      as: buyer('u1'),
      body: { eventId: ev.eventId, seats: ['s001', 's002'], ga: [{ areaId: 'floor', quantity: 2 }] },
    });
    const first = await app.call('POST', `/internal/holds/${hold.id}/confirm`, {
      as: ordersService,
      body: { orderId: 'order-1' },
    });
    expect(first.status).to.equal(200);
    expect(first.body).to.include({ status: 'confirmed', orderId: 'order-1' });
    const seqAfterFirst = (await app.call('GET', `/api/events/${ev.eventId}/availability`)).body.seq;
    const again = await app.call('POST', `/internal/holds/${hold.id}/confirm`, {
      as: ordersService,
      body: { orderId: 'order-1' },
    });
    expect(again.status).to.equal(200);
    expect(again.body).to.deep.equal(first.body);
    const other = await app.call('POST', `/internal/holds/${hold.id}/confirm`, {
      as: ordersService,
      body: { orderId: 'order-2' },
    });
    expect([other.status, other.body.type, other.body.holdStatus]).to.deep.equal([
      409,
      'https://eventtickets.dev/problems/hold-confirmed-for-other-order',
      'confirmed',
    ]);
    expect(
      (await app.call('GET', `/internal/holds/${hold.id}`, { as: ordersService })).body.orderId,
      'the other order changed nothing',
    ).to.equal('order-1');
    const release = await app.call('POST', `/internal/holds/${hold.id}/release`, { as: ordersService });
    expect([release.status, release.body.type]).to.deep.equal([
      409,
      'https://eventtickets.dev/problems/hold-confirmed',
    ]);
    expect((await seatRows(ev.eventId)).filter((s) => s.status === 'sold').map((s) => s.seat_id)).to.deep.equal([
      's001',
      's002',
    ]);
    const [ga] = await query(app.deps, 'SELECT held, sold FROM ga_areas WHERE event_id = $1', [ev.eventId]);
    expect(ga).to.deep.equal({ held: 0, sold: 2 });
    const events = await outbox(hold.id);
    expect(events.map((e) => e.type)).to.deep.equal(['hold.created', 'hold.confirmed']);
    expect(events[1]!.payload).to.deep.equal({
      holdId: hold.id,
      eventId: ev.eventId,
      userId: 'u1',
      seats: ['s001', 's002'],
      ga: [{ areaId: 'floor', quantity: 2 }],
      orderId: 'order-1',
    });
    expect(
      (await app.call('GET', `/api/events/${ev.eventId}/availability`)).body.seq,
      'repeats change no seat',
    ).to.equal(seqAfterFirst);
    expect((await app.call('GET', `/internal/holds/${hold.id}`, { as: ordersService })).body.userId).to.equal('u1');
    expect(
      (
        await app.call('POST', `/internal/holds/${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}/confirm`, {
          as: ordersService,
          body: { orderId: 'order-1' },
        })
      ).status,
    ).to.equal(404);
  });

  it('two orders confirming one hold at once: exactly one wins, the other is 409 hold-confirmed-for-other-order', async () => {
    const ev = eventPayload({ seats: 5 });
    await publishEvent(app.deps, ev);
    const { body: hold } = await app.call('POST', '/api/holds', {
      as: buyer('u1'),
      body: { eventId: ev.eventId, seats: ['s003'] },
    });
    const orders = ['race-a', 'race-b', 'race-a', 'race-b'];
    const results = await Promise.all(
      orders.map((orderId) =>
        app.call('POST', `/internal/holds/${hold.id}/confirm`, { as: ordersService, body: { orderId } }),
      ),
    );
    const [winner] = await query<{ order_id: string }>(app.deps, 'SELECT order_id FROM holds WHERE hold_id = $1', [
      hold.id,
    ]);
    results.forEach((res, i) => {
      if (orders[i] === winner!.order_id) expect([res.status, res.body.orderId]).to.deep.equal([200, winner!.order_id]);
      else
        expect([res.status, res.body.type]).to.deep.equal([
          409,
          'https://eventtickets.dev/problems/hold-confirmed-for-other-order',
        ]);
    });
    expect(
      await query(app.deps, "SELECT 1 FROM outbox WHERE aggregate_id = $1 AND type = 'hold.confirmed'", [hold.id]),
    ).to.have.length(1);
  });

  it('a released hold cannot be confirmed', async () => {
    const ev = eventPayload({ seats: 5 });
    await publishEvent(app.deps, ev);
    const { body: hold } = await app.call('POST', '/api/holds', {
      as: buyer('u1'),
      body: { eventId: ev.eventId, seats: ['s001'] },
    });
    const released = await app.call('POST', `/internal/holds/${hold.id}/release`, { as: ordersService });
    expect(released.body.status).to.equal('released');
    const confirm = await app.call('POST', `/internal/holds/${hold.id}/confirm`, {
      as: ordersService,
      body: { orderId: 'order-late' },
    });
    expect([confirm.status, confirm.body.type]).to.deep.equal([409, 'https://eventtickets.dev/problems/hold-released']);
    expect((await seatRows(ev.eventId))[0]!.status).to.equal('available');
  });

  it('takes Redlock seat locks over all configured Redis masters: a majority held elsewhere waits briefly, then the database decides (201 or 409, never 503); a minority is not busy', async () => {
    const ev = eventPayload({ seats: 5 });
    await publishEvent(app.deps, ev);
    expect(app.deps.redis).to.have.length(3);
    const key = (seat: string) => `${config.REDIS_PREFIX}lock:seat:${ev.eventId}:${seat}`;
    const before = await metricsText();
    // Another replica's lock on s001, on masters 2 and 3 (a quorum of 3), that outlives the request's retries:
    // the seats are free in the database, so the hold is granted there (the lock only sheds contention).
    await Promise.all(app.deps.redis.slice(1).map((r) => r.set(key('s001'), 'elsewhere', 'PX', 60_000)));
    const busy = await app.call('POST', '/api/holds', {
      as: buyer('u1'),
      body: { eventId: ev.eventId, seats: ['s002', 's001'] },
    });
    expect(busy.status).to.equal(201);
    expect((await seatRows(ev.eventId)).filter((s) => s.status === 'held').map((s) => s.seat_id)).to.deep.equal([
      's001',
      's002',
    ]);
    expect(await app.deps.redis[1]!.get(key('s002')), 'the locks taken so far are given back').to.equal(null);
    const after = await metricsText();
    expect(
      metricValue(after, 'inventory_hold_conflicts_total', 'reason="lock-busy"') -
        metricValue(before, 'inventory_hold_conflicts_total', 'reason="lock-busy"'),
    ).to.equal(1);
    expect(
      metricValue(after, 'inventory_lock_wait_seconds_count') -
        metricValue(before, 'inventory_lock_wait_seconds_count'),
    ).to.equal(1);
    await app.call('DELETE', `/api/holds/${busy.body.id}`, { as: buyer('u1') });

    // Only one master still has it (say the others restarted): two of three votes are enough for this replica.
    await app.deps.redis[2]!.del(key('s001'));
    const granted = await app.call('POST', '/api/holds', {
      as: buyer('u1'),
      body: { eventId: ev.eventId, seats: ['s001', 's002'] },
    });
    expect(granted.status).to.equal(201);
    await app.deps.redis[1]!.del(key('s001'));

    // Locked elsewhere and already gone: the answer names the real conflict instead of asking for a retry.
    await Promise.all(app.deps.redis.map((r) => r.set(key('s002'), 'elsewhere', 'PX', 60_000)));
    const gone = await app.call('POST', '/api/holds', {
      as: buyer('u2'),
      body: { eventId: ev.eventId, seats: ['s002', 's003'] },
    });
    expect([gone.status, gone.body.type, gone.body.unavailableSeats]).to.deep.equal([
      409,
      'https://eventtickets.dev/problems/seats-unavailable',
      ['s002'],
    ]);
    await Promise.all(app.deps.redis.map((r) => r.del(key('s002'))));
  });

  it('counts holds created and conflicts, and reports the active holds from the database', async () => {
    const ev = eventPayload({ seats: 5 });
    await publishEvent(app.deps, ev);
    const before = await metricsText();
    for (const name of [
      'inventory_holds_created_total',
      'inventory_hold_conflicts_total',
      'inventory_holds_expired_total',
      'inventory_lock_wait_seconds_bucket',
      'inventory_active_holds',
      'inventory_sse_clients',
    ]) {
      expect(before).to.include(name);
    }
    expect(
      (await app.call('POST', '/api/holds', { as: buyer('m1'), body: { eventId: ev.eventId, seats: ['s001'] } }))
        .status,
    ).to.equal(201);
    expect(
      (await app.call('POST', '/api/holds', { as: buyer('m2'), body: { eventId: ev.eventId, seats: ['s001'] } }))
        .status,
    ).to.equal(409);
    const after = await metricsText();
    expect(
      metricValue(after, 'inventory_holds_created_total') - metricValue(before, 'inventory_holds_created_total'),
    ).to.equal(1);
    expect(
      metricValue(after, 'inventory_hold_conflicts_total', 'reason="seats-unavailable"') -
        metricValue(before, 'inventory_hold_conflicts_total', 'reason="seats-unavailable"'),
    ).to.equal(1);
    // a refusal answered by the taken-seats view takes no lock (whether the view had loaded the event by then
    // depends on the machine's speed; each refusal is counted one way or the other)
    const fromView =
      metricValue(after, 'inventory_hold_refusals_from_view_total') -
      metricValue(before, 'inventory_hold_refusals_from_view_total');
    expect(
      metricValue(after, 'inventory_lock_wait_seconds_count') -
        metricValue(before, 'inventory_lock_wait_seconds_count'),
    ).to.equal(2 - fromView);
    const [active] = await query(
      app.deps,
      "SELECT count(*)::int AS n FROM holds WHERE status = 'active' AND expires_at > now()",
    );
    expect(metricValue(after, 'inventory_active_holds')).to.equal(active.n).and.to.be.greaterThan(0);
  });
});

/** A sample's value in Prometheus text (0 when absent); `labels` must appear inside the sample's braces. */
function metricValue(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}
