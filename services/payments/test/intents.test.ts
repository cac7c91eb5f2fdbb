// Intents: one per pay attempt, created idempotently by orders, confirmed with a method of the intent's user.
// The state machine is in the database and every settlement is in the outbox; an order is charged once.
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

describe('payments/intents', function () {
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

  const confirm = (id: string, paymentMethodId: string) =>
    svc.call('POST', `/internal/intents/${id}/confirm`, { as: ordersService, body: { paymentMethodId } });
  const charges = async (intentId: string) =>
    Number(
      (await query(svc.deps, 'SELECT count(*) AS n FROM simulator_charges WHERE intent_id = $1', [intentId]))[0].n,
    );

  describe('create', () => {
    it('creates an intent awaiting confirmation; the same key and body answer the first result', async () => {
      const me = buyer();
      const body = intentBody({ userId: me.userId });
      const k = key();
      const first = await svc.call('POST', '/internal/intents', {
        as: ordersService,
        body,
        headers: { 'Idempotency-Key': k },
      });
      expect(first.status).to.equal(201);
      expect(first.body).to.include({
        orderId: body.orderId,
        userId: me.userId,
        amount: 9350,
        currency: 'EUR',
        status: 'requires_confirmation',
        paymentMethodId: null,
        card: null,
        failureReason: null,
        refundedAmount: 0,
      });
      const again = await svc.call('POST', '/internal/intents', {
        as: ordersService,
        body,
        headers: { 'Idempotency-Key': k },
      });
      expect(again.status).to.equal(201);
      expect(again.headers.get('idempotent-replayed')).to.equal('true');
      expect(again.body).to.deep.equal(first.body);
      const rows = await query(svc.deps, 'SELECT intent_id FROM payment_intents WHERE order_id = $1', [body.orderId]);
      expect(rows).to.have.length(1);
    });

    it('the same Idempotency-Key with another amount is 422 idempotency-key-reused and creates nothing', async () => {
      const me = buyer();
      const body = intentBody({ userId: me.userId });
      const k = key();
      expect(
        (await svc.call('POST', '/internal/intents', { as: ordersService, body, headers: { 'Idempotency-Key': k } }))
          .status,
      ).to.equal(201);
      const other = intentBody({ userId: me.userId, orderId: body.orderId, ticket: 5000 });
      const res = await svc.call('POST', '/internal/intents', {
        as: ordersService,
        body: other,
        headers: { 'Idempotency-Key': k },
      });
      expect(res.status).to.equal(422);
      expect(res.body.type).to.equal(`${P}idempotency-key-reused`);
      const rows = await query(svc.deps, 'SELECT amount FROM payment_intents WHERE order_id = $1', [body.orderId]);
      expect(rows.map((r) => Number(r.amount))).to.deep.equal([9350]);
    });

    it('needs an Idempotency-Key (400) and an amount that is the sum of lines and fees (422 amount-mismatch)', async () => {
      const body = intentBody({ userId: 'u-1' });
      const noKey = await svc.call('POST', '/internal/intents', { as: ordersService, body });
      expect(noKey.status).to.equal(400);
      expect(noKey.body.type).to.equal(`${P}idempotency-key-required`);
      const wrong = await svc.call('POST', '/internal/intents', {
        as: ordersService,
        body: { ...body, amount: body.amount + 1 },
        headers: { 'Idempotency-Key': key() },
      });
      expect(wrong.status).to.equal(422);
      expect(wrong.body).to.include({ type: `${P}amount-mismatch`, expected: body.amount });
      const badLine = await svc.call('POST', '/internal/intents', {
        as: ordersService,
        body: { ...body, lines: [{ ...body.lines[0], amount: 1 }], amount: 1 + 250 },
        headers: { 'Idempotency-Key': key() },
      });
      expect(badLine.status).to.equal(422);
      expect(badLine.body.errors).to.deep.equal([
        { field: 'lines.0.amount', message: 'must equal quantity × unitAmount' },
      ]);
      const rows = await query(svc.deps, 'SELECT 1 FROM payment_intents WHERE order_id = $1', [body.orderId]);
      expect(rows).to.have.length(0);
    });

    it('answers only the orders service: no token 401, a user 403 service-only, another service 403', async () => {
      const body = intentBody({ userId: 'u-1' });
      const headers = { 'Idempotency-Key': key() };
      expect((await svc.call('POST', '/internal/intents', { body, headers })).status).to.equal(401);
      const asUser = await svc.call('POST', '/internal/intents', { as: buyer(), body, headers });
      expect(asUser.status).to.equal(403);
      expect(asUser.body.type).to.equal(`${P}service-only`);
      const asOther = await svc.call('POST', '/internal/intents', { as: { service: 'catalog' }, body, headers });
      expect(asOther.status).to.equal(403);
    });
  });

  describe('confirm', () => {
    it('a succeeding card: succeeded with card and receipt number, payment.succeeded in the outbox, charged once', async () => {
      const me = buyer();
      const pm = await addCard(svc.call, me, CARDS.succeeds);
      const intent = await createIntent(svc.call, intentBody({ userId: me.userId }));
      const res = await confirm(intent.id, pm);
      expect(res.status).to.equal(200);
      expect(res.body).to.include({ status: 'succeeded', paymentMethodId: pm, failureReason: null });
      expect(res.body.card).to.deep.equal({ brand: 'visa', last4: '4242' });
      expect(res.body.receiptNumber).to.match(/^R-\d{4}-\d{6}$/);
      expect(await eventsOf(svc.deps, intent.id)).to.deep.equal([
        {
          type: 'payment.succeeded',
          payload: { paymentId: intent.id, orderId: intent.orderId, amount: intent.amount, currency: 'EUR' },
        },
      ]);
      expect(await charges(intent.id)).to.equal(1);
      // confirming again with the same method is the same answer, and charges nothing more
      const again = await confirm(intent.id, pm);
      expect(again.status).to.equal(200);
      expect(again.body).to.deep.equal(res.body);
      expect(await charges(intent.id)).to.equal(1);
    });

    for (const [card, reason] of [
      [CARDS.declined, 'card_declined'],
      [CARDS.insufficientFunds, 'insufficient_funds'],
      [CARDS.expiredCard, 'expired_card'],
    ] as const) {
      it(`a declined card (${reason}): failed with the reason, payment.failed; the order may pay again`, async () => {
        const me = buyer();
        const bad = await addCard(svc.call, me, card);
        const body = intentBody({ userId: me.userId });
        const first = await createIntent(svc.call, body);
        const res = await confirm(first.id, bad);
        expect(res.status).to.equal(200);
        expect(res.body).to.include({ status: 'failed', failureReason: reason, receiptNumber: null });
        expect(await eventsOf(svc.deps, first.id)).to.deep.equal([
          {
            type: 'payment.failed',
            payload: { paymentId: first.id, orderId: body.orderId, amount: body.amount, currency: 'EUR', reason },
          },
        ]);
        // a failed intent cannot be confirmed again with another method: a new attempt is a new intent
        const good = await addCard(svc.call, me, CARDS.succeeds);
        const retry = await confirm(first.id, good);
        expect(retry.status).to.equal(409);
        expect(retry.body.type).to.equal(`${P}intent-not-confirmable`);
        const second = await createIntent(svc.call, body);
        expect((await confirm(second.id, good)).body.status).to.equal('succeeded');
      });
    }

    it('concurrent duplicate confirms charge once and all answer the same succeeded intent', async () => {
      const me = buyer();
      const pm = await addCard(svc.call, me, CARDS.succeeds);
      const intent = await createIntent(svc.call, intentBody({ userId: me.userId }));
      const answers = await Promise.all(Array.from({ length: 12 }, () => confirm(intent.id, pm)));
      expect(answers.map((a) => a.status)).to.deep.equal(Array(12).fill(200));
      expect(new Set(answers.map((a) => JSON.stringify(a.body))).size).to.equal(1);
      expect(answers[0]!.body.status).to.equal('succeeded');
      expect(await charges(intent.id)).to.equal(1);
      expect((await eventsOf(svc.deps, intent.id)).map((e) => e.type)).to.deep.equal(['payment.succeeded']);
    });

    it('two intents of one order confirmed at once: one charge, the other 409; then the order is paid', async () => {
      const me = buyer();
      const pm = await addCard(svc.call, me, CARDS.succeeds);
      const body = intentBody({ userId: me.userId });
      const a = await createIntent(svc.call, body);
      const b = await createIntent(svc.call, body);
      const [ra, rb] = await Promise.all([confirm(a.id, pm), confirm(b.id, pm)]);
      expect([ra.status, rb.status].sort()).to.deep.equal([200, 409]);
      const loser = ra.status === 409 ? ra : rb;
      expect(loser.body.type).to.be.oneOf([`${P}order-already-paid`, `${P}payment-in-progress`]);
      const paid = await query(
        svc.deps,
        "SELECT count(*) AS n FROM payment_intents WHERE order_id = $1 AND status = 'succeeded'",
        [body.orderId],
      );
      expect(Number(paid[0].n)).to.equal(1);
      const charged = await query(
        svc.deps,
        'SELECT count(*) AS n FROM simulator_charges c JOIN payment_intents i USING (intent_id) WHERE i.order_id = $1',
        [body.orderId],
      );
      expect(Number(charged[0].n)).to.equal(1);
      const third = await svc.call('POST', '/internal/intents', {
        as: ordersService,
        body,
        headers: { 'Idempotency-Key': key() },
      });
      expect(third.status).to.equal(409);
      expect(third.body.type).to.equal(`${P}order-already-paid`);
    });

    it('the database refuses a second succeeded intent for an order (one_live_intent_per_order)', async () => {
      const me = buyer();
      const pm = await addCard(svc.call, me, CARDS.succeeds);
      const body = intentBody({ userId: me.userId });
      const a = await createIntent(svc.call, body);
      const b = await createIntent(svc.call, body);
      await confirm(a.id, pm);
      let error: any;
      await query(
        svc.deps,
        `UPDATE payment_intents SET status = 'succeeded', payment_method_id = $2, succeeded_at = now(), receipt_number = 'R-x'
         WHERE intent_id = $1`,
        [b.id, pm],
      ).catch((err) => (error = err));
      expect(error?.parent?.constraint).to.equal('one_live_intent_per_order');
    });

    it('counts charges and settlements in payments_ metrics on /metrics', async () => {
      const me = buyer();
      const pm = await addCard(svc.call, me, CARDS.insufficientFunds);
      const intent = await createIntent(svc.call, intentBody({ userId: me.userId }));
      await confirm(intent.id, pm);
      const text = await (await fetch(`${svc.url}/metrics`)).text();
      expect(text).to.match(/^payments_charges_total\{outcome="failed",service="payments"\} [1-9]/m);
      expect(text).to.match(
        /^payments_settled_total\{outcome="failed",reason="insufficient_funds",service="payments"\} [1-9]/m,
      );
      expect(text).to.match(/^payments_intents_created_total\{service="payments"\} [1-9]/m);
      expect(text).to.match(/^payments_webhook_deliveries_pending\{service="payments"\} \d+/m);
    });

    it('unknown intent 404 intent-not-found; unknown method 404 payment-method-not-found', async () => {
      const me = buyer();
      const pm = await addCard(svc.call, me, CARDS.succeeds);
      const none = await confirm('00000000-0000-4000-8000-000000000000', pm);
      expect(none.status).to.equal(404);
      expect(none.body.type).to.equal(`${P}intent-not-found`);
      const intent = await createIntent(svc.call, intentBody({ userId: me.userId }));
      const noMethod = await confirm(intent.id, '00000000-0000-4000-8000-000000000000');
      expect(noMethod.status).to.equal(404);
      expect(noMethod.body.type).to.equal(`${P}payment-method-not-found`);
    });
  });
});
