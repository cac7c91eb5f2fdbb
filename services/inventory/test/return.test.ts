// POST /internal/holds/{id}/return: a cancelled order's sold seats and GA places go back on sale once per
// order, announced on the live map; only svc:orders may call it.
import { expect } from 'chai';
import { openSse } from '@eventtickets/platform/testing';
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

describe('inventory: returning a cancelled order’s places (internal)', function () {
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

  async function soldHold(orderId: string) {
    const ev = eventPayload({ seats: 10, ga: 20 });
    await publishEvent(app.deps, ev);
    const hold = await app.call('POST', '/api/holds', {
      as: buyer('u1'),
      body: { eventId: ev.eventId, seats: ['s001', 's002'], ga: [{ areaId: 'floor', quantity: 3 }] },
    });
    expect(hold.status).to.equal(201);
    const ok = await app.call('POST', `/internal/holds/${hold.body.id}/confirm`, {
      as: ordersService,
      body: { orderId },
    });
    expect(ok.status).to.equal(200);
    return { ev, holdId: hold.body.id as string };
  }

  it('sold seats and GA places become available once, shown on the live map; again changes nothing', async () => {
    const { ev, holdId } = await soldHold('o-1');
    const before = (await app.call('GET', `/api/events/${ev.eventId}/availability`)).body;
    expect(before.seats.s001).to.equal('sold');
    expect(before.ga[0].remaining).to.equal(17);
    const live = await openSse(`${app.url}/api/events/${ev.eventId}/availability/stream`);
    await live.next(); // snapshot
    const res = await app.call('POST', `/internal/holds/${holdId}/return`, {
      as: ordersService,
      body: { orderId: 'o-1' },
    });
    expect(res.status).to.equal(200);
    expect(res.body.status).to.equal('confirmed');
    const change = await live.next();
    live.close();
    expect([change.event, change.data.length]).to.deep.equal(['changes', 1]);
    expect(change.data[0].seats).to.deep.equal({ s001: 'available', s002: 'available' });
    expect(change.data[0].ga).to.deep.equal([{ areaId: 'floor', remaining: 20 }]);
    const again = await app.call('POST', `/internal/holds/${holdId}/return`, {
      as: ordersService,
      body: { orderId: 'o-1' },
    });
    expect(again.status).to.equal(200);
    const after = (await app.call('GET', `/api/events/${ev.eventId}/availability`)).body;
    expect(after.seats.s001).to.equal('available');
    expect(after.seats.s002).to.equal('available');
    const seatRows = await query(app.deps, 'SELECT hold_id FROM seats WHERE event_id = $1 AND seat_id = $2', [
      ev.eventId,
      's001',
    ]);
    expect(seatRows).to.deep.equal([{ hold_id: null }]);
    expect(after.ga[0].remaining).to.equal(20);
    const area = await query(app.deps, 'SELECT sold, held FROM ga_areas WHERE event_id = $1', [ev.eventId]);
    expect(area).to.deep.equal([{ sold: 0, held: 0 }]);
    // the seats can be held again by someone else
    const next = await app.call('POST', '/api/holds', {
      as: buyer('u2'),
      body: { eventId: ev.eventId, seats: ['s001'] },
    });
    expect(next.status).to.equal(201);
  });

  it('another order is 409, an active hold 409 hold-not-confirmed, a user 403, nothing returned', async () => {
    const { ev, holdId } = await soldHold('o-2');
    const other = await app.call('POST', `/internal/holds/${holdId}/return`, {
      as: ordersService,
      body: { orderId: 'o-x' },
    });
    expect(other.status).to.equal(409);
    expect(other.body.type).to.match(/hold-confirmed-for-other-order$/);
    const user = await app.call('POST', `/internal/holds/${holdId}/return`, {
      as: buyer('u1'),
      body: { orderId: 'o-2' },
    });
    expect(user.status).to.equal(403);
    const active = await app.call('POST', '/api/holds', {
      as: buyer('u3'),
      body: { eventId: ev.eventId, seats: ['s005'] },
    });
    const notConfirmed = await app.call('POST', `/internal/holds/${active.body.id}/return`, {
      as: ordersService,
      body: { orderId: 'o-2' },
    });
    expect(notConfirmed.status).to.equal(409);
    expect(notConfirmed.body.type).to.match(/hold-not-confirmed$/);
    const seats = (await app.call('GET', `/api/events/${ev.eventId}/availability`)).body.seats;
    expect([seats.s001, seats.s002, seats.s005]).to.deep.equal(['sold', 'sold', 'held']);
  });
});
