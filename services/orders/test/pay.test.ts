// The purchase saga through the real inventory and payments (in-process) and real Postgres/Redis: pay with a
// test card, a double click charges once, a decline keeps the hold, an asynchronous card settles through the
// webhook and payment.succeeded, a crash of orders between payment and confirmation recovers, a late payment
// (the hold released and its seat taken) is refunded automatically.
import { expect } from 'chai';
import { waitFor } from '@eventtickets/platform/testing';
import {
  buyer,
  card,
  eventsOf,
  hold,
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

describe('orders: pay and the purchase saga (real inventory, payments, Postgres, Redis)', function () {
  let stack: Stack;

  before(async function () {
    stack = await startStack(this);
  });
  after(async () => {
    await stack?.stop();
  });

  async function holdStatus(holdId: string) {
    const res = await stack.inventory.call('GET', `/internal/holds/${holdId}`, { as: inventory.ordersService });
    return res.body.status as string;
  }
  async function intents(orderId: string) {
    return query<{ status: string }>(stack.payments.deps, 'SELECT status FROM payment_intents WHERE order_id = $1', [
      orderId,
    ]);
  }

  it('a card that succeeds: 200 confirmed, the hold confirmed for the order, one ticket per seat, order.confirmed', async () => {
    const ev = await publishEvent(stack, { seats: 20 });
    const user = buyer();
    const { hold: h, order } = await orderOf(stack, user, ev.eventId, ['s001', 's002']);
    const pm = await card(stack, user);
    const res = await stack.orders.call('POST', `/api/orders/${order.id}/pay`, {
      as: user,
      body: { paymentMethodId: pm },
      headers: { 'Idempotency-Key': key() },
    });
    expect(res.status).to.equal(200);
    expect(res.body.status).to.equal('confirmed');
    expect(res.body.ticketIds).to.have.length(2);
    expect(await holdStatus(h.id)).to.equal('confirmed');
    const seats = await query(
      stack.inventory.deps,
      'SELECT status FROM seats WHERE event_id = $1 AND seat_id = ANY($2)',
      [ev.eventId, ['s001', 's002']],
    );
    expect(seats.map((s: any) => s.status)).to.deep.equal(['sold', 'sold']);
    const confirmed = (await eventsOf(stack.orders.deps, order.id)).filter((e) => e.type === 'order.confirmed');
    expect(confirmed).to.have.length(1);
    expect(confirmed[0]!.payload.tickets.map((t: any) => t.ticketId)).to.deep.equal(res.body.ticketIds);
    expect(confirmed[0]!.payload.tickets.map((t: any) => t.seatLabel)).to.deep.equal(['Stalls A1', 'Stalls A2']);
    expect((await intents(order.id)).map((i) => i.status)).to.deep.equal(['succeeded']);
  });

  it('a double click (same Idempotency-Key, at once) charges once and answers the same confirmed order twice', async () => {
    const ev = await publishEvent(stack, { seats: 20 });
    const user = buyer();
    const { order } = await orderOf(stack, user, ev.eventId, ['s003']);
    const pm = await card(stack, user);
    const k = key();
    const both = await Promise.all(
      [1, 2].map(() =>
        stack.orders.call('POST', `/api/orders/${order.id}/pay`, {
          as: user,
          body: { paymentMethodId: pm },
          headers: { 'Idempotency-Key': k },
        }),
      ),
    );
    expect(both.map((r) => r.status)).to.deep.equal([200, 200]);
    expect(both.map((r) => r.body.status)).to.deep.equal(['confirmed', 'confirmed']);
    expect((await intents(order.id)).map((i) => i.status)).to.deep.equal(['succeeded']);
    const tickets = await query(stack.orders.deps, 'SELECT 1 FROM tickets WHERE order_id = $1', [order.id]);
    expect(tickets).to.have.length(1);
    const again = await stack.orders.call('POST', `/api/orders/${order.id}/pay`, {
      as: user,
      body: { paymentMethodId: pm },
    });
    expect(again.status).to.equal(409);
    expect(again.body.type).to.match(/order-not-payable$/);
  });

  it('a declined card is 402 with the reason and keeps the hold; another card then pays', async () => {
    const ev = await publishEvent(stack, { seats: 20 });
    const user = buyer();
    const { hold: h, order } = await orderOf(stack, user, ev.eventId, ['s004']);
    const declined = await stack.orders.call('POST', `/api/orders/${order.id}/pay`, {
      as: user,
      body: { paymentMethodId: await card(stack, user, 'insufficientFunds') },
    });
    expect(declined.status).to.equal(402);
    expect(declined.body).to.include({ reason: 'insufficient_funds' });
    expect(declined.body.type).to.match(/payment-declined$/);
    expect(await holdStatus(h.id)).to.equal('active');
    const pending = await stack.orders.call('GET', `/api/orders/${order.id}`, { as: user });
    expect(pending.body).to.include({ status: 'pending', lastPaymentError: 'insufficient_funds' });
    const paid = await stack.orders.call('POST', `/api/orders/${order.id}/pay`, {
      as: user,
      body: { paymentMethodId: await card(stack, user) },
    });
    expect(paid.status).to.equal(200);
    expect(paid.body.status).to.equal('confirmed');
  });

  it("another user's order is 404 and an unknown payment method passes payments' 404; nothing is charged", async () => {
    const ev = await publishEvent(stack, { seats: 20 });
    const user = buyer();
    const { order } = await orderOf(stack, user, ev.eventId, ['s005']);
    const other = buyer();
    const theirs = await stack.orders.call('POST', `/api/orders/${order.id}/pay`, {
      as: other,
      body: { paymentMethodId: await card(stack, other) },
    });
    expect(theirs.status).to.equal(404);
    expect(theirs.body.type).to.match(/order-not-found$/);
    const stolenCard = await stack.orders.call('POST', `/api/orders/${order.id}/pay`, {
      as: user,
      body: { paymentMethodId: await card(stack, other) },
    });
    expect(stolenCard.status).to.equal(404);
    expect(stolenCard.body.type).to.match(/payment-method-not-found$/);
    expect((await intents(order.id)).filter((i) => i.status === 'succeeded')).to.have.length(0);
  });

  it('an asynchronous card answers processing; payment.succeeded (webhook → payments → bus) confirms the order', async () => {
    const ev = await publishEvent(stack, { seats: 20 });
    const user = buyer();
    const { hold: h, order } = await orderOf(stack, user, ev.eventId, ['s006']);
    const res = await stack.orders.call('POST', `/api/orders/${order.id}/pay`, {
      as: user,
      body: { paymentMethodId: await card(stack, user, 'async') },
    });
    expect(res.status).to.equal(200);
    expect(res.body.status).to.equal('processing');
    const done = await waitFor(
      'the order confirmed',
      async () => {
        const r = await stack.orders.call('GET', `/api/orders/${order.id}`, { as: user });
        return r.body.status === 'confirmed' ? r.body : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(done.ticketIds).to.have.length(1);
    expect(await holdStatus(h.id)).to.equal('confirmed');
  });

  it('a late payment (the hold released and its seat taken by another buyer) is refunded: order failed with the reason', async () => {
    const ev = await publishEvent(stack, { seats: 20 });
    const user = buyer();
    const { hold: h, order } = await orderOf(stack, user, ev.eventId, ['s007']);
    expect((await stack.inventory.call('DELETE', `/api/holds/${h.id}`, { as: user })).status).to.equal(204);
    await hold(stack, buyer(), { eventId: ev.eventId, seats: ['s007'] });
    const res = await stack.orders.call('POST', `/api/orders/${order.id}/pay`, {
      as: user,
      body: { paymentMethodId: await card(stack, user) },
    });
    expect(res.status).to.equal(200);
    expect(res.body).to.include({ status: 'failed', failureReason: 'hold-released-refunded', refundedAmount: 12000 });
    const refunded = await query(
      stack.payments.deps,
      'SELECT refunded_amount FROM payment_intents WHERE order_id = $1 AND status = $2',
      [order.id, 'succeeded'],
    );
    expect(refunded.map((r: any) => Number(r.refunded_amount))).to.deep.equal([12000]);
    const types = (await eventsOf(stack.orders.deps, order.id)).map((e) => e.type);
    expect(types).to.deep.equal(['order.created', 'order.failed', 'order.refunded']);
    expect(await query(stack.orders.deps, 'SELECT 1 FROM tickets WHERE order_id = $1', [order.id])).to.have.length(0);
  });

  it('a crash of orders between the payment and the confirmation recovers to one confirmed order with its tickets', async () => {
    const ev = await publishEvent(stack, { seats: 20 });
    const user = buyer();
    const { hold: h, order } = await orderOf(stack, user, ev.eventId, ['s008', 's009']);
    // a second orders replica that "crashes" after inventory confirmed the hold, before recording it
    const crashing: Instance = await startInstance(stack.ordersConfig, {
      betweenSteps: () => Promise.reject(new Error('crash')),
    });
    // the suite's own replica must not finish the saga meanwhile: stop it, restart it after the crash
    await stack.orders.stop();
    const paid = await crashing.call('POST', `/api/orders/${order.id}/pay`, {
      as: user,
      body: { paymentMethodId: await card(stack, user) },
    });
    expect(paid.status).to.equal(200);
    expect(paid.body.status).to.equal('processing');
    expect(await holdStatus(h.id)).to.equal('confirmed');
    await crashing.stop();
    stack.orders = await startInstance(stack.ordersConfig);
    const done = await waitFor(
      'the order confirmed after the restart',
      async () => {
        const r = await stack.orders.call('GET', `/api/orders/${order.id}`, { as: user });
        return r.body.status === 'confirmed' ? r.body : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(done.ticketIds).to.have.length(2);
    const types = (await eventsOf(stack.orders.deps, order.id)).map((e) => e.type);
    expect(types).to.deep.equal(['order.created', 'order.confirmed']);
    expect((await intents(order.id)).map((i) => i.status)).to.deep.equal(['succeeded']);
  });
});
