// The provider port: what the use cases need of a PSP. The built-in adapter is the simulator (simulator.ts);
// a Stripe-style REST adapter implements the same interface, registers in `providerFactories` below and in
// config.ts PROVIDERS, and is chosen with PAYMENTS_PROVIDER; nothing else changes.
import type { Logger, Sequelize, Transaction } from '@eventtickets/platform';
import type { CardInput, CardSummary } from '../domain/card.ts';
import type { ChargeResult, ProviderEvent } from '../domain/types.ts';
import type { PaymentsConfig, ProviderName } from '../config.ts';
import { createSimulator } from './simulator.ts';

export interface ChargeRequest {
  /** Also the provider-side idempotency key: one charge per intent, whatever retries. */
  intentId: string;
  amount: number;
  currency: string;
  providerToken: string;
}

export interface RefundRequest {
  /** Also the provider-side idempotency key. */
  refundId: string;
  intentId: string;
  providerRef: string;
  amount: number;
  currency: string;
}

export interface PaymentProvider {
  readonly name: string;
  /** Client-side tokenisation: a valid card (checked by domain/card.ts) → what may be stored. The card number
   *  and CVC go no further than this call. */
  tokenise(card: CardInput): { summary: CardSummary; providerToken: string };
  /** Charges inside the caller's transaction (an adapter with its own storage may ignore t; a remote one sends
   *  the intent id as its idempotency key, so a rolled-back transaction retried charges once). */
  charge(t: Transaction, req: ChargeRequest): Promise<ChargeResult>;
  refund(t: Transaction, req: RefundRequest): Promise<{ providerRef: string }>;
  /** Verifies and parses a webhook; throws HttpProblem 400 (webhook-signature-invalid / -timestamp-stale). */
  parseWebhook(rawBody: string, signature: string | undefined, nowS: number): ProviderEvent;
}

export interface ProviderDeps {
  config: PaymentsConfig;
  db: Sequelize;
  logger: Logger;
}

export const providerFactories: Record<ProviderName, (deps: ProviderDeps) => PaymentProvider> = {
  simulator: (d) =>
    createSimulator({
      db: d.db,
      webhookSecret: d.config.PAYMENTS_WEBHOOK_SECRET,
      toleranceS: d.config.WEBHOOK_TOLERANCE_S,
      asyncDelayMs: d.config.SIMULATOR_ASYNC_DELAY_MS,
    }),
};
