// The wiring every service with a database starts from (its deps.ts builds on it): the logger, the Postgres
// pool, the Redis masters, the metrics registry, the event bus and the lifecycle, and close() for all of them.
import type { Redis } from 'ioredis';
import type { Sequelize } from 'sequelize';
import { createDatabase, databaseReadiness, type Migration } from './db.ts';
import { createEventBus } from './eventbus/index.ts';
import type { EventBus } from './eventbus/types.ts';
import { createLifecycle, type Lifecycle } from './http.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { closeRedis, createRedis, redisReadiness } from './redis.ts';

/** The part of a service's validated configuration the base reads. */
export interface ServiceBaseConfig {
  DATABASE_URL: string;
  REDIS_URL: string[];
  REDIS_PREFIX: string;
  BUS_DATABASE_URL?: string;
}

export interface ServiceBaseOptions {
  /** Postgres pool size (createDatabase's default when absent). */
  poolMax?: number;
  /** Replaces the service's own logger (tests pass a silent or capturing one). */
  logger?: Logger;
  /** Replaces the service's own metrics registry. */
  metrics?: Metrics;
  /** Every REDIS_URL master (Redlock voters) instead of the first one only. */
  allRedis?: boolean;
  /** Bounds every Redis command (ms). */
  redisCommandTimeoutMs?: number;
}

export interface ServiceBase {
  logger: Logger;
  db: Sequelize;
  /** The Redis masters opened (the first one carries the streams); empty when REDIS_URL is. */
  redis: Redis[];
  metrics: Metrics;
  /** Over redis[0], or the Postgres transport over BUS_DATABASE_URL when there is no Redis. */
  bus: EventBus;
  lifecycle: Lifecycle;
  /** Shuts the lifecycle down, then closes Redis, then the pool (call after the HTTP server has drained). */
  close: () => Promise<void>;
}

export function createServiceBase(
  service: string,
  config: ServiceBaseConfig,
  opts: ServiceBaseOptions = {},
): ServiceBase {
  const logger = opts.logger ?? createLogger(service);
  const db = createDatabase(config.DATABASE_URL, opts.poolMax === undefined ? {} : { poolMax: opts.poolMax });
  const redisOptions = opts.redisCommandTimeoutMs === undefined ? {} : { commandTimeout: opts.redisCommandTimeoutMs };
  const urls = opts.allRedis ? config.REDIS_URL : config.REDIS_URL.slice(0, 1);
  const redis = urls.map((url) => createRedis(url, redisOptions, logger));
  const metrics = opts.metrics ?? createMetrics(service);
  const bus = createEventBus({
    service,
    db,
    redis: redis[0],
    logger,
    prefix: config.REDIS_PREFIX,
    registry: metrics.registry,
    busDatabaseUrl: config.BUS_DATABASE_URL,
  });
  const lifecycle = createLifecycle();
  return {
    logger,
    db,
    redis,
    metrics,
    bus,
    lifecycle,
    close: async () => {
      lifecycle.shutdown();
      await closeRedis(redis);
      await db.close();
    },
  };
}

/** The readiness checks of a service with a database: SELECT 1, no pending migration, and the Redis masters
 *  when there are any (`quorum`: a majority of them answering is enough, as for Redlock). */
export function serviceReadiness(
  deps: { db: Sequelize; redis?: Redis[] | Redis },
  migrations: Migration[],
  opts: { quorum?: boolean } = {},
) {
  const redis = Array.isArray(deps.redis) ? deps.redis : deps.redis ? [deps.redis] : [];
  return {
    ...databaseReadiness(deps.db, migrations),
    ...(redis.length ? redisReadiness(redis, opts) : {}),
  };
}
