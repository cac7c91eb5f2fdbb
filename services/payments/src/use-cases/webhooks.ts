// Incoming provider webhooks: the signature is verified over the raw body first (a bad or stale one changes
// nothing), then the event id is recorded and applied in ONE transaction, so each event is processed once.
import { problems, withRetryingTransaction, type Logger, type Sequelize } from '@eventtickets/platform';
import { loadIntent } from '../db/intents.ts';
import { recordProviderEvent } from '../db/webhooks.ts';
import type { PaymentsMetrics } from '../metrics.ts';
import type { IntentService } from './intents.ts';
import type { PaymentProvider } from './provider.ts';

export function createWebhookService(deps: {
  db: Sequelize;
  provider: PaymentProvider;
  intents: IntentService;
  logger: Logger;
  metrics: PaymentsMetrics;
  nowS?: () => number;
}) {
  const { db, provider, intents, logger, metrics } = deps;
  const nowS = deps.nowS ?? (() => Math.floor(Date.now() / 1000));

  async function receive(
    providerName: string,
    rawBody: string,
    signature: string | undefined,
  ): Promise<{ received: true; duplicate: boolean }> {
    if (providerName !== provider.name)
      throw problems.notFound(`No webhook endpoint for provider ${providerName}`, 'unknown-provider');
    let event;
    try {
      event = provider.parseWebhook(rawBody, signature, nowS());
    } catch (err) {
      const slug = (err as { slug?: string }).slug;
      metrics.webhooksReceived.inc({ outcome: slug === 'webhook-timestamp-stale' ? 'stale' : 'invalid-signature' });
      throw err;
    }
    const outcome = await withRetryingTransaction(db, async (t) => {
      const fresh = await recordProviderEvent(db, t, {
        provider: provider.name,
        eventId: event.id,
        type: event.type,
        intentId: event.intentId && /^[0-9a-f-]{36}$/i.test(event.intentId) ? event.intentId : undefined,
      });
      if (!fresh) return { duplicate: true as const };
      if (event.kind === 'other' || !event.intentId || !/^[0-9a-f-]{36}$/i.test(event.intentId))
        return { duplicate: false as const };
      const intent = await loadIntent(db, event.intentId, t, true);
      if (!intent || intent.status !== 'processing') {
        logger.warn(
          { eventId: event.id, type: event.type, intentStatus: intent?.status ?? null },
          'webhook for no processing intent: recorded, nothing to do',
        );
        return { duplicate: false as const };
      }
      const settled = await intents.applyChargeResult(
        t,
        intent,
        event.kind === 'payment.succeeded'
          ? { status: 'succeeded', providerRef: event.providerRef ?? intent.providerRef ?? event.id }
          : {
              status: 'failed',
              providerRef: event.providerRef ?? intent.providerRef ?? event.id,
              reason: event.reason ?? 'card_declined',
            },
      );
      return { duplicate: false as const, settled };
    });
    metrics.webhooksReceived.inc({ outcome: outcome.duplicate ? 'duplicate' : 'processed' });
    if ('settled' in outcome && outcome.settled) intents.countSettled(outcome.settled);
    return { received: true, duplicate: outcome.duplicate };
  }

  return { receive };
}

export type WebhookService = ReturnType<typeof createWebhookService>;
