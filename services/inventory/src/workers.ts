// Background work every replica runs: consuming catalog's events, relaying the outbox, expiring holds.
import type { InventoryDeps } from './deps.ts';
import { catalogEventHandler, catalogEventTypes, type CatalogEvent } from './events/catalog-events.ts';
import { startExpiry } from './use-cases/expiry.ts';

export async function startWorkers(deps: InventoryDeps): Promise<{ stop: () => Promise<void> }> {
  const { config, bus } = deps;
  bus.subscribe<CatalogEvent['type']>(catalogEventTypes, catalogEventHandler(deps.db, deps.logger, deps.hub.publish));
  bus.startRelay();
  await bus.start();
  const expiry = startExpiry({
    db: deps.db,
    logger: deps.logger,
    metrics: deps.inventoryMetrics,
    publish: deps.hub.publish,
    intervalMs: config.EXPIRY_INTERVAL_MS,
    batchSize: config.EXPIRY_BATCH_SIZE,
    changeLogRetentionMs: config.CHANGE_LOG_RETENTION_MS,
    idempotencyKeyRetentionMs: config.IDEMPOTENCY_KEY_RETENTION_MS,
  });
  return {
    stop: async () => {
      await expiry.stop();
      await bus.stop();
    },
  };
}
