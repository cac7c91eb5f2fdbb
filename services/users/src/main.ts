// Users service entry: config (fail-fast), database + migrations, signing keys, demo seed, outbox relay, HTTP.
import type { JWK } from 'jose';
import {
  closeRedis, createDatabase, redisReadiness, createEventBus, createLogger, createMetrics, createRedis, loadConfigOrExit, migrate, runService, startPeriodic, type Redis,
} from '@eventtickets/platform';
import { configSchema } from './config.ts';
import { migrations } from './db/migrations.ts';
import { createPasswordHasher } from './domain/passwords.ts';
import { databaseKeyStore, envKeyStore } from './use-cases/signing-keys.ts';
import { ensureDemoUsers } from './use-cases/demo-seed.ts';
import { createApp } from './app.ts';
import { pruneStaleRows } from './db/maintenance.ts';

const config = loadConfigOrExit(configSchema);
const logger = createLogger('users');
const metrics = createMetrics('users');
const db = createDatabase(config.DATABASE_URL);

const applied = await migrate(db, migrations);
if (applied.length) logger.info({ applied }, 'migrations applied');

const keys = config.JWT_PRIVATE_KEYS ? await envKeyStore(config.JWT_PRIVATE_KEYS as JWK[]) : await databaseKeyStore(db);
logger.info({ source: keys.source, kids: (await keys.list()).map((k) => k.kid) }, 'signing keys loaded');

const passwords = await createPasswordHasher({ logN: config.SCRYPT_LOG_N, r: 8, p: 1 });
const deps = {
  db, logger, metrics, passwords, keys,
  accessTokens: { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, ttlSeconds: config.ACCESS_TOKEN_TTL_SECONDS },
  refreshTokenTtlDays: config.REFRESH_TOKEN_TTL_DAYS,
  backoff: { maxFailures: config.LOGIN_MAX_FAILURES, baseSeconds: config.LOGIN_BACKOFF_SECONDS, maxSeconds: config.LOGIN_BACKOFF_MAX_SECONDS, forgetAfterSeconds: config.LOGIN_FAILURES_FORGET_AFTER_SECONDS },
};

if (config.DEMO_PASSWORD) await ensureDemoUsers(deps, config.DEMO_PASSWORD);

// Relay user.registered / user.updated from the outbox to the bus (Redis Streams, or the Postgres bus locally).
const redis: Redis | undefined = config.REDIS_URL[0] ? createRedis(config.REDIS_URL[0], {}, logger) : undefined;
const bus = createEventBus({ service: 'users', db, redis, logger, prefix: config.REDIS_PREFIX, registry: metrics.registry, busDatabaseUrl: config.BUS_DATABASE_URL });
bus.startRelay();

const maintenance = startPeriodic({
  name: 'users maintenance',
  intervalMs: config.MAINTENANCE_INTERVAL_MS,
  logger,
  run: async () => {
    const pruned = await pruneStaleRows(db, { forgetAfterSeconds: config.LOGIN_FAILURES_FORGET_AFTER_SECONDS });
    if (pruned.loginFailures || pruned.refreshTokens) logger.info(pruned, 'stale rows pruned');
  },
});

const app = await createApp({ ...deps, extraReadiness: redis ? redisReadiness([redis]) : {} });
await runService({
  service: 'users',
  logger,
  app,
  port: config.PORT,
  host: config.HOST,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  closers: [() => maintenance.stop(), () => bus.stop(), () => (redis ? closeRedis([redis]) : undefined), () => db.close()],
});
