// The built-in PSP simulator, behind the provider port: test cards decide the outcome (domain/simulator.ts),
// charges and refunds go to its own ledger tables, and an asynchronous card's confirmation is a webhook put on
// a durable schedule in the same transaction (webhook-delivery.ts really POSTs it, signed, over HTTP).
import { randomUUID } from 'node:crypto';
import { HttpProblem, type Sequelize, type Transaction } from '@eventtickets/platform';
import { cardDigits, summarise, type CardInput } from '../domain/card.ts';
import { isOutcomeClass, outcomeClassFor, simulateCharge } from '../domain/simulator.ts';
import type { ChargeResult, ProviderEvent } from '../domain/types.ts';
import { verifySignature } from '../domain/webhook-signature.ts';
import { insertSimulatorCharge, insertSimulatorRefund, scheduleWebhook, simulatorChargeOf } from '../db/webhooks.ts';
import type { ChargeRequest, PaymentProvider, RefundRequest } from './provider.ts';

export const SIMULATOR = 'simulator';

export interface SimulatorOptions {
  db: Sequelize;
  webhookSecret: string;
  toleranceS: number;
  asyncDelayMs: number;
}

/** Webhook event types the simulator sends (Stripe's names). */
const EVENT_KINDS: Record<string, ProviderEvent['kind']> = {
  'payment_intent.succeeded': 'payment.succeeded',
  'payment_intent.payment_failed': 'payment.failed',
};

export function createSimulator(opts: SimulatorOptions): PaymentProvider {
  const { db } = opts;

  function tokenise(card: CardInput) {
    return { summary: summarise(card), providerToken: outcomeClassFor(cardDigits(card.number)!) };
  }

  async function charge(t: Transaction, req: ChargeRequest): Promise<ChargeResult> {
    // One charge per intent: a retry gets the first charge's answer.
    const existing = await simulatorChargeOf(db, req.intentId, t);
    if (existing) return resultOf(existing.outcome, existing.chargeId);
    const outcome = isOutcomeClass(req.providerToken) ? req.providerToken : 'decline:card_declined';
    const chargeId = `ch_sim_${randomUUID()}`;
    await insertSimulatorCharge(db, t, {
      chargeId,
      intentId: req.intentId,
      amount: req.amount,
      currency: req.currency,
      outcome,
    });
    const simulated = simulateCharge(outcome);
    if (simulated.status === 'pending') {
      const eventId = `evt_sim_${randomUUID()}`;
      const body = JSON.stringify({
        id: eventId,
        type: 'payment_intent.succeeded',
        created: Math.floor(Date.now() / 1000),
        data: { intentId: req.intentId, chargeId },
      });
      await scheduleWebhook(db, t, {
        deliveryId: randomUUID(),
        provider: SIMULATOR,
        eventId,
        body,
        delayMs: opts.asyncDelayMs,
      });
    }
    return resultOf(outcome, chargeId);
  }

  function resultOf(outcome: string, chargeId: string): ChargeResult {
    const simulated = simulateCharge(isOutcomeClass(outcome) ? outcome : 'decline:card_declined');
    if (simulated.status === 'failed') return { status: 'failed', providerRef: chargeId, reason: simulated.reason };
    return { status: simulated.status, providerRef: chargeId };
  }

  async function refund(t: Transaction, req: RefundRequest): Promise<{ providerRef: string }> {
    const refundRef = `re_sim_${req.refundId}`;
    await insertSimulatorRefund(db, t, { refundRef, chargeId: req.providerRef, amount: req.amount });
    return { providerRef: refundRef };
  }

  function parseWebhook(rawBody: string, signature: string | undefined, nowS: number): ProviderEvent {
    const check = verifySignature(signature, rawBody, opts.webhookSecret, nowS, opts.toleranceS);
    if (!check.ok)
      throw new HttpProblem(
        400,
        check.reason === 'stale' ? 'webhook-timestamp-stale' : 'webhook-signature-invalid',
        'Bad request',
        check.detail,
      );
    const event = JSON.parse(rawBody) as { id: string; type: string; data?: Record<string, unknown> };
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    return {
      id: event.id,
      type: event.type,
      kind: EVENT_KINDS[event.type] ?? 'other',
      intentId: str(event.data?.intentId),
      providerRef: str(event.data?.chargeId),
      reason: str(event.data?.reason),
    };
  }

  return { name: SIMULATOR, tokenise, charge, refund, parseWebhook };
}
