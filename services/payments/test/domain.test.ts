// Pure rules: card checks, the simulator's test cards, webhook signatures, amounts, receipts.
import { expect } from 'chai';
import { brandOf, cardErrors, isExpired, luhnValid, summarise } from '../src/domain/card.ts';
import { outcomeClassFor, simulateCharge } from '../src/domain/simulator.ts';
import { signatureHeader, verifySignature } from '../src/domain/webhook-signature.ts';
import { expectedAmount, receiptNumber, refundable } from '../src/domain/intent-rules.ts';
import { escapeHtml, formatMoney } from '../src/domain/receipt.ts';
import { backoffMs } from '../src/use-cases/webhook-delivery.ts';

describe('payments/domain', () => {
  const now = new Date('2026-06-15T12:00:00Z');

  it('Luhn and brands', () => {
    expect(luhnValid('4242424242424242')).to.equal(true);
    expect(luhnValid('4242424242424241')).to.equal(false);
    expect(brandOf('4242424242424242')).to.equal('visa');
    expect(brandOf('5555555555554444')).to.equal('mastercard');
    expect(brandOf('2223003122003222')).to.equal('mastercard');
    expect(brandOf('378282246310005')).to.equal('amex');
    expect(brandOf('6011111111111117')).to.equal('discover');
    expect(brandOf('3056930009020004')).to.equal('unknown');
  });

  it('a card is valid through the end of its expiry month', () => {
    expect(isExpired(6, 2026, now)).to.equal(false);
    expect(isExpired(5, 2026, now)).to.equal(true);
    expect(isExpired(12, 2026, new Date('2026-12-31T23:59:59Z'))).to.equal(false);
    expect(isExpired(12, 2026, new Date('2027-01-01T00:00:00Z'))).to.equal(true);
  });

  it('card errors name each field; a summary keeps no number or CVC', () => {
    const card = { number: '4242 4242 4242 4242', expMonth: 6, expYear: 2026, cvc: '123' };
    expect(cardErrors(card, now)).to.deep.equal([]);
    expect(cardErrors({ ...card, number: '4242 4242  4242 4242' }, now).map((e) => e.field)).to.deep.equal([
      'card.number',
    ]);
    expect(cardErrors({ ...card, expMonth: 0 }, now).map((e) => e.field)).to.deep.equal(['card.expMonth']);
    expect(cardErrors({ ...card, cvc: '1234' }, now).map((e) => e.field)).to.deep.equal(['card.cvc']);
    expect(summarise(card)).to.deep.equal({ brand: 'visa', last4: '4242', expMonth: 6, expYear: 2026 });
  });

  it("the simulator's test cards", () => {
    expect(outcomeClassFor('4242424242424242')).to.equal('succeed');
    expect(outcomeClassFor('4000000000000002')).to.equal('decline:card_declined');
    expect(outcomeClassFor('4000000000009995')).to.equal('decline:insufficient_funds');
    expect(outcomeClassFor('4000000000000069')).to.equal('decline:expired_card');
    expect(outcomeClassFor('4000000000000077')).to.equal('async_succeed');
    expect(outcomeClassFor('5555555555554444')).to.equal('succeed');
    expect(simulateCharge('decline:insufficient_funds')).to.deep.equal({
      status: 'failed',
      reason: 'insufficient_funds',
    });
    expect(simulateCharge('async_succeed')).to.deep.equal({ status: 'pending', then: 'succeeded' });
  });

  it('webhook signatures: good, tampered, other secret, stale, future, malformed', () => {
    const secret = 's'.repeat(32);
    const body = '{"id":"evt_1"}';
    const t = 1_800_000_000;
    const header = signatureHeader(secret, t, body);
    expect(header).to.match(/^t=1800000000,v1=[0-9a-f]{64}$/);
    expect(verifySignature(header, body, secret, t + 10, 300)).to.deep.equal({ ok: true, timestampS: t });
    expect(verifySignature(header, body + ' ', secret, t, 300)).to.include({ ok: false, reason: 'invalid' });
    expect(verifySignature(header, body, 'x'.repeat(32), t, 300)).to.include({ ok: false, reason: 'invalid' });
    expect(verifySignature(header, body, secret, t + 301, 300)).to.include({ ok: false, reason: 'stale' });
    expect(verifySignature(header, body, secret, t - 301, 300)).to.include({ ok: false, reason: 'stale' });
    expect(verifySignature(undefined, body, secret, t, 300)).to.include({ ok: false, reason: 'invalid' });
    expect(verifySignature('t=abc,v1=00', body, secret, t, 300)).to.include({ ok: false, reason: 'invalid' });
    // a rotated secret: either v1 may match
    const both = `${header},v1=${'0'.repeat(64)}`;
    expect(verifySignature(both, body, secret, t, 300).ok).to.equal(true);
  });

  it('amounts, refunds, receipt numbers, money, escaping, back-off', () => {
    const req = {
      orderId: 'o',
      userId: 'u',
      amount: 0,
      currency: 'EUR',
      lines: [{ description: 'a', quantity: 2, unitAmount: 100, amount: 200 }],
      fees: [{ description: 'fee', amount: 50 }],
      taxes: [{ description: 'VAT', rate: 20, amount: 42 }],
    };
    expect(expectedAmount(req)).to.equal(250);
    expect(refundable(1000, 400)).to.equal(600);
    expect(refundable(1000, 1000)).to.equal(0);
    expect(receiptNumber(2026, 42)).to.equal('R-2026-000042');
    expect(formatMoney(9350, 'EUR')).to.equal('€93.50');
    expect(formatMoney(1200, 'JPY')).to.equal('JP¥1,200');
    expect(escapeHtml(`<a href="x">'&'</a>`)).to.equal('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    expect([1, 2, 3, 10, 30].map((n) => backoffMs(n, 300_000))).to.deep.equal([1_000, 2_000, 4_000, 300_000, 300_000]);
  });
});
