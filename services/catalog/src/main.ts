// Catalog entry point: config → database (migrated) → cache (Redis or in-process LRU) → outbox relay → HTTP.
import {
  closeRedis,
  createDatabase,
  createEventBus,
  createLogger,
  createMetrics,
  createReadCache,
  createRedis,
  ensureDatabase,
  loadConfigOrExit,
  migrate,
  runService,
} from '@eventtickets/platform';
import { configSchema, cursorSecret } from './config.ts';
import { migrations } from './db/migrations.ts';
import { createApp } from './app.ts';

const config = loadConfigOrExit(configSchema);
const logger = createLogger('catalog', { level: config.LOG_LEVEL });
const metrics = createMetrics('catalog');

if (config.NODE_ENV !== 'production') await ensureDatabase(config.DATABASE_URL); // production provisions its own
const db = createDatabase(config.DATABASE_URL);
const applied = await migrate(db, migrations);
if (applied.length) logger.info({ applied }, 'migrations applied');

// The first Redis master carries the cache and the streams; the others are only Redlock voters elsewhere.
const redis = config.REDIS_URL[0] ? createRedis(config.REDIS_URL[0], {}, logger) : undefined;
if (!redis) logger.warn('REDIS_URL not set: hot reads cached in an in-process LRU (correct for a single replica only)');
const cache = createReadCache({ redis, prefix: `${config.REDIS_PREFIX}catalog:`, logger });

// Publishes event.published / event.cancelled from the outbox to the transport.
const bus = createEventBus({ service: 'catalog', db, redis, logger, prefix: config.REDIS_PREFIX, registry: metrics.registry, busDatabaseUrl: config.BUS_DATABASE_URL });
bus.startRelay();

const app = await createApp({
  db,
  cache,
  redis,
  logger,
  metrics,
  cursorSecret: cursorSecret(config, (msg) => logger.warn(msg)),
  cacheTtlSeconds: config.CACHE_TTL_SECONDS,
});

await runService({
  service: 'catalog',
  logger,
  app,
  port: config.PORT,
  host: config.HOST,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  closers: [() => bus.stop(), () => (redis ? closeRedis([redis]) : undefined), () => db.close()],
});
