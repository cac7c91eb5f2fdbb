// Receipts: the data of an order's succeeded payment (number, seller, lines, brand and last four, totals, tax
// and fee lines) and its printable HTML page, looked at in a real browser (screenshot kept).
import { expect } from 'chai';
import { launchTestBrowser } from '@eventtickets/platform/testing';
import {
  addCard,
  buyer,
  CARDS,
  createIntent,
  dropDatabase,
  intentBody,
  key,
  ordersService,
  startInstance,
  suiteConfig,
  type Instance,
} from './helpers.ts';
import type { PaymentsConfig } from '../src/config.ts';

describe('payments/receipts', function () {
  let config: PaymentsConfig | undefined;
  let svc: Instance;

  before(async function () {
    config = await suiteConfig(this);
    svc = await startInstance(config);
  });
  after(async () => {
    await svc?.stop();
    await dropDatabase(config);
  });

  async function paidOrder() {
    const me = buyer();
    const pm = await addCard(svc.call, me, '5555 5555 5555 4444');
    const body = intentBody({ userId: me.userId });
    const intent = await createIntent(svc.call, body);
    const paid = await svc.call('POST', `/internal/intents/${intent.id}/confirm`, {
      as: ordersService,
      body: { paymentMethodId: pm },
    });
    expect(paid.body.status).to.equal('succeeded');
    return { body, intent: paid.body };
  }

  it('the receipt data: number, seller, lines, fees, tax, total, card, refunds', async () => {
    const { body, intent } = await paidOrder();
    await svc.call('POST', `/internal/intents/${intent.id}/refunds`, {
      as: ordersService,
      body: { amount: 250 },
      headers: { 'Idempotency-Key': key() },
    });
    const res = await svc.call('GET', `/internal/orders/${body.orderId}/receipt`, { as: ordersService });
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.include({
      number: intent.receiptNumber,
      seller: body.seller,
      description: body.description,
      orderId: body.orderId,
      paymentId: intent.id,
      currency: 'EUR',
      lines: body.lines,
      fees: body.fees,
      taxes: body.taxes,
      total: 9350,
      card: { brand: 'mastercard', last4: '4444' },
      refundedAmount: 250,
    });
    expect(res.body.refunds.map((r: { amount: number }) => r.amount)).to.deep.equal([250]);
    // notifications reads the same receipt for the confirmation e-mail; another service may not
    const forMail = await svc.call('GET', `/internal/orders/${body.orderId}/receipt`, {
      as: { service: 'notifications' },
    });
    expect(forMail.status).to.equal(200);
    expect(forMail.body).to.deep.equal(res.body);
    const asInventory = await svc.call('GET', `/internal/orders/${body.orderId}/receipt`, {
      as: { service: 'inventory' },
    });
    expect(asInventory.status).to.equal(403);
  });

  it('an order without a succeeded payment has no receipt (404 receipt-not-found); users may not read it (403)', async () => {
    const me = buyer();
    const pm = await addCard(svc.call, me, CARDS.declined);
    const body = intentBody({ userId: me.userId });
    const intent = await createIntent(svc.call, body);
    await svc.call('POST', `/internal/intents/${intent.id}/confirm`, {
      as: ordersService,
      body: { paymentMethodId: pm },
    });
    const res = await svc.call('GET', `/internal/orders/${body.orderId}/receipt`, { as: ordersService });
    expect(res.status).to.equal(404);
    expect(res.body.type).to.equal('https://eventtickets.dev/problems/receipt-not-found');
    const asUser = await svc.call('GET', `/internal/orders/${body.orderId}/receipt`, { as: me });
    expect(asUser.status).to.equal(403);
  });

  it('Accept: text/html gives a printable page that escapes what it shows, and looks like a receipt', async function () {
    const me = buyer();
    const pm = await addCard(svc.call, me, CARDS.succeeds);
    const body = {
      ...intentBody({ userId: me.userId }),
      description: 'Jazz <Night> & Friends, 14 March 2027, 8 pm',
    };
    const intent = await createIntent(svc.call, body);
    const paid = await svc.call('POST', `/internal/intents/${intent.id}/confirm`, {
      as: ordersService,
      body: { paymentMethodId: pm },
    });
    const res = await svc.call('GET', `/internal/orders/${body.orderId}/receipt`, {
      as: ordersService,
      headers: { Accept: 'text/html' },
    });
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.equal('text/html; charset=utf-8');
    expect(res.text).to.include('Jazz &lt;Night&gt; &amp; Friends');
    expect(res.text).to.not.include('<Night>');
    expect(res.text).to.include(paid.body.receiptNumber);
    expect(res.text).to.include('ending in 4242');
    expect(res.text).to.include('€93.50');

    const browser = await launchTestBrowser(this, { viewport: { width: 800, height: 900 } });
    try {
      const page = await browser.newPage();
      await page.setContent(res.text);
      expect(await page.title()).to.equal(`Receipt ${paid.body.receiptNumber}`);
      const cells = await page.locator('tr.total td').allTextContents();
      expect(cells).to.deep.equal(['Total', '€93.50']);
      expect(await page.locator('tbody tr').count()).to.equal(4); // line, fee, total, tax
      await browser.screenshot(page, 'payments-receipt');
    } finally {
      await browser.close();
    }
  });
});
