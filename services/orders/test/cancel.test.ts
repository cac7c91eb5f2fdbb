// Slice 4 through the real inventory and payments (in-process) and real Postgres/Redis: the buyer's cancel
// (refund in payments, tickets void, seats back on the live map, Idempotency-Key replay, the refund deadline),
// a pending order's cancel, event.cancelled refunding every confirmed order once, the receipt (JSON and HTML)
// and an event's sales.
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { enqueueEvent, withTransaction } from '@eventtickets/platform';
import { waitFor, type TestIdentity } from '@eventtickets/platform/testing';
import {
  buyer,
  card,
  eventsOf,
  inventory,
  key,
  orderOf,
  publishEvent,
  query,
  startInstance,
  startStack,
  type Instance,
  type Stack,
} from './helpers.ts';

describe('orders: cancellation, refunds, receipt and sales (real inventory, payments, Postgres, Redis)', function () {
  let stack: Stack;
  const organizer: TestIdentity = { userId: 'org-1', role: 'organizer' };

  before(async function () {
    stack = await startStack(this);
  });
  after(async () => {
    await stack?.stop();
  });

  async function purchase(eventId: string, seats: string[], user = buyer()) {
    const { order } = await orderOf(stack, user, eventId, seats);
    const paid = await stack.orders.call('POST', `/api/orders/${order.id}/pay`, {
      as: user,
      body: { paymentMethodId: await card(stack, user) },
    });
    expect(paid.status).to.equal(200);
    expect(paid.body.status).to.equal('confirmed');
    return { user, order: paid.body };
  }
  async function refundsOf(orderId: string) {
    return query<{ amount: string; reason: string }>(
      stack.payments.deps,
      'SELECT r.amount, r.reason FROM refunds r JOIN payment_intents i USING (intent_id) WHERE i.order_id = $1',
      [orderId],
    );
  }
  async function seatStates(eventId: string) {
    return (await stack.inventory.call('GET', `/api/events/${eventId}/availability`)).body.seats;
  }
  async function ticketsOf(user: TestIdentity, via: Instance = stack.orders) {
    return (await via.call('GET', '/api/tickets', { as: user })).body.items as any[];
  }

  it('the buyer cancels before the deadline: refunded in payments, tickets void, seats available again; a replay', async () => {
    const ev = await publishEvent(stack, { seats: 20 });
    const { user, order } = await purchase(ev.eventId, ['s011', 's012']);
    expect((await seatStates(ev.eventId)).s011).to.equal('sold');
    const [ticket] = await ticketsOf(user);
    const k = key();
    const res = await stack.orders.call('POST', `/api/orders/${order.id}/cancel`, {
      as: user,
      headers: { 'Idempotency-Key': k },
    });
    expect(res.status).to.equal(200);
    expect(res.body).to.include({ status: 'refunded', cancelReason: 'buyer-cancelled', refundedAmount: order.amount });
    expect(res.body.cancelledAt).to.be.a('string');
    const seats = await seatStates(ev.eventId);
    expect([seats.s011, seats.s012]).to.deep.equal(['available', 'available']);
    expect(await refundsOf(order.id)).to.deep.equal([{ amount: String(order.amount), reason: 'buyer-cancelled' }]);
    expect((await ticketsOf(user)).map((t) => t.status)).to.deep.equal(['void', 'void']);
    const scan = await stack.orders.call('POST', '/api/checkins', { as: organizer, body: { code: ticket.code } });
    expect(scan.status).to.equal(409);
    expect(scan.body.type).to.match(/ticket-void$/);
    // the same key replays the first answer; another cancel is refused; nothing refunded twice
    const again = await stack.orders.call('POST', `/api/orders/${order.id}/cancel`, {
      as: user,
      headers: { 'Idempotency-Key': k },
    });
    expect(again.status).to.equal(200);
    expect(again.headers.get('idempotent-replayed')).to.equal('true');
    expect(again.body).to.deep.equal(res.body);
    const other = await stack.orders.call('POST', `/api/orders/${order.id}/cancel`, { as: user });
    expect(other.status).to.equal(409);
    expect(other.body.type).to.match(/order-not-cancellable$/);
    expect(await refundsOf(order.id)).to.have.length(1);
    const refunded = (await eventsOf(stack.orders.deps, order.id)).filter((e) => e.type === 'order.refunded');
    expect(refunded.map((e) => e.payload)).to.deep.equal([
      {
        orderId: order.id,
        userId: user.userId,
        eventId: ev.eventId,
        amount: order.amount,
        currency: order.currency,
        reason: 'buyer-cancelled',
      },
    ]);
    // another buyer can hold the seats now
    const next = await stack.inventory.call('POST', '/api/holds', {
      as: buyer(),
      body: { eventId: ev.eventId, seats: ['s011'] },
    });
    expect(next.status).to.equal(201);
    const stranger = await stack.orders.call('POST', `/api/orders/${order.id}/cancel`, { as: buyer() });
    expect(stranger.status).to.equal(404);
  });

  it('after the refund deadline (default: 24 h before the start, snapshotted at order time) a cancel is 409', async () => {
    const ev = await publishEvent(stack, { seats: 20 });
    // the event starts in two hours: its default deadline has passed
    await query(stack.orders.deps, "UPDATE events SET starts_at = now() + interval '2 hours' WHERE event_id = $1", [
      ev.eventId,
    ]);
    const { user, order } = await purchase(ev.eventId, ['s013']);
    expect(new Date(order.refundDeadline).getTime()).to.be.below(Date.now());
    const res = await stack.orders.call('POST', `/api/orders/${order.id}/cancel`, {
      as: user,
      headers: { 'Idempotency-Key': key() },
    });
    expect(res.status).to.equal(409);
    expect(res.body.type).to.match(/refund-deadline-passed$/);
    expect(res.body.refundDeadline).to.equal(order.refundDeadline);
    expect((await stack.orders.call('GET', `/api/orders/${order.id}`, { as: user })).body.status).to.equal('confirmed');
    expect((await ticketsOf(user)).map((t) => t.status)).to.deep.equal(['valid']);
    expect(await refundsOf(order.id)).to.have.length(0);
    expect((await seatStates(ev.eventId)).s013).to.equal('sold');
  });

  it('a pending order’s cancel releases its hold and ends cancelled (nothing to refund)', async () => {
    const ev = await publishEvent(stack, { seats: 20 });
    const user = buyer();
    const { hold, order } = await orderOf(stack, user, ev.eventId, ['s014']);
    expect((await seatStates(ev.eventId)).s014).to.equal('held');
    const res = await stack.orders.call('POST', `/api/orders/${order.id}/cancel`, { as: user });
    expect(res.status).to.equal(200);
    expect(res.body.status).to.equal('cancelled');
    expect((await seatStates(ev.eventId)).s014).to.equal('available');
    const h = await stack.inventory.call('GET', `/internal/holds/${hold.id}`, { as: inventory.ordersService });
    expect(h.body.status).to.equal('released');
    const pay = await stack.orders.call('POST', `/api/orders/${order.id}/pay`, {
      as: user,
      body: { paymentMethodId: await card(stack, user) },
    });
    expect(pay.status).to.equal(409);
    expect(pay.body.type).to.match(/order-not-payable$/);
  });

  it('event.cancelled refunds every confirmed order of the event once, tickets void; a redelivery refunds nothing', async () => {
    const ev = await publishEvent(stack, { seats: 20 });
    const a = await purchase(ev.eventId, ['s001']);
    const b = await purchase(ev.eventId, ['s015', 's016']);
    const pending = await orderOf(stack, buyer(), ev.eventId, ['s017']);
    const deliver = async (id: string) => {
      await withTransaction(stack.orders.deps.db, (t) =>
        enqueueEvent(stack.orders.deps.db, t, {
          id,
          type: 'event.cancelled',
          aggregateId: ev.eventId,
          payload: { eventId: ev.eventId },
        }),
      );
      await waitFor(`event.cancelled ${id} processed`, async () => {
        const done = await query(stack.orders.deps, 'SELECT 1 FROM processed_events WHERE event_id = $1', [id]);
        return done.length > 0;
      });
    };
    await deliver(randomUUID());
    for (const { user, order } of [a, b]) {
      await waitFor(`order ${order.id} refunded`, async () => {
        const res = await stack.orders.call('GET', `/api/orders/${order.id}`, { as: user });
        return res.body.status === 'refunded';
      });
      const res = await stack.orders.call('GET', `/api/orders/${order.id}`, { as: user });
      expect(res.body).to.include({ cancelReason: 'event-cancelled', refundedAmount: order.amount });
      expect(await refundsOf(order.id)).to.deep.equal([{ amount: String(order.amount), reason: 'event-cancelled' }]);
      expect((await ticketsOf(user)).every((t) => t.status === 'void')).to.equal(true);
    }
    // catalog announcing it again (a new event id: the bus already drops a same-id redelivery) and a worker pass:
    // nothing refunded twice
    await deliver(randomUUID());
    await stack.orders.deps.saga.sweep();
    for (const { order } of [a, b]) {
      expect(await refundsOf(order.id)).to.have.length(1);
      const refunded = (await eventsOf(stack.orders.deps, order.id)).filter((e) => e.type === 'order.refunded');
      expect(refunded.map((e) => e.payload.reason)).to.deep.equal(['event-cancelled']);
    }
    const p = await query(stack.orders.deps, 'SELECT status FROM orders WHERE order_id = $1', [pending.order.id]);
    expect(p[0].status).to.equal('pending');
  });

  it('a crash of orders between the refund and the end of the cancel step is resumed: refunded once, seats back', async () => {
    const ev = await publishEvent(stack, { seats: 20 });
    const { user, order } = await purchase(ev.eventId, ['s018']);
    // a second replica that "crashes" after payments refunded, before the rest of the step
    const crashing: Instance = await startInstance(stack.ordersConfig, {
      betweenSteps: () => Promise.reject(new Error('crash')),
    });
    await stack.orders.stop();
    const res = await crashing.call('POST', `/api/orders/${order.id}/cancel`, { as: user });
    expect(res.status).to.equal(200);
    expect(res.body.status).to.equal('confirmed'); // the refund is under way
    expect(await refundsOf(order.id)).to.have.length(1);
    expect((await ticketsOf(user, crashing)).map((t) => t.status)).to.deep.equal(['void']);
    await crashing.stop();
    stack.orders = await startInstance(stack.ordersConfig);
    await waitFor(
      `order ${order.id} refunded after the restart`,
      async () => {
        const now = await stack.orders.call('GET', `/api/orders/${order.id}`, { as: user });
        return now.body.status === 'refunded';
      },
      { timeoutMs: 20_000 },
    );
    expect(await refundsOf(order.id)).to.have.length(1);
    expect((await seatStates(ev.eventId)).s018).to.equal('available');
    const types = (await eventsOf(stack.orders.deps, order.id)).map((e) => e.type);
    expect(types).to.deep.equal(['order.created', 'order.confirmed', 'order.refunded']);
  });

  it('the receipt: JSON from payments, HTML for Accept text/html; another user 404; an unpaid order 404', async () => {
    const ev = await publishEvent(stack, { seats: 20 });
    const { user, order } = await purchase(ev.eventId, ['s019']);
    const json = await stack.orders.call('GET', `/api/orders/${order.id}/receipt`, { as: user });
    expect(json.status).to.equal(200);
    expect(json.headers.get('content-type')).to.match(/^application\/json/);
    expect(json.body.number).to.be.a('string');
    expect(json.body.total).to.equal(order.amount);
    const html = await stack.orders.call('GET', `/api/orders/${order.id}/receipt`, {
      as: user,
      headers: { accept: 'text/html' },
    });
    expect(html.status).to.equal(200);
    expect(html.headers.get('content-type')).to.match(/^text\/html/);
    expect(html.text).to.match(/<html[\s\S]*<\/html>/i);
    expect(html.text).to.contain(json.body.number);
    const theirs = await stack.orders.call('GET', `/api/orders/${order.id}/receipt`, { as: buyer() });
    expect(theirs.status).to.equal(404);
    expect(theirs.body.type).to.match(/order-not-found$/);
    const unpaidUser = buyer();
    const unpaid = await orderOf(stack, unpaidUser, ev.eventId, ['s020']);
    const none = await stack.orders.call('GET', `/api/orders/${unpaid.order.id}/receipt`, { as: unpaidUser });
    expect(none.status).to.equal(404);
    expect(none.body.type).to.match(/receipt-not-found$/);
  });

  it('sales after two purchases, one cancel and one check-in; only the organizer or an admin reads them', async () => {
    const ev = await publishEvent(stack, { seats: 20 });
    const kept = await purchase(ev.eventId, ['s011', 's012']); // std 4550 each
    const cancelled = await purchase(ev.eventId, ['s001']); // vip 12000
    const c = await stack.orders.call('POST', `/api/orders/${cancelled.order.id}/cancel`, { as: cancelled.user });
    expect(c.body.status).to.equal('refunded');
    const [ticket] = await ticketsOf(kept.user);
    const scan = await stack.orders.call('POST', '/api/checkins', { as: organizer, body: { code: ticket.code } });
    expect(scan.status).to.equal(201);
    const res = await stack.orders.call('GET', `/api/events/${ev.eventId}/sales`, { as: organizer });
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({
      eventId: ev.eventId,
      currency: 'EUR',
      tiers: [{ tierId: 'std', sold: 2, revenue: 9100, checkIns: 1 }],
      revenue: kept.order.amount,
      refunds: cancelled.order.amount,
      ordersConfirmed: 1,
      ticketsSold: 2,
      checkIns: 1,
    });
    const admin = await stack.orders.call('GET', `/api/events/${ev.eventId}/sales`, {
      as: { userId: 'a-1', role: 'admin' },
    });
    expect(admin.body).to.deep.equal(res.body);
    const other = await stack.orders.call('GET', `/api/events/${ev.eventId}/sales`, {
      as: { userId: 'org-2', role: 'organizer' },
    });
    expect(other.status).to.equal(403);
    const asBuyer = await stack.orders.call('GET', `/api/events/${ev.eventId}/sales`, { as: kept.user });
    expect(asBuyer.status).to.equal(403);
    const unknown = await stack.orders.call('GET', `/api/events/ev-none/sales`, { as: organizer });
    expect(unknown.status).to.equal(404);
  });
});
