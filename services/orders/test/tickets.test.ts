// Tickets and check-in after a real purchase (real inventory, payments, Postgres, Redis): signed codes, the QR
// image, ownership, the first scan admits, a second is 409 with when, forged and altered codes are refused,
// only the event's organizer (or an admin) scans, concurrent scans admit once.
import { expect } from 'chai';
import type { TestIdentity } from '@eventtickets/platform/testing';
import { verifyTicketCode } from '../src/domain/ticket-code.ts';
import {
  buyer,
  card,
  eventsOf,
  orderOf,
  publishEvent,
  query,
  startStack,
  TEST_TICKET_SECRET,
  type Stack,
} from './helpers.ts';

describe('orders: tickets and check-in (real purchase path)', function () {
  let stack: Stack;
  const organizer: TestIdentity = { userId: 'org-1', role: 'organizer' };

  before(async function () {
    stack = await startStack(this);
  });
  after(async () => {
    await stack?.stop();
  });

  async function purchase(seats: string[]) {
    const ev = await publishEvent(stack, { seats: 20 });
    const user = buyer();
    const { order } = await orderOf(stack, user, ev.eventId, seats);
    const paid = await stack.orders.call('POST', `/api/orders/${order.id}/pay`, {
      as: user,
      body: { paymentMethodId: await card(stack, user) },
    });
    expect(paid.body.status).to.equal('confirmed');
    const list = await stack.orders.call('GET', '/api/tickets', { as: user });
    expect(list.status).to.equal(200);
    return { ev, user, order: paid.body, tickets: list.body.items as any[] };
  }

  it('gives notifications (svc:notifications) an order’s tickets with codes; a user or another service 403', async () => {
    const { user, order, tickets } = await purchase(['s013']);
    const got = await stack.orders.call('GET', `/internal/orders/${order.id}/tickets`, {
      as: { service: 'notifications' },
    });
    expect(got.status).to.equal(200);
    expect(got.body).to.deep.equal({ orderId: order.id, userId: user.userId, items: tickets });
    const asUser = await stack.orders.call('GET', `/internal/orders/${order.id}/tickets`, { as: user });
    expect(asUser.status).to.equal(403);
    const asPayments = await stack.orders.call('GET', `/internal/orders/${order.id}/tickets`, {
      as: { service: 'payments' },
    });
    expect(asPayments.status).to.equal(403);
    const none = await stack.orders.call('GET', '/internal/orders/00000000-0000-4000-8000-000000000000/tickets', {
      as: { service: 'notifications' },
    });
    expect(none.status).to.equal(404);
  });

  it('lists the buyer’s tickets with signed codes carrying ticket and event; QR as SVG; others get 404', async () => {
    const { ev, user, order, tickets } = await purchase(['s011', 's012']);
    expect(tickets.map((t) => t.id).sort()).to.deep.equal([...order.ticketIds].sort());
    for (const t of tickets) {
      expect(t).to.include({ eventId: ev.eventId, orderId: order.id, status: 'valid' });
      expect(verifyTicketCode(TEST_TICKET_SECRET, t.code)).to.deep.equal({ ticketId: t.id, eventId: ev.eventId });
      expect(t.code.length).to.be.below(120);
    }
    const one = await stack.orders.call('GET', `/api/tickets/${tickets[0].id}`, { as: user });
    expect(one.status).to.equal(200);
    expect(one.body).to.deep.equal(tickets[0]);
    const svg = await stack.orders.call('GET', `/api/tickets/${tickets[0].id}/qr.svg`, { as: user });
    expect(svg.status).to.equal(200);
    expect(svg.headers.get('content-type')).to.match(/^image\/svg\+xml/);
    expect(svg.text).to.match(/^<svg[\s\S]*<\/svg>\s*$/);
    const theirs = await stack.orders.call('GET', `/api/tickets/${tickets[0].id}`, { as: buyer() });
    expect(theirs.status).to.equal(404);
    const theirQr = await stack.orders.call('GET', `/api/tickets/${tickets[0].id}/qr.svg`, { as: buyer() });
    expect(theirQr.status).to.equal(404);
  });

  it('check-in: the first scan admits, a second is 409 saying when; ticket.checked_in once', async () => {
    const { tickets } = await purchase(['s013']);
    const first = await stack.orders.call('POST', '/api/checkins', { as: organizer, body: { code: tickets[0].code } });
    expect(first.status).to.equal(201);
    expect(first.body).to.include({ ticketId: tickets[0].id });
    const second = await stack.orders.call('POST', '/api/checkins', { as: organizer, body: { code: tickets[0].code } });
    expect(second.status).to.equal(409);
    expect(second.body.type).to.match(/ticket-already-checked-in$/);
    expect(second.body.checkedInAt).to.equal(first.body.checkedInAt);
    const events = await eventsOf(stack.orders.deps, tickets[0].id);
    expect(events.map((e) => e.type)).to.deep.equal(['ticket.checked_in']);
  });

  it('forged and altered codes are 422; another organizer or a buyer 403; another event 409; nothing admitted', async () => {
    const { ev, user, tickets } = await purchase(['s014']);
    const code: string = tickets[0].code;
    const [tid, eid, mac] = code.split('.') as [string, string, string];
    const flipped = mac.slice(0, -1) + (mac.endsWith('A') ? 'B' : 'A');
    const otherTicket = (await purchase(['s015'])).tickets[0];
    const moved = `${otherTicket.code.split('.')[0]}.${eid}.${mac}`;
    for (const bad of [`${tid}.${eid}.${flipped}`, moved, 'hello', `${tid}.${eid}`]) {
      const res = await stack.orders.call('POST', '/api/checkins', { as: organizer, body: { code: bad } });
      expect(res.status, bad).to.equal(422);
      expect(res.body.type).to.match(/ticket-code-invalid$/);
    }
    const stranger = await stack.orders.call('POST', '/api/checkins', {
      as: { userId: 'org-2', role: 'organizer' },
      body: { code },
    });
    expect(stranger.status).to.equal(403);
    const asBuyer = await stack.orders.call('POST', '/api/checkins', { as: user, body: { code } });
    expect(asBuyer.status).to.equal(403);
    const wrongEvent = await stack.orders.call('POST', '/api/checkins', {
      as: organizer,
      body: { code, eventId: `${ev.eventId}-other` },
    });
    expect(wrongEvent.status).to.equal(409);
    expect(wrongEvent.body.type).to.match(/ticket-wrong-event$/);
    const row = await query(stack.orders.deps, 'SELECT status FROM tickets WHERE ticket_id = $1', [tickets[0].id]);
    expect(row[0].status).to.equal('valid');
    const admin = await stack.orders.call('POST', '/api/checkins', {
      as: { userId: 'a-1', role: 'admin' },
      body: { code },
    });
    expect(admin.status).to.equal(201);
  });

  it('eight scanners scanning the same ticket at once admit it once', async () => {
    const { tickets } = await purchase(['s016']);
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        stack.orders.call('POST', '/api/checkins', { as: organizer, body: { code: tickets[0].code } }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).to.deep.equal([201, 409, 409, 409, 409, 409, 409, 409]);
    const events = await eventsOf(stack.orders.deps, tickets[0].id);
    expect(events).to.have.length(1);
  });
});
