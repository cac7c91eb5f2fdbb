// Background work every replica runs: relaying the outbox (payment.*, refund.*), the simulator's webhook
// sender, and pruning old idempotency keys. Payments consumes no other service's events.
import { pruneIdempotencyKeys, startPeriodic } from '@eventtickets/platform';
import { webhookUrl } from './config.ts';
import type { PaymentsDeps } from './deps.ts';
import { SIMULATOR } from './use-cases/simulator.ts';
import { startWebhookDelivery } from './use-cases/webhook-delivery.ts';

export async function startWorkers(
  deps: PaymentsDeps,
  opts: { webhookUrl?: () => string } = {},
): Promise<{ stop: () => Promise<void> }> {
  const { config, bus } = deps;
  bus.startRelay();
  await bus.start();
  const url = webhookUrl(config);
  const delivery =
    deps.provider.name === SIMULATOR
      ? startWebhookDelivery({
          db: deps.db,
          logger: deps.logger,
          metrics: deps.paymentsMetrics,
          url: opts.webhookUrl ?? (() => url),
          secret: config.PAYMENTS_WEBHOOK_SECRET,
          intervalMs: config.WEBHOOK_DELIVERY_INTERVAL_MS,
          timeoutMs: config.WEBHOOK_DELIVERY_TIMEOUT_MS,
          maxBackoffMs: config.WEBHOOK_MAX_BACKOFF_MS,
        })
      : undefined;
  const pruning = startPeriodic({
    name: 'idempotency key pruning',
    intervalMs: 3_600_000,
    logger: deps.logger,
    run: () => pruneIdempotencyKeys(deps.db, config.IDEMPOTENCY_KEY_RETENTION_MS),
  });
  return {
    stop: async () => {
      await delivery?.stop();
      await pruning.stop();
      await bus.stop();
    },
  };
}
