// Card tokenisation: POST /api/payments/methods for the signed-in user; the card checks (Luhn, expiry, CVC)
// are 422 card-invalid naming each field, and a method belongs to its user only.
import { expect } from 'chai';
import {
  addCard,
  buyer,
  CARDS,
  createIntent,
  dropDatabase,
  intentBody,
  ordersService,
  startInstance,
  suiteConfig,
  type Instance,
} from './helpers.ts';
import type { PaymentsConfig } from '../src/config.ts';

describe('payments/methods', function () {
  let config: PaymentsConfig | undefined;
  let svc: Instance;
  const year = new Date().getUTCFullYear() + 1;

  before(async function () {
    config = await suiteConfig(this);
    svc = await startInstance(config);
  });
  after(async () => {
    await svc?.stop();
    await dropDatabase(config);
  });

  it('tokenises a card: 201 with brand, last four and expiry only', async () => {
    const me = buyer();
    const res = await svc.call('POST', '/api/payments/methods', {
      as: me,
      body: { card: { number: CARDS.succeeds, expMonth: 3, expYear: year, cvc: '123' } },
    });
    expect(res.status).to.equal(201);
    expect(res.body).to.deep.equal({ id: res.body.id, brand: 'visa', last4: '4242', expMonth: 3, expYear: year });
    expect(res.headers.get('location')).to.equal(`/api/payments/methods/${res.body.id}`);
    const list = await svc.call('GET', '/api/payments/methods', { as: me });
    expect(list.status).to.equal(200);
    expect(list.body.items).to.deep.equal([res.body]);
  });

  it('recognises brands (Mastercard, American Express with a 4-digit CVC)', async () => {
    const me = buyer();
    const mc = await svc.call('POST', '/api/payments/methods', {
      as: me,
      body: { card: { number: '5555-5555-5555-4444', expMonth: 1, expYear: year, cvc: '999' } },
    });
    expect(mc.status).to.equal(201);
    expect(mc.body).to.include({ brand: 'mastercard', last4: '4444' });
    const amex = await svc.call('POST', '/api/payments/methods', {
      as: me,
      body: { card: { number: '378282246310005', expMonth: 1, expYear: year, cvc: '1234' } },
    });
    expect(amex.status).to.equal(201);
    expect(amex.body).to.include({ brand: 'amex', last4: '0005' });
  });

  const refusals: Array<[string, Record<string, unknown>, string[]]> = [
    ['a number failing the Luhn check', { number: '4242 4242 4242 4241' }, ['card.number']],
    ['a number with letters', { number: '4242-4242-abcd-4242' }, ['card.number']],
    ['a number too short', { number: '4242 42' }, ['card.number']],
    ['month 13', { expMonth: 13 }, ['card.expMonth']],
    ['an expired card', { expMonth: 1, expYear: 2020 }, ['card.expYear']],
    ['a 2-digit CVC', { cvc: '12' }, ['card.cvc']],
    ['a CVC with letters', { cvc: '12a' }, ['card.cvc']],
    ['a Visa with a 4-digit CVC', { cvc: '1234' }, ['card.cvc']],
    ['several faults at once', { number: '1234 5678 9012 3456', cvc: '1' }, ['card.number', 'card.cvc']],
  ];
  for (const [what, change, fields] of refusals) {
    it(`refuses ${what}: 422 card-invalid naming ${fields.join(', ')}, stores nothing`, async () => {
      const me = buyer();
      const res = await svc.call('POST', '/api/payments/methods', {
        as: me,
        body: { card: { number: CARDS.succeeds, expMonth: 12, expYear: year, cvc: '123', ...change } },
      });
      expect(res.status).to.equal(422);
      expect(res.body.type).to.equal('https://eventtickets.dev/problems/card-invalid');
      expect(res.body.errors.map((e: { field: string }) => e.field)).to.deep.equal(fields);
      expect((await svc.call('GET', '/api/payments/methods', { as: me })).body.items).to.deep.equal([]);
    });
  }

  it('refuses a body off the contract (400) and an anonymous caller (401)', async () => {
    const bad = await svc.call('POST', '/api/payments/methods', {
      as: buyer(),
      body: { card: { number: CARDS.succeeds, expMonth: 12, expYear: year, cvc: '123', name: 'x' } },
    });
    expect(bad.status).to.equal(400);
    expect(bad.body.errors).to.deep.equal([{ field: 'requestBody.card.name', message: 'is not allowed' }]);
    const anon = await svc.call('POST', '/api/payments/methods', {
      body: { card: { number: CARDS.succeeds, expMonth: 12, expYear: year, cvc: '123' } },
    });
    expect(anon.status).to.equal(401);
  });

  it("another buyer's method is unusable: not listed, and confirming with it is 404 as if absent", async () => {
    const alice = buyer();
    const bob = buyer();
    const alicesCard = await addCard(svc.call, alice, CARDS.succeeds);
    expect((await svc.call('GET', '/api/payments/methods', { as: bob })).body.items).to.deep.equal([]);
    const intent = await createIntent(svc.call, intentBody({ userId: bob.userId }));
    const res = await svc.call('POST', `/internal/intents/${intent.id}/confirm`, {
      as: ordersService,
      body: { paymentMethodId: alicesCard },
    });
    expect(res.status).to.equal(404);
    expect(res.body.type).to.equal('https://eventtickets.dev/problems/payment-method-not-found');
    const after = await svc.call('GET', `/internal/intents/${intent.id}`, { as: ordersService });
    expect(after.body.status).to.equal('requires_confirmation');
  });
});
