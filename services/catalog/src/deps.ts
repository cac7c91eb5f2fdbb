// Everything the catalog runs on, built from its configuration: THE wiring, shared by main.ts and the tests
// (which pass overrides: a silent logger, a fixed clock).
import {
  createLogger,
  createMetrics,
  createReadCache,
  createServiceBase,
  ensureDatabase,
  type EventBus,
  type Logger,
  type Metrics,
  type ReadCache,
  type Redis,
  type Sequelize,
} from '@eventtickets/platform';
import { cursorSecret, type CatalogConfig } from './config.ts';
import { createCatalogMetrics, type CatalogMetrics } from './metrics.ts';

export const SERVICE = 'catalog';

export interface CatalogDeps {
  config: CatalogConfig;
  logger: Logger;
  db: Sequelize;
  /** The first Redis master: the read cache and the event streams (absent: in-process LRU, Postgres bus). */
  redis?: Redis;
  metrics: Metrics;
  catalogMetrics: CatalogMetrics;
  cache: ReadCache;
  bus: EventBus;
  cursorSecret: string;
  cacheTtlSeconds: number;
  now: () => Date;
  /** Closes what createDeps opened (call after the HTTP server has drained and the workers stopped). */
  close: () => Promise<void>;
}

export interface DepsOverrides {
  logger?: Logger;
  /** The service's clock (tests: a fixed or shifted one). */
  now?: () => Date;
  /** Without the process-wide default metrics (tests build many registries in one process). */
  collectDefaultMetrics?: boolean;
}

export async function createDeps(config: CatalogConfig, overrides: DepsOverrides = {}): Promise<CatalogDeps> {
  // Outside production the catalog creates its own database (the local stack and the load benches rely on it);
  // production provisions it.
  if (config.NODE_ENV !== 'production') await ensureDatabase(config.DATABASE_URL);
  // The first Redis master carries the cache and the streams (the others are Redlock voters of other services);
  // the bus relays event.published / event.cancelled from the outbox (started in workers.ts).
  const base = createServiceBase(SERVICE, config, {
    logger: overrides.logger ?? createLogger(SERVICE, { level: config.LOG_LEVEL }),
    metrics: createMetrics(SERVICE, { collectDefault: overrides.collectDefaultMetrics }),
    redisCommandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
  });
  const { logger, db, metrics, bus } = base;
  const redis = base.redis[0];
  if (!redis)
    logger.warn('REDIS_URL not set: hot reads cached in an in-process LRU (correct for a single replica only)');
  const catalogMetrics = createCatalogMetrics(metrics.registry);
  const cache = createReadCache({
    redis,
    prefix: `${config.REDIS_PREFIX}catalog:`,
    logger,
    nearMs: config.CACHE_NEAR_MS,
  });
  return {
    config,
    logger,
    db,
    redis,
    metrics,
    catalogMetrics,
    cache,
    bus,
    cursorSecret: cursorSecret(config, (msg) => logger.warn(msg)),
    cacheTtlSeconds: config.CACHE_TTL_SECONDS,
    now: overrides.now ?? (() => new Date()),
    close: async () => {
      await cache.close();
      await base.close();
    },
  };
}
