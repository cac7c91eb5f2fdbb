// Background work every replica runs: consuming catalog's events, relaying the outbox, pruning idempotency keys.
import { pruneIdempotencyKeys, startPeriodic } from '@eventtickets/platform';
import type { OrdersDeps } from './deps.ts';
import { paymentEventHandler, paymentEventTypes, type PaymentEvent } from './events/payment-events.ts';
import { catalogEventHandler, catalogEventTypes, type CatalogEvent } from './events/catalog-events.ts';

export async function startWorkers(deps: OrdersDeps): Promise<{ stop: () => Promise<void> }> {
  const { config, bus } = deps;
  const kick = (orderId: string) => {
    void deps.saga.advance(orderId).catch((err) => deps.logger.warn({ err, orderId }, 'saga step failed; retried'));
  };
  bus.subscribe<CatalogEvent['type']>(catalogEventTypes, catalogEventHandler(deps.db, deps.logger, deps.cancels, kick));
  bus.subscribe<PaymentEvent['type']>(paymentEventTypes, paymentEventHandler(deps.db, deps.saga, deps.pay, kick));
  bus.startRelay();
  await bus.start();
  const pruning = startPeriodic({
    name: 'idempotency key pruning',
    intervalMs: 3_600_000,
    logger: deps.logger,
    run: () => pruneIdempotencyKeys(deps.db, config.IDEMPOTENCY_KEY_RETENTION_MS),
  });
  // the saga's pending steps (a crash or an outage between two steps), retried until done
  const saga = startPeriodic({
    name: 'order saga',
    intervalMs: config.SAGA_INTERVAL_MS,
    logger: deps.logger,
    run: () => deps.saga.sweep(),
  });
  return {
    stop: async () => {
      await saga.stop();
      await pruning.stop();
      await bus.stop();
    },
  };
}
