// Refunds of a succeeded intent, full or partial. Under the intent's row lock the remaining capture is checked
// (a clear 422), and the conditional UPDATE plus the refunds_within_capture CHECK make the database refuse more
// than the capture in total whatever runs concurrently. Idempotent per key; refund.succeeded in the outbox.
import { randomUUID } from 'node:crypto';
import {
  enqueueEvent,
  problems,
  requestFingerprint,
  runIdempotent,
  withRetryingTransaction,
  type IdempotentResult,
  type Logger,
  type Sequelize,
} from '@eventtickets/platform';
import { refundable } from '../domain/intent-rules.ts';
import type { RefundView } from '../domain/types.ts';
import { addRefunded, loadIntent } from '../db/intents.ts';
import { insertRefund } from '../db/refunds.ts';
import type { PaymentsMetrics } from '../metrics.ts';
import type { PaymentProvider } from './provider.ts';

export interface RefundRequestBody {
  amount?: number;
  reason?: string;
}

export function createRefundService(deps: {
  db: Sequelize;
  provider: PaymentProvider;
  logger: Logger;
  metrics: PaymentsMetrics;
}) {
  const { db, provider, metrics } = deps;

  async function refund(
    caller: string,
    intentId: string,
    body: RefundRequestBody,
    key: string,
  ): Promise<IdempotentResult<RefundView>> {
    const ref = {
      scope: `refunds:${caller}`,
      key,
      fingerprint: requestFingerprint('POST', `/internal/intents/${intentId}/refunds`, body),
    };
    const result = await withRetryingTransaction(db, (t) =>
      runIdempotent(db, t, ref, async () => {
        const intent = await loadIntent(db, intentId, t, true);
        if (!intent) throw problems.notFound(`No payment intent ${intentId}`, 'intent-not-found');
        if (intent.status !== 'succeeded')
          throw problems.conflict(
            `Only a succeeded payment can be refunded; this one is ${intent.status}`,
            'intent-not-refundable',
            {
              intentStatus: intent.status,
            },
          );
        const remaining = refundable(intent.amount, intent.refundedAmount);
        const amount = body.amount ?? remaining;
        if (amount <= 0 || amount > remaining)
          throw problems.unprocessable(
            remaining === 0
              ? 'The payment is already fully refunded'
              : `At most ${remaining} can still be refunded of this payment`,
            'refund-exceeds-capture',
            { remaining },
          );
        if (!(await addRefunded(db, t, intentId, amount)))
          throw problems.unprocessable('The refund would exceed the capture', 'refund-exceeds-capture', { remaining });
        const id = randomUUID();
        const done = await provider.refund(t, {
          refundId: id,
          intentId,
          providerRef: intent.providerRef!,
          amount,
          currency: intent.currency,
        });
        const row = await insertRefund(db, t, {
          id,
          intentId,
          amount,
          reason: body.reason ?? null,
          providerRef: done.providerRef,
        });
        await enqueueEvent(db, t, {
          type: 'refund.succeeded',
          aggregateId: intentId,
          payload: { refundId: id, paymentId: intentId, orderId: intent.orderId, amount, currency: intent.currency },
        });
        const view: RefundView = {
          id,
          paymentId: intentId,
          orderId: intent.orderId,
          amount,
          currency: intent.currency,
          status: 'succeeded',
          reason: row.reason,
          createdAt: row.createdAt.toISOString(),
        };
        return { status: 201, body: view };
      }),
    );
    if (!result.replayed) metrics.refunds.inc();
    return result;
  }

  return { refund };
}

export type RefundService = ReturnType<typeof createRefundService>;
