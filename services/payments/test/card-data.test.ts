// No card number or CVC anywhere: every log line the service writes during a run of every card path (good and
// refused cards, a body off the contract, malformed JSON, a database failure while tokenising, intents,
// webhooks, refunds, receipts), and every row of every table afterwards, are searched for the numbers and CVCs.
import { expect } from 'chai';
import { waitFor } from '@eventtickets/platform/testing';
import {
  buyer,
  CARDS,
  createIntent,
  dropDatabase,
  intentBody,
  key,
  ordersService,
  query,
  startInstance,
  suiteConfig,
  type Instance,
} from './helpers.ts';
import type { PaymentsConfig } from '../src/config.ts';

const CVC = '918';
const AMEX = { number: '3782 822463 10005', cvc: '7391' };
const year = new Date().getUTCFullYear() + 1;

/** The forms a card number could be written in. */
function forms(number: string): string[] {
  const digits = number.replace(/\D/g, '');
  return [
    ...new Set([digits, number, digits.replace(/(\d{4})(?=\d)/g, '$1 '), digits.replace(/(\d{4})(?=\d)/g, '$1-')]),
  ];
}

describe('payments/card data is never logged or stored', function () {
  let config: PaymentsConfig | undefined;
  let svc: Instance;

  before(async function () {
    config = await suiteConfig(this, { SIMULATOR_ASYNC_DELAY_MS: '100', LOG_LEVEL: 'trace' });
    svc = await startInstance(config, { captureLogs: true });
  });
  after(async () => {
    await svc?.stop();
    await dropDatabase(config);
  });

  it('leaves no card number or CVC in any log line or table after every card path', async () => {
    const me = buyer();
    const tokenise = (card: Record<string, unknown>) =>
      svc.call('POST', '/api/payments/methods', { as: me, body: { card } });
    const methods: Record<string, string> = {};
    for (const [name, number] of Object.entries(CARDS)) {
      const res = await tokenise({ number, expMonth: 12, expYear: year, cvc: CVC });
      expect(res.status, name).to.equal(201);
      methods[name] = res.body.id;
    }
    expect((await tokenise({ number: AMEX.number, expMonth: 12, expYear: year, cvc: AMEX.cvc })).status).to.equal(201);
    // refused: by the card checks, by the contract, as malformed JSON
    expect((await tokenise({ number: '4242 4242 4242 4241', expMonth: 12, expYear: year, cvc: CVC })).status).to.equal(
      422,
    );
    expect((await tokenise({ number: CARDS.succeeds, expMonth: 12, expYear: 2020, cvc: CVC })).status).to.equal(422);
    expect(
      (await tokenise({ number: CARDS.succeeds, expMonth: 12, expYear: year, cvc: CVC, holder: 'x' })).status,
    ).to.equal(400);
    const malformed = await svc.call('POST', '/api/payments/methods', {
      as: me,
      rawBody: `{"card":{"number":"${CARDS.succeeds}","cvc":"${CVC}",`,
    });
    expect(malformed.status).to.equal(400);
    // an unexpected failure while tokenising (the table is gone for a moment): a 500, logged with its error
    await query(svc.deps, 'ALTER TABLE payment_methods RENAME TO payment_methods_away');
    try {
      const failed = await tokenise({ number: CARDS.succeeds, expMonth: 12, expYear: year, cvc: CVC });
      expect(failed.status).to.equal(500);
    } finally {
      await query(svc.deps, 'ALTER TABLE payment_methods_away RENAME TO payment_methods');
    }
    // intents of every outcome, the async one through its webhook, a refund, a receipt
    const intents = [];
    for (const name of ['succeeds', 'declined', 'insufficientFunds', 'expiredCard', 'async'] as const) {
      const intent = await createIntent(svc.call, intentBody({ userId: me.userId }));
      const res = await svc.call('POST', `/internal/intents/${intent.id}/confirm`, {
        as: ordersService,
        body: { paymentMethodId: methods[name] },
      });
      expect(res.status).to.equal(200);
      intents.push(res.body);
    }
    const asyncIntent = intents[4]!;
    await waitFor('the async card webhook', async () => {
      const r = await svc.call('GET', `/internal/intents/${asyncIntent.id}`, { as: ordersService });
      return r.body.status === 'succeeded';
    });
    expect(
      (
        await svc.call('POST', `/internal/intents/${intents[0]!.id}/refunds`, {
          as: ordersService,
          body: { amount: 100 },
          headers: { 'Idempotency-Key': key() },
        })
      ).status,
    ).to.equal(201);
    expect(
      (await svc.call('GET', `/internal/orders/${intents[0]!.orderId}/receipt`, { as: ordersService })).status,
    ).to.equal(200);
    await svc.deps.bus.relayOnce();

    // the logs: every line, including the access lines of POST /api/payments/methods and the 500's error line
    const logs = svc.logs;
    expect(logs.filter((l) => l.includes('"path":"/api/payments/methods"')).length).to.be.greaterThanOrEqual(10);
    expect(logs.some((l) => l.includes('unhandled error'))).to.equal(true);
    const pans = [...Object.values(CARDS), AMEX.number, '4242 4242 4242 4241'].flatMap(forms);
    for (const line of logs) {
      for (const pan of pans) expect(line, 'a log line').to.not.include(pan);
      for (const cvc of [CVC, AMEX.cvc]) {
        expect(line).to.not.include(`"${cvc}"`);
        expect(line).to.not.match(new RegExp(`[:=]${cvc}(?![0-9])`));
      }
      expect(line).to.not.match(/"(cvc|cvv|number|cardNumber)":"(?!\[redacted\])/);
    }

    // every table, every row, as text
    const tables = await query<{ table_name: string }>(
      svc.deps,
      "SELECT table_name::text AS table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    );
    expect(tables.map((t) => t.table_name)).to.include.members([
      'payment_methods',
      'payment_intents',
      'outbox',
      'webhook_deliveries',
    ]);
    let rowsSeen = 0;
    for (const { table_name } of tables) {
      const dump = await query<{ row: string }>(svc.deps, `SELECT t::text AS row FROM "${table_name}" t`);
      rowsSeen += dump.length;
      for (const { row } of dump) {
        for (const pan of pans) expect(row, table_name).to.not.include(pan);
        for (const cvc of [CVC, AMEX.cvc]) expect(row, table_name).to.not.match(new RegExp(`[(,"]${cvc}[,)"]`));
      }
    }
    expect(rowsSeen).to.be.greaterThan(20);
    const columns = await query<{ column_name: string }>(
      svc.deps,
      "SELECT column_name::text AS column_name FROM information_schema.columns WHERE table_schema = 'public'",
    );
    expect(columns.map((c) => c.column_name).filter((c) => /cvc|cvv|pan|card_number|^number$/.test(c))).to.deep.equal(
      [],
    );
  });
});
