// The delivery worker: claims due messages from the delivery log, renders and sends them, and records the
// outcome. A failed attempt is retried after an exponential back-off (RETRY_BASE_MS doubling, capped at
// RETRY_MAX_MS); after DELIVERY_MAX_ATTEMPTS attempts the message is dead. An order confirmation gets its
// tickets' codes from orders (GET /internal/orders/{id}/tickets) and its receipt from payments
// (GET /internal/orders/{id}/receipt), both signed svc:notifications; an outage there is a failed attempt too.
import type { Logger, ServiceClient, Sequelize } from '@eventtickets/platform';
import { claimDue, markFailed, markSent, type MessageRow } from '../db/messages.ts';
import { retryDelayMs } from '../domain/backoff.ts';
import { renderMail, type ConfirmationExtras, type MessageData, type Receipt } from '../domain/messages.ts';
import type { NotificationsMetrics } from '../metrics.ts';
import type { Mailer, OutgoingMail } from './mailer.ts';
import type { SmsProvider } from './sms.ts';

export interface Upstreams {
  orders: ServiceClient;
  payments: ServiceClient;
}

export interface DeliveryOptions {
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** How long a claimed message stays invisible to other workers (longer than one send can take). */
  leaseMs: number;
  batchSize?: number;
}

export interface Delivery {
  /** Sends every due message (claimed in batches) and resolves when none is left due. */
  runOnce(): Promise<number>;
  /** Asks for a run soon (after a commit that added messages); runs are never concurrent in one process. */
  kick(): void;
  /** Waits for the run in progress. */
  idle(): Promise<void>;
}

export function createDelivery(deps: {
  db: Sequelize;
  logger: Logger;
  metrics: NotificationsMetrics;
  mailer: Mailer;
  sms: SmsProvider;
  upstreams: Upstreams;
  options: DeliveryOptions;
}): Delivery {
  const { db, logger, metrics, mailer, sms, upstreams, options } = deps;
  const batchSize = options.batchSize ?? 20;

  async function confirmationExtras(m: MessageRow): Promise<ConfirmationExtras> {
    const orderId = String(m.data.orderId);
    const { body } = await upstreams.orders.request<{ items: Array<{ id: string; label: string; code: string }> }>(
      'GET',
      `/internal/orders/${encodeURIComponent(orderId)}/tickets`,
    );
    const tickets = await Promise.all(
      body.items.map(async (t) => ({ ticketId: t.id, label: t.label, code: t.code, cid: `qr-${t.id}@eventtickets` })),
    );
    const receipt = await upstreams.payments.request<Receipt>(
      'GET',
      `/internal/orders/${encodeURIComponent(orderId)}/receipt`,
      {
        allowStatuses: [404],
      },
    );
    return { tickets, receipt: receipt.status === 200 ? receipt.body : null };
  }

  async function buildMail(m: MessageRow): Promise<OutgoingMail> {
    const data = m.data as unknown as MessageData;
    if (m.kind !== 'order-confirmed') {
      const mail = renderMail(m.kind, data);
      return { messageId: m.message_id, to: m.address, ...mail };
    }
    const extras = await confirmationExtras(m);
    const mail = renderMail(m.kind, data, extras);
    // loaded with the first confirmation, not at start (issue 19: an idle service does not keep it)
    const { default: QRCode } = await import('qrcode');
    const attachments = await Promise.all(
      extras.tickets.map(async (t) => ({
        filename: `ticket-${t.label.replace(/[^A-Za-z0-9_-]+/g, '_')}.png`,
        content: await QRCode.toBuffer(t.code, { type: 'png', width: 320, margin: 2, errorCorrectionLevel: 'M' }),
        contentType: 'image/png',
        cid: t.cid,
      })),
    );
    return { messageId: m.message_id, to: m.address, ...mail, attachments };
  }

  async function deliverOne(m: MessageRow): Promise<void> {
    try {
      const { providerId } =
        m.channel === 'email'
          ? await mailer.send(await buildMail(m))
          : await sms.send({ messageId: m.message_id, to: m.address, text: m.subject });
      await markSent(db, m.message_id, providerId);
      metrics.messagesSent.inc({ kind: m.kind, channel: m.channel });
      logger.info(
        { messageId: m.message_id, kind: m.kind, channel: m.channel, attempt: m.attempts + 1 },
        'message sent',
      );
    } catch (err) {
      const attempt = m.attempts + 1;
      const status = await markFailed(
        db,
        m.message_id,
        (err as Error).message || String(err),
        retryDelayMs(attempt, options.retryBaseMs, options.retryMaxMs),
        options.maxAttempts,
      );
      metrics.deliveryFailures.inc({ channel: m.channel, outcome: status === 'dead' ? 'dead' : 'retry' });
      const log = { err, messageId: m.message_id, kind: m.kind, channel: m.channel, attempt };
      if (status === 'dead') logger.error(log, 'message dead: no more attempts');
      else logger.warn(log, 'message not sent; retried later');
    }
  }

  async function runOnce(): Promise<number> {
    let done = 0;
    for (;;) {
      const batch = await claimDue(db, batchSize, options.leaseMs);
      if (!batch.length) return done;
      await Promise.all(batch.map(deliverOne));
      done += batch.length;
    }
  }

  let running: Promise<void> | undefined;
  let again = false;
  function kick(): void {
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        await runOnce().catch((err) => logger.warn({ err }, 'delivery run failed; the periodic run retries'));
      } while (again);
    })().finally(() => {
      running = undefined;
    });
  }

  return { runOnce, kick, idle: async () => void (await running) };
}
