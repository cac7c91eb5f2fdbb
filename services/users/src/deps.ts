// Everything the users service runs on, built from its configuration: THE one wiring, used by main.ts and by the
// tests (which pass overrides: a silent logger, a cheap or recording password hasher, fixed keys).
import type { JWK } from 'jose';
import {
  createServiceBase,
  type EventBus,
  type Logger,
  type Metrics,
  type Redis,
  type Sequelize,
} from '@eventtickets/platform';
import type { UsersConfig } from './config.ts';
import { createUsersMetrics, type UsersMetrics } from './metrics.ts';
import { createPasswordHasher, type PasswordHasher } from './domain/passwords.ts';
import { createWorkGate, type WorkGate } from './domain/work-gate.ts';
import type { BackoffPolicy } from './domain/backoff.ts';
import { databaseKeyStore, envKeyStore, type SigningKeyStore } from './use-cases/signing-keys.ts';
import type { AccessTokenSettings } from './use-cases/access-tokens.ts';

export const SERVICE = 'users';

export interface UsersDeps {
  config: UsersConfig;
  logger: Logger;
  db: Sequelize;
  /** The first REDIS_URL (streams for the outbox relay); undefined in the Postgres-bus mode. */
  redis: Redis | undefined;
  metrics: Metrics;
  usersMetrics: UsersMetrics;
  bus: EventBus;
  passwords: PasswordHasher;
  /** Bounds the password hashes in flight and waiting (PASSWORD_HASH_CONCURRENCY, PASSWORD_HASH_QUEUE_MAX). */
  passwordWork: WorkGate;
  keys: SigningKeyStore;
  accessTokens: AccessTokenSettings;
  refreshTokenTtlDays: number;
  /** REFRESH_REUSE_GRACE_SECONDS. */
  refreshReuseGraceSeconds: number;
  backoff: BackoffPolicy;
  /** Closes what createDeps opened, in order (call after the HTTP server has drained and the workers stopped). */
  close: () => Promise<void>;
}

export interface DepsOverrides {
  logger?: Logger;
  metrics?: Metrics;
  /** Replace the scrypt hasher built from SCRYPT_LOG_N (tests: one that records what it verified). */
  passwords?: PasswordHasher;
  /** Replace the key store chosen by JWT_PRIVATE_KEYS (database when unset). */
  keys?: SigningKeyStore;
}

/** Async: the password hasher makes its dummy hash and env keys are imported (a bad key fails here, at start). */
export async function createDeps(config: UsersConfig, overrides: DepsOverrides = {}): Promise<UsersDeps> {
  const base = createServiceBase(SERVICE, config, { logger: overrides.logger, metrics: overrides.metrics });
  const { logger, db, metrics, bus } = base;
  const redis = base.redis[0];
  const passwords = overrides.passwords ?? (await createPasswordHasher({ logN: config.SCRYPT_LOG_N, r: 8, p: 1 }));
  // The database store reads nothing until first use: migrations have not run yet.
  const keys =
    overrides.keys ??
    (config.JWT_PRIVATE_KEYS ? await envKeyStore(config.JWT_PRIVATE_KEYS as JWK[]) : databaseKeyStore(db));
  return {
    config,
    logger,
    db,
    redis,
    metrics,
    bus,
    passwords,
    passwordWork: createWorkGate(config.PASSWORD_HASH_CONCURRENCY, config.PASSWORD_HASH_QUEUE_MAX),
    keys,
    usersMetrics: createUsersMetrics(metrics.registry),
    accessTokens: {
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      ttlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
    },
    refreshTokenTtlDays: config.REFRESH_TOKEN_TTL_DAYS,
    refreshReuseGraceSeconds: config.REFRESH_REUSE_GRACE_SECONDS,
    backoff: {
      maxFailures: config.LOGIN_MAX_FAILURES,
      baseSeconds: config.LOGIN_BACKOFF_SECONDS,
      maxSeconds: config.LOGIN_BACKOFF_MAX_SECONDS,
      forgetAfterSeconds: config.LOGIN_FAILURES_FORGET_AFTER_SECONDS,
      accountMaxFailures: config.LOGIN_ACCOUNT_MAX_FAILURES,
      knownClientSeconds: config.LOGIN_KNOWN_CLIENT_DAYS * 86_400,
    },
    close: base.close,
  };
}
