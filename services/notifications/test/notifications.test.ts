// Notifications end to end inside the service: events on the real Redis streams, the delivery log in real
// Postgres, mail through a real SMTP server (smtp-server, the stack's sink) and SMS through the signed HTTP
// provider to the same sink. Orders and payments are fakes answering the confirmation's internal calls.
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { samplePayload, waitFor, launchTestBrowser } from '@eventtickets/platform/testing';
import { withTransaction } from '@eventtickets/platform';
import { newUser, startSuite, type Suite } from './helpers.ts';

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47]);

describe('notifications: messages from domain events (real SMTP, Postgres, Redis)', function () {
  let s: Suite;
  const eventId = `e-${randomUUID()}`;

  before(async function () {
    s = await startSuite(this, { DELIVERY_MAX_ATTEMPTS: '4' });
    await s.publish(
      'event.published',
      samplePayload('event.published', { eventId, title: 'Jazz <Night> & Friends', venueName: 'The Hall' }),
    );
  });
  after(async () => {
    await s?.stop();
  });

  const mailsTo = (address: string) => s.sink.mails.filter((m) => m.envelopeTo.includes(address));
  const smsTo = (phone: string) => s.sink.sms.filter((m) => m.to === phone);
  const history = async (userId: string) => {
    const res = await s.svc.call('GET', '/api/notifications', { as: { userId, role: 'buyer' } });
    expect(res.status).to.equal(200);
    return res.body.items as Array<Record<string, any>>;
  };

  /** A user the service knows, with an order confirmed with tickets (and its receipt at the fake payments). */
  async function confirmedOrder(user: ReturnType<typeof newUser>, labels = ['A1', 'A2']) {
    const orderId = randomUUID();
    const tickets = labels.map((label) => ({ id: randomUUID(), label, code: `code-${label}-${randomUUID()}` }));
    s.orders.tickets.set(orderId, tickets);
    s.orders.receipts.set(orderId, {
      number: `R-${orderId.slice(0, 8)}`,
      currency: 'EUR',
      lines: [{ description: 'Standard', quantity: labels.length, unitAmount: 4550, amount: 4550 * labels.length }],
      fees: [{ description: 'Service fee', amount: 250 * labels.length }],
      taxes: [{ description: 'VAT', rate: 20, amount: 1600 }],
      total: 4800 * labels.length,
      card: { brand: 'visa', last4: '4242' },
    });
    await s.publish('order.created', samplePayload('order.created', { orderId, userId: user.userId, eventId }));
    const ev = await s.publish(
      'order.confirmed',
      samplePayload('order.confirmed', {
        orderId,
        userId: user.userId,
        eventId,
        tickets: tickets.map((t) => ({ ticketId: t.id, seatLabel: t.label })),
        totals: [{ amount: 4800 * labels.length, currency: 'EUR' }],
      }),
    );
    return { orderId, tickets, eventId: ev.id };
  }

  it('order.confirmed: the buyer gets one mail with each ticket’s QR inline (cid), the receipt and amounts; SMS when opted in', async function () {
    const user = newUser({ sms: true, phone: '+33612345678' });
    await s.publish('user.registered', user);
    const { orderId, tickets } = await confirmedOrder(user);

    const mail = await waitFor('the confirmation mail', () => mailsTo(user.email)[0], { timeoutMs: 30_000 });
    expect(mail.subject).to.equal('Your tickets for Jazz <Night> & Friends');
    expect(mail.to).to.include(user.email);
    expect(mail.from).to.include('tickets@eventtickets.local');
    // one inline PNG per ticket, each referenced by the HTML as cid:
    const images = mail.attachments.filter((a) => a.contentType === 'image/png');
    expect(images).to.have.length(2);
    for (const t of tickets) {
      const img = images.find((a) => a.cid === `qr-${t.id}@eventtickets`);
      expect(img, `QR of ${t.label}`).to.not.equal(undefined);
      expect(img!.inline).to.equal(true);
      expect(img!.content.subarray(0, 4).equals(PNG)).to.equal(true);
      expect(mail.html).to.include(`cid:qr-${t.id}@eventtickets`);
      expect(mail.text).to.include(t.code);
    }
    // receipt and amounts, in both parts; the event's title escaped in the HTML
    for (const part of [mail.html, mail.text]) {
      expect(part).to.include(`R-${orderId.slice(0, 8)}`);
      expect(part).to.include('€91.00'); // 2 x 45.50
      expect(part).to.include('€5.00'); // fees
      expect(part).to.include('€96.00'); // total paid
      expect(part).to.include('4242');
    }
    expect(mail.html).to.include('Jazz &lt;Night&gt; &amp; Friends');
    expect(mail.html).to.not.include('<Night>');
    // the internal calls were signed
    const call = s.fakeOrders.seen.find((r) => r.url === `/internal/orders/${orderId}/tickets`);
    expect(call?.headers['x-internal-token']).to.be.a('string');

    const sms = await waitFor('the SMS', () => smsTo(user.phone!)[0], { timeoutMs: 30_000 });
    expect(sms.text).to.include('2 ticket(s) for Jazz <Night> & Friends');

    const items = await waitFor('both sent in the history', async () => {
      const h = await history(user.userId);
      return h.length === 2 && h.every((m) => m.status === 'sent') ? h : undefined;
    });
    expect(items.map((m) => m.channel).sort()).to.deep.equal(['email', 'sms']);
    expect(items.find((m) => m.channel === 'email')).to.include({
      kind: 'order-confirmed',
      to: user.email,
      subject: 'Your tickets for Jazz <Night> & Friends',
      attempts: 1,
      lastError: null,
    });
    expect(await history(newUser().userId)).to.deep.equal([]);

    // the mail as a mail client shows it (inline images resolved), kept as a screenshot to look at
    const browser = await launchTestBrowser(this, { viewport: { width: 720, height: 900 } });
    try {
      const page = await browser.newPage();
      await page.goto(`${s.sink.mailboxUrl}mail/${mail.n}`);
      const loaded = await page.$$eval('img', (imgs) => imgs.map((i) => (i as HTMLImageElement).naturalWidth));
      expect(loaded).to.have.length(2);
      expect(loaded.every((w) => w > 0)).to.equal(true);
      await browser.screenshot(page, 'notifications-order-confirmed-mail');
    } finally {
      await browser.close();
    }
  });

  it('GET /api/notifications: 401 without a signed-in caller, 400 for a limit outside 1-100, and limit is honoured', async () => {
    const user = newUser();
    await s.publish('user.registered', user);
    await confirmedOrder(user, ['B1']);
    await confirmedOrder(user, ['B2']);
    await waitFor('two messages in the history', async () =>
      (await history(user.userId)).length === 2 ? true : undefined,
    );
    const anonymous = await s.svc.call('GET', '/api/notifications');
    expect(anonymous.status).to.equal(401);
    for (const limit of ['0', '101', 'abc']) {
      const res = await s.svc.call('GET', `/api/notifications?limit=${limit}`, {
        as: { userId: user.userId, role: 'buyer' },
      });
      expect(res.status, `limit=${limit}`).to.equal(400);
      expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
    }
    const one = await s.svc.call('GET', '/api/notifications?limit=1', { as: { userId: user.userId, role: 'buyer' } });
    expect(one.status).to.equal(200);
    expect(one.body.items).to.have.length(1);
  });

  it('SMTP down: the mail is retried with back-off and delivered once when SMTP is back', async () => {
    const user = newUser();
    await s.publish('user.registered', user);
    await s.sink.smtpDown();
    try {
      await s.publish(
        'order.refunded',
        samplePayload('order.refunded', {
          orderId: randomUUID(),
          userId: user.userId,
          eventId,
          reason: 'late-payment',
        }),
      );
      const failed = await waitFor('two failed attempts', async () => {
        const [m] = await history(user.userId);
        return m && m.status === 'failed' && m.attempts >= 2 ? m : undefined;
      });
      expect(failed.lastError).to.match(/ECONNREFUSED|connect/i);
    } finally {
      await s.sink.smtpUp();
    }
    const sent = await waitFor('sent after recovery', async () => {
      const [m] = await history(user.userId);
      return m?.status === 'sent' ? m : undefined;
    });
    expect(sent.attempts).to.be.at.least(3);
    // a later message goes through after it: by then a second copy of the first would have arrived too
    await s.publish(
      'order.refunded',
      samplePayload('order.refunded', {
        orderId: randomUUID(),
        userId: user.userId,
        eventId,
        reason: 'buyer-cancelled',
      }),
    );
    await waitFor('the later mail', () => mailsTo(user.email).length >= 2 || undefined);
    const mails = mailsTo(user.email);
    expect(mails.filter((m) => m.text.includes('automatically'))).to.have.length(1);
    expect(mails).to.have.length(2);
  });

  it('a recipient that always refuses: dead after DELIVERY_MAX_ATTEMPTS attempts, never sent', async () => {
    const user = newUser();
    s.sink.rejectRecipients.add(user.email.toLowerCase());
    await s.publish('user.registered', user);
    await s.publish(
      'order.refunded',
      samplePayload('order.refunded', { orderId: randomUUID(), userId: user.userId, eventId }),
    );
    const dead = await waitFor('dead', async () => {
      const [m] = await history(user.userId);
      return m?.status === 'dead' ? m : undefined;
    });
    expect(dead.attempts).to.equal(4);
    expect(dead.lastError).to.match(/550/);
    expect(mailsTo(user.email)).to.have.length(0);
  });

  it('a redelivered event sends nothing new (bus dedup, and the (event, channel, recipient) key below it)', async () => {
    const user = newUser({ sms: true, phone: '+33600000001' });
    await s.publish('user.registered', user);
    const payload = samplePayload('order.refunded', {
      orderId: randomUUID(),
      userId: user.userId,
      eventId,
      amount: 1234,
    });
    const first = await s.publish('order.refunded', payload);
    await waitFor(
      'the first mail and SMS',
      () => (mailsTo(user.email).length && smsTo(user.phone!).length) || undefined,
    );
    await s.publish('order.refunded', payload, first.id); // the same event again (a redelivery)
    // below the bus: the planner itself refuses a second message for the same (event, channel, recipient)
    const again = await withTransaction(s.svc.deps.db, (t) =>
      s.svc.deps.planner.orderRefunded(t, first.id, payload as any),
    );
    expect(again).to.equal(0);
    // a marker event after the redelivery: once its mail is here, the redelivery has been handled
    await s.publish(
      'order.refunded',
      samplePayload('order.refunded', { orderId: randomUUID(), userId: user.userId, eventId, amount: 99 }),
    );
    await waitFor('the marker mail', () => mailsTo(user.email).some((m) => m.subject.includes('€0.99')) || undefined);
    expect(mailsTo(user.email).filter((m) => m.subject.includes('€12.34'))).to.have.length(1);
    await waitFor('the marker SMS', () => smsTo(user.phone!).length >= 2 || undefined);
    expect(smsTo(user.phone!)).to.have.length(2);
    expect((await history(user.userId)).filter((m) => m.subject.includes('12.34'))).to.have.length(2); // email + sms
  });

  it('SMS opt-out is respected (mail only); opting in through user.updated adds SMS to the next message', async () => {
    const user = newUser({ sms: false, phone: '+33600000002' });
    await s.publish('user.registered', user);
    await s.publish(
      'payment.failed',
      samplePayload('payment.failed', { orderId: (await confirmedOrder(user, ['B1'])).orderId }),
    );
    await waitFor('both mails', () => mailsTo(user.email).length >= 2 || undefined);
    await waitFor('all sent', async () =>
      (await history(user.userId)).every((m) => m.status === 'sent') ? true : undefined,
    );
    const h = await history(user.userId);
    expect(h.map((m) => m.channel)).to.deep.equal(['email', 'email']);
    expect(h.map((m) => m.kind).sort()).to.deep.equal(['order-confirmed', 'payment-failed']);
    expect(smsTo(user.phone!)).to.have.length(0);

    await s.publish('user.updated', { ...user, notificationPrefs: { email: true, sms: true } });
    await s.publish(
      'order.refunded',
      samplePayload('order.refunded', { orderId: randomUUID(), userId: user.userId, eventId }),
    );
    const sms = await waitFor('the SMS after opting in', () => smsTo(user.phone!)[0]);
    expect(sms.text).to.include('refunded');
  });

  it('events ahead of what they need (the user, the order) are kept, and sent once it arrives: no dead letter', async () => {
    const user = newUser();
    const refund = await s.publish(
      'order.refunded',
      samplePayload('order.refunded', { orderId: randomUUID(), userId: user.userId, eventId, amount: 777 }),
    );
    const orderId = randomUUID();
    const failed = await s.publish('payment.failed', samplePayload('payment.failed', { orderId, amount: 888 }));
    // both handled and kept (not failed, not dead): one row each, under the user and under the order
    await waitFor('both kept', async () => {
      const [kept] = await s.svc.deps.db.query(
        'SELECT count(*)::int AS n FROM deferred_messages WHERE source_event_id = ANY($1)',
        { bind: [[refund.id, failed.id]] },
      );
      return (kept as Array<{ n: number }>)[0]!.n === 2 || undefined;
    });
    expect(mailsTo(user.email)).to.have.length(0);
    expect(await history(user.userId)).to.deep.equal([]);

    await s.publish('user.registered', user);
    await s.publish('order.created', samplePayload('order.created', { orderId, userId: user.userId, eventId }));
    const mails = await waitFor('both mails', () =>
      mailsTo(user.email).length >= 2 ? mailsTo(user.email) : undefined,
    );
    expect(mails.map((m) => m.subject).sort()).to.deep.equal([
      'Payment failed for Jazz <Night> & Friends',
      'Refund of €7.77 for Jazz <Night> & Friends',
    ]);
    const dead = (await s.deadLetters()).filter((d) => d.event.includes(refund.id) || d.event.includes(failed.id));
    expect(dead).to.deep.equal([]);
    await waitFor('both sent', async () => {
      const h = await history(user.userId);
      return h.length === 2 && h.every((m) => m.status === 'sent') ? true : undefined;
    });
  });

  it('a malformed event goes to the dead letters at once and the stream goes on', async () => {
    const user = newUser();
    await s.publish('user.registered', user);
    const bad = randomUUID();
    await s.publish('order.confirmed', { orderId: 'o-x', userId: user.userId } as any, bad); // no eventId, tickets, totals
    await s.publishRaw('order.confirmed', '{not json');
    await s.publish(
      'order.refunded',
      samplePayload('order.refunded', { orderId: randomUUID(), userId: user.userId, eventId }),
    );
    await waitFor('the mail after the malformed events', () => mailsTo(user.email)[0]);
    const dead = await waitFor('both in the dead letters', async () => {
      const d = (await s.deadLetters()).filter((x) => x.group === 'notifications' && x.type === 'order.confirmed');
      return d.length >= 2 ? d : undefined;
    });
    const schema = dead.find((d) => d.event.includes(bad));
    expect(schema?.error).to.match(/tickets/);
    expect(dead.some((d) => d.event === '{not json')).to.equal(true);
    expect((await history(user.userId)).map((m) => m.kind)).to.deep.equal(['order-refunded']);
  });

  it('event.cancelled tells every ticket holder once (from the orders it has seen), not a buyer of another event', async () => {
    const otherEvent = `e-${randomUUID()}`;
    await s.publish(
      'event.published',
      samplePayload('event.published', { eventId: otherEvent, title: 'Another night' }),
    );
    const a = newUser();
    const b = newUser();
    const c = newUser();
    for (const u of [a, b, c]) await s.publish('user.registered', u);
    await confirmedOrder(a, ['C1']);
    await confirmedOrder(a, ['C2']); // two orders: still one cancellation mail
    await confirmedOrder(b, ['C3']);
    const cOrder = randomUUID();
    await s.publish(
      'order.created',
      samplePayload('order.created', { orderId: cOrder, userId: c.userId, eventId: otherEvent }),
    );
    await s.publish(
      'order.confirmed',
      samplePayload('order.confirmed', { orderId: cOrder, userId: c.userId, eventId: otherEvent }),
    );
    s.orders.tickets.set(cOrder, [{ id: randomUUID(), label: 'Z9', code: 'z' }]);
    await waitFor(
      'the confirmations',
      () => (mailsTo(a.email).length >= 2 && mailsTo(b.email).length >= 1) || undefined,
    );
    await s.publish('event.cancelled', { eventId });
    await waitFor('cancellation mails', () => {
      const cancelled = (u: { email: string }) => mailsTo(u.email).filter((m) => m.subject.startsWith('Cancelled:'));
      return cancelled(a).length >= 1 && cancelled(b).length >= 1 ? true : undefined;
    });
    await waitFor('c’s confirmation (after the cancellation on the streams)', () => mailsTo(c.email)[0]);
    expect(mailsTo(a.email).filter((m) => m.subject === 'Cancelled: Jazz <Night> & Friends')).to.have.length(1);
    expect(mailsTo(c.email).filter((m) => m.subject.startsWith('Cancelled:'))).to.have.length(0);
  });
});
