// Webhooks: the simulator's asynchronous card settles through a real HTTP webhook signed with HMAC-SHA256
// over "timestamp.body"; a replayed, tampered, unsigned or stale webhook changes nothing; the schedule is
// durable (a restart delivers what was due, after back-off when the URL failed).
import { expect } from 'chai';
import { waitFor } from '@eventtickets/platform/testing';
import {
  addCard,
  buyer,
  CARDS,
  createIntent,
  dropDatabase,
  eventsOf,
  intentBody,
  ordersService,
  query,
  startInstance,
  suiteConfig,
  TEST_WEBHOOK_SECRET,
  type Instance,
} from './helpers.ts';
import { signatureHeader } from '../src/domain/webhook-signature.ts';
import type { PaymentsConfig } from '../src/config.ts';

const P = 'https://eventtickets.dev/problems/';
const nowS = () => Math.floor(Date.now() / 1000);

async function intentStatus(svc: Instance, id: string): Promise<string> {
  return (await svc.call('GET', `/internal/intents/${id}`, { as: ordersService })).body.status;
}

/** An intent confirmed with the asynchronous card: processing, its webhook scheduled. */
async function processingIntent(svc: Instance) {
  const me = buyer();
  const pm = await addCard(svc.call, me, CARDS.async);
  const intent = await createIntent(svc.call, intentBody({ userId: me.userId }));
  const res = await svc.call('POST', `/internal/intents/${intent.id}/confirm`, {
    as: ordersService,
    body: { paymentMethodId: pm },
  });
  expect(res.status).to.equal(200);
  expect(res.body.status).to.equal('processing');
  return intent;
}

describe('payments/webhooks: the asynchronous card over real HTTP', function () {
  let config: PaymentsConfig | undefined;
  let svc: Instance;

  before(async function () {
    config = await suiteConfig(this, { SIMULATOR_ASYNC_DELAY_MS: '300' });
    svc = await startInstance(config);
  });
  after(async () => {
    await svc?.stop();
    await dropDatabase(config);
  });

  it('answers processing, then the simulator POSTs the signed webhook and the intent succeeds (payment.succeeded)', async () => {
    const intent = await processingIntent(svc);
    expect(await eventsOf(svc.deps, intent.id)).to.deep.equal([]);
    await waitFor('the webhook to settle the intent', async () => (await intentStatus(svc, intent.id)) === 'succeeded');
    expect((await eventsOf(svc.deps, intent.id)).map((e) => e.type)).to.deep.equal(['payment.succeeded']);
    const [delivery] = await query(svc.deps, 'SELECT * FROM webhook_deliveries WHERE body LIKE $1', [`%${intent.id}%`]);
    expect(delivery.delivered_at).to.be.a('date');
    expect(delivery.last_status).to.equal(200);
    const [recorded] = await query(svc.deps, 'SELECT provider, type FROM provider_events WHERE intent_id = $1', [
      intent.id,
    ]);
    expect(recorded).to.deep.equal({ provider: 'simulator', type: 'payment_intent.succeeded' });
  });

  it('a replay of the delivered webhook (freshly and validly signed) is 200 duplicate and changes nothing', async () => {
    const intent = await processingIntent(svc);
    await waitFor('the webhook', async () => (await intentStatus(svc, intent.id)) === 'succeeded');
    const [delivery] = await query(svc.deps, 'SELECT body FROM webhook_deliveries WHERE body LIKE $1', [
      `%${intent.id}%`,
    ]);
    const before = await svc.call('GET', `/internal/intents/${intent.id}`, { as: ordersService });
    for (let i = 0; i < 3; i++) {
      const res = await svc.call('POST', '/api/payments/webhooks/simulator', {
        rawBody: delivery.body,
        headers: { 'Payments-Signature': signatureHeader(TEST_WEBHOOK_SECRET, nowS(), delivery.body) },
      });
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ received: true, duplicate: true });
    }
    expect((await svc.call('GET', `/internal/intents/${intent.id}`, { as: ordersService })).body).to.deep.equal(
      before.body,
    );
    expect((await eventsOf(svc.deps, intent.id)).map((e) => e.type)).to.deep.equal(['payment.succeeded']);
  });
});

describe('payments/webhooks: rejected webhooks change nothing', function () {
  let config: PaymentsConfig | undefined;
  let svc: Instance;

  before(async function () {
    // the simulator's own webhook is due in an hour: this suite plays the PSP itself
    config = await suiteConfig(this, { SIMULATOR_ASYNC_DELAY_MS: '3600000' });
    svc = await startInstance(config);
  });
  after(async () => {
    await svc?.stop();
    await dropDatabase(config);
  });

  async function scheduledBody(intentId: string): Promise<string> {
    const [row] = await query(svc.deps, 'SELECT body FROM webhook_deliveries WHERE body LIKE $1', [`%${intentId}%`]);
    return row.body;
  }
  const post = (body: string, signature?: string, provider = 'simulator') =>
    svc.call('POST', `/api/payments/webhooks/${provider}`, {
      rawBody: body,
      headers: signature === undefined ? {} : { 'Payments-Signature': signature },
    });
  async function expectUnchanged(intentId: string) {
    expect(await intentStatus(svc, intentId)).to.equal('processing');
    expect(await eventsOf(svc.deps, intentId)).to.deep.equal([]);
    expect(await query(svc.deps, 'SELECT 1 FROM provider_events WHERE intent_id = $1', [intentId])).to.deep.equal([]);
  }

  it('tampering: a good signature over another body is 400 webhook-signature-invalid', async () => {
    const intent = await processingIntent(svc);
    const body = await scheduledBody(intent.id);
    const signature = signatureHeader(TEST_WEBHOOK_SECRET, nowS(), body);
    const tampered = body.replace('payment_intent.succeeded', 'payment_intent.payment_failed');
    expect(tampered).to.not.equal(body);
    const res = await post(tampered, signature);
    expect(res.status).to.equal(400);
    expect(res.body.type).to.equal(`${P}webhook-signature-invalid`);
    // the same body with a signature by another secret, or with the timestamp changed after signing
    const otherSecret = signatureHeader('another-secret-another-secret-another', nowS(), body);
    expect((await post(body, otherSecret)).body.type).to.equal(`${P}webhook-signature-invalid`);
    const shifted = signature.replace(/^t=(\d+)/, (_m, t) => `t=${Number(t) + 1}`);
    expect((await post(body, shifted)).body.type).to.equal(`${P}webhook-signature-invalid`);
    await expectUnchanged(intent.id);
  });

  it('no signature, a malformed one: 400 webhook-signature-invalid', async () => {
    const intent = await processingIntent(svc);
    const body = await scheduledBody(intent.id);
    for (const sig of [undefined, 'garbage', `t=${nowS()}`, `v1=${'a'.repeat(64)}`, `t=${nowS()},v1=xyz`]) {
      const res = await post(body, sig);
      expect(res.status, String(sig)).to.equal(400);
      expect(res.body.type).to.equal(`${P}webhook-signature-invalid`);
    }
    await expectUnchanged(intent.id);
  });

  it('a stale or future timestamp (more than 300 s away), even validly signed, is 400 webhook-timestamp-stale', async () => {
    const intent = await processingIntent(svc);
    const body = await scheduledBody(intent.id);
    for (const t of [nowS() - 301, nowS() - 3600, nowS() + 400]) {
      const res = await post(body, signatureHeader(TEST_WEBHOOK_SECRET, t, body));
      expect(res.status).to.equal(400);
      expect(res.body.type).to.equal(`${P}webhook-timestamp-stale`);
    }
    await expectUnchanged(intent.id);
    // within the tolerance it is accepted, once
    const ok = await post(body, signatureHeader(TEST_WEBHOOK_SECRET, nowS() - 200, body));
    expect(ok.status).to.equal(200);
    expect(ok.body).to.deep.equal({ received: true, duplicate: false });
    expect(await intentStatus(svc, intent.id)).to.equal('succeeded');
  });

  it('an unknown provider is 404 unknown-provider; a body off the contract is 400; neither changes anything', async () => {
    const intent = await processingIntent(svc);
    const body = await scheduledBody(intent.id);
    const signature = signatureHeader(TEST_WEBHOOK_SECRET, nowS(), body);
    const unknown = await post(body, signature, 'stripe');
    expect(unknown.status).to.equal(404);
    expect(unknown.body.type).to.equal(`${P}unknown-provider`);
    const offContract = await post(
      '{"hello":"world"}',
      signatureHeader(TEST_WEBHOOK_SECRET, nowS(), '{"hello":"world"}'),
    );
    expect(offContract.status).to.equal(400);
    await expectUnchanged(intent.id);
  });

  it('concurrent deliveries of one event settle it once', async () => {
    const intent = await processingIntent(svc);
    const body = await scheduledBody(intent.id);
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => post(body, signatureHeader(TEST_WEBHOOK_SECRET, nowS(), body))),
    );
    expect(answers.map((a) => a.status)).to.deep.equal(Array(8).fill(200));
    expect(answers.filter((a) => a.body.duplicate === false)).to.have.length(1);
    expect((await eventsOf(svc.deps, intent.id)).map((e) => e.type)).to.deep.equal(['payment.succeeded']);
  });
});

describe('payments/webhooks: the schedule is durable', function () {
  let config: PaymentsConfig | undefined;
  let first: Instance | undefined;
  let second: Instance | undefined;

  before(async function () {
    config = await suiteConfig(this, { SIMULATOR_ASYNC_DELAY_MS: '100' });
  });
  after(async () => {
    await first?.stop();
    await second?.stop();
    await dropDatabase(config);
  });

  it('a failed delivery is retried with back-off, and a restarted service delivers it', async () => {
    // the first instance posts to a port where nothing listens: the attempt fails and is rescheduled
    first = await startInstance(config!, { webhookUrl: () => 'http://127.0.0.1:9/api/payments/webhooks/simulator' });
    const intent = await processingIntent(first);
    const failed = await waitFor('a failed attempt', async () => {
      const [row] = await query(first!.deps, 'SELECT * FROM webhook_deliveries WHERE body LIKE $1', [`%${intent.id}%`]);
      return row?.attempts >= 1 && row.last_error && row.lease_until === null ? row : undefined;
    });
    expect(failed.delivered_at).to.equal(null);
    expect(failed.due_at.getTime()).to.be.greaterThan(failed.created_at.getTime());
    await first.stop();
    second = await startInstance(config!);
    expect(await intentStatus(second, intent.id)).to.be.oneOf(['processing', 'succeeded']);
    await waitFor(
      'the restarted service to deliver the webhook',
      async () => (await intentStatus(second!, intent.id)) === 'succeeded',
    );
    // The intent succeeds while the webhook is handled; the delivery row is marked once the sender has read the
    // 200, a moment later: wait for that mark rather than read it once.
    const row = await waitFor('the delivery to be marked delivered', async () => {
      const [r] = await query(second!.deps, 'SELECT * FROM webhook_deliveries WHERE body LIKE $1', [`%${intent.id}%`]);
      return r?.delivered_at ? r : undefined;
    });
    expect(row.delivered_at).to.be.a('date');
    expect(row.attempts).to.be.greaterThanOrEqual(2);
  });
});
