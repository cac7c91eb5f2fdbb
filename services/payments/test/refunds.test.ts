// Refunds: full and partial by amount, never more than the capture in total (even concurrently), idempotent per
// key, refund.succeeded in the outbox.
import { expect } from 'chai';
import {
  addCard,
  buyer,
  CARDS,
  createIntent,
  dropDatabase,
  eventsOf,
  intentBody,
  key,
  ordersService,
  query,
  startInstance,
  suiteConfig,
  type Instance,
} from './helpers.ts';
import type { PaymentsConfig } from '../src/config.ts';

const P = 'https://eventtickets.dev/problems/';

describe('payments/refunds', function () {
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

  async function paidIntent(card = CARDS.succeeds) {
    const me = buyer();
    const pm = await addCard(svc.call, me, card);
    const intent = await createIntent(svc.call, intentBody({ userId: me.userId }));
    const res = await svc.call('POST', `/internal/intents/${intent.id}/confirm`, {
      as: ordersService,
      body: { paymentMethodId: pm },
    });
    return res.body;
  }
  const refund = (id: string, body: Record<string, unknown>, k = key()) =>
    svc.call('POST', `/internal/intents/${id}/refunds`, { as: ordersService, body, headers: { 'Idempotency-Key': k } });

  it('partial then full refund of the rest; refund.succeeded for each; then nothing remains (422)', async () => {
    const intent = await paidIntent();
    expect(intent.amount).to.equal(9350);
    const part = await refund(intent.id, { amount: 4550, reason: 'one seat cancelled' });
    expect(part.status).to.equal(201);
    expect(part.body).to.include({
      paymentId: intent.id,
      orderId: intent.orderId,
      amount: 4550,
      currency: 'EUR',
      status: 'succeeded',
      reason: 'one seat cancelled',
    });
    const rest = await refund(intent.id, {});
    expect(rest.status).to.equal(201);
    expect(rest.body.amount).to.equal(4800);
    const more = await refund(intent.id, { amount: 1 });
    expect(more.status).to.equal(422);
    expect(more.body).to.include({ type: `${P}refund-exceeds-capture`, remaining: 0 });
    const after = await svc.call('GET', `/internal/intents/${intent.id}`, { as: ordersService });
    expect(after.body).to.include({ status: 'succeeded', refundedAmount: 9350 });
    const events = await eventsOf(svc.deps, intent.id);
    expect(events.map((e) => [e.type, e.payload.amount])).to.deep.equal([
      ['payment.succeeded', 9350],
      ['refund.succeeded', 4550],
      ['refund.succeeded', 4800],
    ]);
    expect(events[1]!.payload).to.deep.equal({
      refundId: part.body.id,
      paymentId: intent.id,
      orderId: intent.orderId,
      amount: 4550,
      currency: 'EUR',
    });
  });

  it('more than what remains is 422 refund-exceeds-capture with `remaining`, and changes nothing', async () => {
    const intent = await paidIntent();
    expect((await refund(intent.id, { amount: 9000 })).status).to.equal(201);
    const res = await refund(intent.id, { amount: 351 });
    expect(res.status).to.equal(422);
    expect(res.body).to.include({ type: `${P}refund-exceeds-capture`, remaining: 350 });
    const rows = await query(svc.deps, 'SELECT amount FROM refunds WHERE intent_id = $1', [intent.id]);
    expect(rows.map((r) => Number(r.amount))).to.deep.equal([9000]);
  });

  it('concurrent refunds never exceed the capture: of 10 refunds of 3000 on 9350, exactly 3 succeed', async () => {
    const intent = await paidIntent();
    const answers = await Promise.all(Array.from({ length: 10 }, () => refund(intent.id, { amount: 3000 })));
    expect(answers.filter((a) => a.status === 201)).to.have.length(3);
    expect(answers.filter((a) => a.status === 422)).to.have.length(7);
    const [sum] = await query(svc.deps, 'SELECT sum(amount) AS s FROM refunds WHERE intent_id = $1', [intent.id]);
    expect(Number(sum.s)).to.equal(9000);
    const [ledger] = await query(
      svc.deps,
      'SELECT sum(r.amount) AS s FROM simulator_refunds r JOIN simulator_charges c USING (charge_id) WHERE c.intent_id = $1',
      [intent.id],
    );
    expect(Number(ledger.s)).to.equal(9000);
  });

  it('the database itself refuses refunds beyond the capture (refunds_within_capture)', async () => {
    const intent = await paidIntent();
    let error: any;
    await query(svc.deps, 'UPDATE payment_intents SET refunded_amount = amount + 1 WHERE intent_id = $1', [
      intent.id,
    ]).catch((err) => (error = err));
    expect(error?.parent?.constraint).to.equal('refunds_within_capture');
  });

  it('idempotent per key: the same key and body answer the first refund; another amount is 422', async () => {
    const intent = await paidIntent();
    const k = key();
    const first = await refund(intent.id, { amount: 1000 }, k);
    const again = await refund(intent.id, { amount: 1000 }, k);
    expect(again.status).to.equal(201);
    expect(again.headers.get('idempotent-replayed')).to.equal('true');
    expect(again.body).to.deep.equal(first.body);
    const other = await refund(intent.id, { amount: 2000 }, k);
    expect(other.status).to.equal(422);
    expect(other.body.type).to.equal(`${P}idempotency-key-reused`);
    const rows = await query(svc.deps, 'SELECT amount FROM refunds WHERE intent_id = $1', [intent.id]);
    expect(rows).to.have.length(1);
  });

  it('a failed payment is not refundable (409); an unknown intent is 404; the key is required (400)', async () => {
    const failed = await paidIntent(CARDS.declined);
    expect(failed.status).to.equal('failed');
    const res = await refund(failed.id, {});
    expect(res.status).to.equal(409);
    expect(res.body).to.include({ type: `${P}intent-not-refundable`, intentStatus: 'failed' });
    const none = await refund('00000000-0000-4000-8000-000000000000', {});
    expect(none.status).to.equal(404);
    const noKey = await svc.call('POST', `/internal/intents/${failed.id}/refunds`, { as: ordersService, body: {} });
    expect(noKey.status).to.equal(400);
    expect(noKey.body.type).to.equal(`${P}idempotency-key-required`);
  });
});
