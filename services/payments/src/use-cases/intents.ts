// Payment intents, one per pay attempt of an order. The state machine lives in the database:
// requires_confirmation → processing → succeeded | failed, each change a conditional UPDATE under the intent's
// row lock, and each settlement committed with its event (payment.succeeded / payment.failed) in the outbox.
// At most one intent of an order is processing or succeeded (one_live_intent_per_order): never two charges.
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
  type Transaction,
} from '@eventtickets/platform';
import { expectedAmount, lineErrors } from '../domain/intent-rules.ts';
import { intentView, type ChargeResult, type Intent, type IntentRequest, type IntentView } from '../domain/types.ts';
import {
  insertIntent,
  liveIntentOfOrder,
  loadIntent,
  markFailed,
  markProcessing,
  markSucceeded,
  setProviderRef,
} from '../db/intents.ts';
import { loadMethod } from '../db/methods.ts';
import type { PaymentsMetrics } from '../metrics.ts';
import type { PaymentProvider } from './provider.ts';

export interface IntentServiceDeps {
  db: Sequelize;
  provider: PaymentProvider;
  logger: Logger;
  metrics: PaymentsMetrics;
  sellerName: string;
}

const LIVE_INDEX = 'one_live_intent_per_order';

/** The unique violation of one_live_intent_per_order (two intents of an order in flight at once). */
function isLiveIntentConflict(err: unknown): boolean {
  const e = err as {
    parent?: { code?: string; constraint?: string };
    original?: { code?: string; constraint?: string };
  };
  const pg = e?.parent ?? e?.original;
  return pg?.code === '23505' && pg?.constraint === LIVE_INDEX;
}

function liveConflict(other: Intent) {
  return other.status === 'succeeded'
    ? problems.conflict(`Order ${other.orderId} is already paid`, 'order-already-paid', { intentStatus: other.status })
    : problems.conflict(`Another payment of order ${other.orderId} is in progress`, 'payment-in-progress', {
        intentStatus: other.status,
      });
}

export function createIntentService(deps: IntentServiceDeps) {
  const { db, provider, metrics, logger } = deps;

  function inTransaction<T>(fn: (t: Transaction) => Promise<T>): Promise<T> {
    return withRetryingTransaction(db, fn, {
      attempts: 3,
      onRetry: (attempt, err) => logger.debug({ err, attempt }, 'payments transaction retried'),
    });
  }

  /** Creates an intent (Idempotency-Key required, per calling service). */
  async function create(caller: string, req: IntentRequest, key: string): Promise<IdempotentResult<IntentView>> {
    const errors = lineErrors(req);
    if (errors.length)
      throw problems.unprocessable('A line amount is not quantity × unit amount', 'amount-mismatch', { errors });
    const expected = expectedAmount(req);
    if (expected !== req.amount)
      throw problems.unprocessable(
        `amount ${req.amount} is not the sum of the lines and fees (${expected})`,
        'amount-mismatch',
        { expected },
      );
    const ref = { scope: `intents:${caller}`, key, fingerprint: requestFingerprint('POST', '/internal/intents', req) };
    const result = await inTransaction((t) =>
      runIdempotent(db, t, ref, async () => {
        const live = await liveIntentOfOrder(db, req.orderId, t);
        if (live?.status === 'succeeded') throw liveConflict(live);
        const id = randomUUID();
        await insertIntent(db, t, {
          id,
          orderId: req.orderId,
          userId: req.userId,
          amount: req.amount,
          currency: req.currency,
          description: req.description ?? null,
          seller: req.seller ?? { name: deps.sellerName },
          lines: req.lines,
          fees: req.fees ?? [],
          taxes: req.taxes ?? [],
          provider: provider.name,
        });
        return { status: 201, body: intentView((await loadIntent(db, id, t))!) };
      }),
    );
    if (!result.replayed) metrics.intentsCreated.inc();
    return result;
  }

  async function get(id: string): Promise<IntentView> {
    const intent = await loadIntent(db, id);
    if (!intent) throw problems.notFound(`No payment intent ${id}`, 'intent-not-found');
    return intentView(intent);
  }

  /**
   * Confirms with a payment method of the intent's user. The intent's row lock serialises concurrent confirms:
   * the first charges, the others then find it no longer awaiting confirmation and answer it as it is.
   */
  async function confirm(id: string, paymentMethodId: string): Promise<IntentView> {
    try {
      const { intent, settled } = await inTransaction(async (t) => {
        const current = await loadIntent(db, id, t, true);
        if (!current) throw problems.notFound(`No payment intent ${id}`, 'intent-not-found');
        const method = await loadMethod(db, paymentMethodId, t);
        if (!method || method.userId !== current.userId)
          throw problems.notFound(`No payment method ${paymentMethodId} for this user`, 'payment-method-not-found');
        if (current.status !== 'requires_confirmation') {
          if (current.paymentMethodId === paymentMethodId) return { intent: current, settled: undefined };
          throw problems.conflict(`The intent is already ${current.status}`, 'intent-not-confirmable', {
            intentStatus: current.status,
          });
        }
        const live = await liveIntentOfOrder(db, current.orderId, t);
        if (live) throw liveConflict(live);
        if (!(await markProcessing(db, t, id, method)))
          throw new Error(`intent ${id} left requires_confirmation under its lock`);
        const result = await provider.charge(t, {
          intentId: id,
          amount: current.amount,
          currency: current.currency,
          providerToken: method.providerToken,
        });
        metrics.charges.inc({ outcome: result.status });
        const settled = await applyChargeResult(t, { ...current, status: 'processing' }, result);
        return { intent: (await loadIntent(db, id, t))!, settled };
      });
      if (settled) countSettled(settled);
      return intentView(intent);
    } catch (err) {
      if (isLiveIntentConflict(err)) {
        const intent = await loadIntent(db, id);
        const live = intent && (await liveIntentOfOrder(db, intent.orderId));
        if (live) throw liveConflict(live);
      }
      throw err;
    }
  }

  /**
   * A provider's answer for a processing intent (from confirm, or later from its webhook): succeeded or failed
   * with its event in the outbox; pending leaves it processing. Returns what it settled to, if anything.
   */
  async function applyChargeResult(
    t: Transaction,
    intent: Intent,
    result: ChargeResult,
  ): Promise<{ status: 'succeeded' | 'failed'; reason?: string } | undefined> {
    const payload = { paymentId: intent.id, orderId: intent.orderId, amount: intent.amount, currency: intent.currency };
    if (result.status === 'pending') {
      await setProviderRef(db, t, intent.id, result.providerRef);
      return undefined;
    }
    if (result.status === 'succeeded') {
      if (!(await markSucceeded(db, t, intent.id, result.providerRef))) return undefined;
      await enqueueEvent(db, t, { type: 'payment.succeeded', aggregateId: intent.id, payload });
      return { status: 'succeeded' };
    }
    if (!(await markFailed(db, t, intent.id, result.providerRef, result.reason))) return undefined;
    await enqueueEvent(db, t, {
      type: 'payment.failed',
      aggregateId: intent.id,
      payload: { ...payload, reason: result.reason },
    });
    return { status: 'failed', reason: result.reason };
  }

  function countSettled(s: { status: 'succeeded' | 'failed'; reason?: string }): void {
    metrics.payments.inc({ outcome: s.status, reason: s.reason ?? '' });
  }

  return { create, get, confirm, applyChargeResult, countSettled };
}

export type IntentService = ReturnType<typeof createIntentService>;
