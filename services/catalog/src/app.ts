// The catalog Koa app: platform pipeline (request id, logs, metrics, problem+json, health, contract
// validation, identity) plus the venue and event routers. No I/O at import time.
import { fileURLToPath } from 'node:url';
import type Koa from 'koa';
import { createContract, createServiceApp, prom, databaseReadiness, redisReadiness, type Contract, type Logger, type Metrics, type ReadCache, type Redis, type Sequelize } from '@eventtickets/platform';
import { migrations } from './db/migrations.ts';
import { eventRoutes } from './routes/events.ts';
import { venueRoutes } from './routes/venues.ts';
import type { CatalogDeps } from './catalog/deps.ts';

export const CONTRACT_FILE = fileURLToPath(new URL('../openapi.yaml', import.meta.url));

export interface AppDeps {
  db: Sequelize;
  cache: ReadCache;
  /** For readiness only (the cache owns its use of it). */
  redis?: Redis;
  logger: Logger;
  metrics: Metrics;
  cursorSecret: string;
  cacheTtlSeconds: number;
  contract?: Contract;
  now?: () => Date;
}

export async function createApp(deps: AppDeps): Promise<Koa> {
  const contract = deps.contract ?? (await createContract(CONTRACT_FILE));
  const app = createServiceApp({
    service: 'catalog',
    logger: deps.logger,
    metrics: deps.metrics,
    contract,
    readiness: { ...databaseReadiness(deps.db, migrations), ...(deps.redis ? redisReadiness([deps.redis]) : {}) },
    jsonLimit: '2mb', // explicit seat maps of large venues
  });
  const catalog: CatalogDeps = {
    db: deps.db,
    cache: deps.cache,
    cacheTtlSeconds: deps.cacheTtlSeconds,
    cursorSecret: deps.cursorSecret,
    logger: deps.logger,
    now: deps.now ?? (() => new Date()),
    cacheLookups: new prom.Counter({ name: 'catalog_read_cache_total', help: 'Hot-read cache lookups by kind (detail, list) and result (hit, miss)', labelNames: ['kind', 'result'] as const, registers: [deps.metrics.registry] }),
  };
  for (const router of [venueRoutes(catalog), eventRoutes(catalog)]) app.use(router.routes()).use(router.allowedMethods());
  return app;
}
