// The simulator's webhook sender (the PSP side): due webhooks are leased from the durable schedule
// (webhook_deliveries), signed at send time and POSTed over HTTP to the configured URL. A failure (network,
// non-2xx) is retried with exponential back-off; a restart loses nothing (the schedule is in the database).
import { startPeriodic, type Logger, type PeriodicTask, type Sequelize } from '@eventtickets/platform';
import { SIGNATURE_HEADER, signatureHeader } from '../domain/webhook-signature.ts';
import { leaseDueWebhooks, markWebhookDelivered, markWebhookFailed } from '../db/webhooks.ts';
import type { PaymentsMetrics } from '../metrics.ts';

export interface WebhookDeliveryOptions {
  db: Sequelize;
  logger: Logger;
  metrics: PaymentsMetrics;
  /** Resolved at each run (tests learn their port after start). */
  url: () => string;
  secret: string;
  intervalMs: number;
  timeoutMs: number;
  maxBackoffMs: number;
  batchSize?: number;
}

export function backoffMs(attempts: number, maxMs: number): number {
  return Math.min(maxMs, 1_000 * 2 ** Math.max(0, attempts - 1));
}

export function startWebhookDelivery(opts: WebhookDeliveryOptions): PeriodicTask {
  const { db, logger, metrics } = opts;

  async function deliverOne(w: { deliveryId: string; eventId: string; body: string; attempts: number }): Promise<void> {
    let status: number | null = null;
    try {
      const res = await fetch(opts.url(), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: signatureHeader(opts.secret, Math.floor(Date.now() / 1000), w.body),
        },
        body: w.body,
        signal: AbortSignal.timeout(opts.timeoutMs),
      });
      status = res.status;
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) {
        await markWebhookDelivered(db, w.deliveryId, res.status);
        metrics.webhookDeliveries.inc({ outcome: 'delivered' });
        return;
      }
      throw new Error(`HTTP ${res.status}`);
    } catch (err) {
      const wait = backoffMs(w.attempts, opts.maxBackoffMs);
      metrics.webhookDeliveries.inc({ outcome: 'failed' });
      logger.warn(
        { eventId: w.eventId, attempts: w.attempts, status, retryInMs: wait, err: (err as Error).message },
        'webhook delivery failed; retrying later',
      );
      await markWebhookFailed(db, w.deliveryId, { status, error: (err as Error).message, backoffMs: wait });
    }
  }

  return startPeriodic({
    name: 'webhook delivery',
    intervalMs: opts.intervalMs,
    logger,
    run: async () => {
      const due = await leaseDueWebhooks(db, opts.batchSize ?? 20, opts.timeoutMs * 2);
      await Promise.all(due.map(deliverOne));
    },
  });
}
