// Orders from holds through HTTP, against the real inventory (in-process) and real Postgres/Redis: pricing from
// the hold (snapshot, fee, tax), Idempotency-Key, ownership, one order per hold, order.created, reads.
import { expect } from 'chai';
import { buyer, eventsOf, hold, key, publishEvent, query, startStack, type Stack } from './helpers.ts';

describe('orders: create and read (real inventory, Postgres, Redis)', function () {
  let stack: Stack;

  before(async function () {
    stack = await startStack(this);
  });
  after(async () => {
    await stack?.stop();
  });

  it('prices an order from the hold (seats and GA, service fee per ticket, tax included) and emits order.created', async () => {
    const ev = await publishEvent(stack, { seats: 20, ga: 50, serviceFee: 150, taxRate: 20 });
    const user = buyer();
    const h = await hold(stack, user, {
      eventId: ev.eventId,
      seats: ['s001', 's012'],
      ga: [{ areaId: 'floor', quantity: 2 }],
    });
    const res = await stack.orders.call('POST', '/api/orders', {
      as: user,
      body: { holdId: h.id },
      headers: { 'Idempotency-Key': key() },
    });
    expect(res.status).to.equal(201);
    const order = res.body;
    expect(res.headers.get('location')).to.equal(`/api/orders/${order.id}`);
    expect(order).to.include({
      userId: user.userId,
      eventId: ev.eventId,
      holdId: h.id,
      status: 'pending',
      currency: 'EUR',
    });
    // s001 is VIP (12000), s012 standard (4550), 2 GA standard places (4550 each); 4 tickets x 150 fee
    expect(order.lines.map((l: any) => [l.kind, l.tierId, l.quantity, l.unitAmount, l.amount])).to.deep.equal([
      ['seat', 'vip', 1, 12000, 12000],
      ['seat', 'std', 1, 4550, 4550],
      ['ga', 'std', 2, 4550, 9100],
    ]);
    expect(order.fees).to.deep.equal([{ description: 'Service fee', amount: 600 }]);
    expect(order.amount).to.equal(12000 + 4550 + 9100 + 600);
    expect(order.tax).to.deep.equal({
      description: 'Tax included',
      rate: 20,
      amount: Math.round((order.amount * 20) / 120),
    });
    expect(order.totals).to.deep.equal([{ amount: order.amount, currency: 'EUR' }]);
    expect(order.expiresAt).to.equal(new Date(h.expiresAt).toISOString());
    const events = await eventsOf(stack.orders.deps, order.id);
    expect(events).to.deep.equal([
      {
        type: 'order.created',
        payload: { orderId: order.id, userId: user.userId, eventId: ev.eventId, holdId: h.id, totals: order.totals },
      },
    ]);
  });

  it('keeps the price snapshot: a later price change in inventory does not touch the order', async () => {
    const ev = await publishEvent(stack, { seats: 20 });
    const user = buyer();
    const h = await hold(stack, user, { eventId: ev.eventId, seats: ['s015'] });
    const created = await stack.orders.call('POST', '/api/orders', { as: user, body: { holdId: h.id } });
    expect(created.status).to.equal(201);
    await query(stack.inventory.deps, 'UPDATE tiers SET amount = amount * 2 WHERE event_id = $1', [ev.eventId]);
    const res = await stack.orders.call('GET', `/api/orders/${created.body.id}`, { as: user });
    expect(res.status).to.equal(200);
    expect(res.body.amount).to.equal(4550);
    expect(res.body.lines[0].unitAmount).to.equal(4550);
  });

  it('Idempotency-Key: a retry answers the first order; the same key for another hold is 422 and changes nothing', async () => {
    const ev = await publishEvent(stack, { seats: 20 });
    const user = buyer();
    const h1 = await hold(stack, user, { eventId: ev.eventId, seats: ['s013'] });
    const h2 = await hold(stack, user, { eventId: ev.eventId, seats: ['s014'] });
    const k = key();
    const first = await stack.orders.call('POST', '/api/orders', {
      as: user,
      body: { holdId: h1.id },
      headers: { 'Idempotency-Key': k },
    });
    const again = await stack.orders.call('POST', '/api/orders', {
      as: user,
      body: { holdId: h1.id },
      headers: { 'Idempotency-Key': k },
    });
    expect(first.status).to.equal(201);
    expect(again.status).to.equal(201);
    expect(again.headers.get('idempotent-replayed')).to.equal('true');
    expect(again.body.id).to.equal(first.body.id);
    const other = await stack.orders.call('POST', '/api/orders', {
      as: user,
      body: { holdId: h2.id },
      headers: { 'Idempotency-Key': k },
    });
    expect(other.status).to.equal(422);
    expect(other.body.type).to.match(/idempotency-key-reused$/);
    const rows = await query(stack.orders.deps, 'SELECT order_id FROM orders WHERE hold_id = ANY($1)', [
      [h1.id, h2.id],
    ]);
    expect(rows).to.have.length(1);
  });

  it('one order per hold: a second order (without the key) is 409 naming the first', async () => {
    const ev = await publishEvent(stack, { seats: 20 });
    const user = buyer();
    const h = await hold(stack, user, { eventId: ev.eventId, seats: ['s016'] });
    const first = await stack.orders.call('POST', '/api/orders', { as: user, body: { holdId: h.id } });
    const second = await stack.orders.call('POST', '/api/orders', { as: user, body: { holdId: h.id } });
    expect(first.status).to.equal(201);
    expect(second.status).to.equal(409);
    expect(second.body).to.include({ orderId: first.body.id });
    expect(second.body.type).to.match(/order-exists-for-hold$/);
  });

  it("another buyer's hold, an unknown hold and a released hold are refused and create nothing", async () => {
    const ev = await publishEvent(stack, { seats: 20 });
    const owner = buyer();
    const thief = buyer();
    const h = await hold(stack, owner, { eventId: ev.eventId, seats: ['s017'] });
    const stolen = await stack.orders.call('POST', '/api/orders', { as: thief, body: { holdId: h.id } });
    expect(stolen.status).to.equal(404);
    expect(stolen.body.type).to.match(/hold-not-found$/);
    const unknown = await stack.orders.call('POST', '/api/orders', {
      as: owner,
      body: { holdId: '00000000-0000-4000-8000-000000000000' },
    });
    expect(unknown.status).to.equal(404);
    const notAnId = await stack.orders.call('POST', '/api/orders', { as: owner, body: { holdId: 'nope' } });
    expect(notAnId.status).to.equal(404);
    const released = await stack.inventory.call('DELETE', `/api/holds/${h.id}`, { as: owner });
    expect(released.status).to.equal(204);
    const late = await stack.orders.call('POST', '/api/orders', { as: owner, body: { holdId: h.id } });
    expect(late.status).to.equal(409);
    expect(late.body.type).to.match(/hold-not-active$/);
    const bad = await stack.orders.call('POST', '/api/orders', { as: owner, body: { holdId: h.id, extra: 1 } });
    expect(bad.status).to.equal(400);
    const anonymous = await stack.orders.call('POST', '/api/orders', { body: { holdId: h.id } });
    expect(anonymous.status).to.equal(401);
    expect(await query(stack.orders.deps, 'SELECT 1 FROM orders WHERE hold_id = $1', [h.id])).to.have.length(0);
  });

  it('reads: the owner gets the order and the list, another user 404 and an empty list', async () => {
    const ev = await publishEvent(stack, { seats: 20 });
    const user = buyer();
    const h = await hold(stack, user, { eventId: ev.eventId, seats: ['s018'] });
    const created = await stack.orders.call('POST', '/api/orders', { as: user, body: { holdId: h.id } });
    const mine = await stack.orders.call('GET', `/api/orders/${created.body.id}`, { as: user });
    expect(mine.status).to.equal(200);
    expect(mine.body).to.deep.equal(created.body);
    const theirs = await stack.orders.call('GET', `/api/orders/${created.body.id}`, { as: buyer() });
    expect(theirs.status).to.equal(404);
    expect(theirs.body.type).to.match(/order-not-found$/);
    const list = await stack.orders.call('GET', '/api/orders', { as: user });
    expect(list.status).to.equal(200);
    expect(list.body.items.map((o: any) => o.id)).to.deep.equal([created.body.id]);
    const empty = await stack.orders.call('GET', '/api/orders', { as: buyer() });
    expect(empty.body.items).to.deep.equal([]);
  });
});
