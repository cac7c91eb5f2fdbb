// Business metrics of payments (on the service's registry next to the platform's RED and event-bus metrics),
// every name prefixed `payments_`. Labels are bounded: outcomes and decline reasons, never ids or amounts.
import { prom, type Sequelize } from '@eventtickets/platform';
import { countPendingWebhooks } from './db/webhooks.ts';

export interface PaymentsMetrics {
  methodsCreated: prom.Counter;
  cardsRefused: prom.Counter;
  intentsCreated: prom.Counter;
  charges: prom.Counter<'outcome'>;
  payments: prom.Counter<'outcome' | 'reason'>;
  refunds: prom.Counter;
  webhooksReceived: prom.Counter<'outcome'>;
  webhookDeliveries: prom.Counter<'outcome'>;
}

export function createPaymentsMetrics(registry: prom.Registry, db: Sequelize): PaymentsMetrics {
  const registers = [registry];
  new prom.Gauge({
    name: 'payments_webhook_deliveries_pending',
    help: 'Simulator webhooks scheduled and not yet delivered (read from the database at scrape time)',
    registers,
    async collect() {
      const n = await countPendingWebhooks(db).catch(() => undefined);
      if (n !== undefined) this.set(n);
    },
  });
  return {
    methodsCreated: new prom.Counter({
      name: 'payments_methods_created_total',
      help: 'Cards tokenised',
      registers,
    }),
    cardsRefused: new prom.Counter({
      name: 'payments_cards_refused_total',
      help: 'Tokenisations refused by the card checks (Luhn, expiry, CVC)',
      registers,
    }),
    intentsCreated: new prom.Counter({
      name: 'payments_intents_created_total',
      help: 'Payment intents created',
      registers,
    }),
    charges: new prom.Counter({
      name: 'payments_charges_total',
      help: 'Charges asked of the provider, by its immediate answer (succeeded, failed, pending)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    payments: new prom.Counter({
      name: 'payments_settled_total',
      help: 'Intents settled, by outcome (succeeded, failed) and decline reason',
      labelNames: ['outcome', 'reason'] as const,
      registers,
    }),
    refunds: new prom.Counter({ name: 'payments_refunds_total', help: 'Refunds made', registers }),
    webhooksReceived: new prom.Counter({
      name: 'payments_webhooks_received_total',
      help: 'Webhook requests by outcome (processed, duplicate, invalid-signature, stale)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    webhookDeliveries: new prom.Counter({
      name: 'payments_webhook_deliveries_total',
      help: 'Simulator webhook delivery attempts by outcome (delivered, failed)',
      labelNames: ['outcome'] as const,
      registers,
    }),
  };
}
