// Background work every replica runs: consuming catalog's events, relaying the outbox, pruning idempotency keys.
import { pruneIdempotencyKeys, startPeriodic } from '@eventtickets/platform';
import type { OrdersDeps } from './deps.ts';
import { catalogEventHandler, catalogEventTypes, type CatalogEvent } from './events/catalog-events.ts';

export async function startWorkers(deps: OrdersDeps): Promise<{ stop: () => Promise<void> }> {
  const { config, bus } = deps;
  bus.subscribe<CatalogEvent['type']>(catalogEventTypes, catalogEventHandler(deps.db, deps.logger));
  bus.startRelay();
  await bus.start();
  const pruning = startPeriodic({
    name: 'idempotency key pruning',
    intervalMs: 3_600_000,
    logger: deps.logger,
    run: () => pruneIdempotencyKeys(deps.db, config.IDEMPOTENCY_KEY_RETENTION_MS),
  });
  return {
    stop: async () => {
      await pruning.stop();
      await bus.stop();
    },
  };
}
