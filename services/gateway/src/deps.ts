// Everything the gateway runs on, built from its configuration: the one wiring, used by main.ts and by the
// tests (which pass a silent logger, a shared or a dead Redis client, their own routing table).
import type { Dispatcher } from 'undici';
import { Agent } from 'undici';
import {
  closeRedis,
  createLogger,
  createMetrics,
  createRedis,
  type Logger,
  type Metrics,
  type Redis,
} from '@eventtickets/platform';
import { upstreamUrls, type GatewayConfig, type UpstreamService } from './config.ts';
import { createGatewayMetrics, type GatewayMetrics } from './metrics.ts';
import { batchedStdout } from './logging.ts';
import type { RoutingTable } from './domain/routing.ts';
import { loadRoutingTable } from './routing/table.ts';
import { createAuthenticator, type Authenticator } from './auth/jwt.ts';
import { createRateLimits, type RateLimits } from './limits/rate-limits.ts';
import { createProxy, type Proxy } from './proxy/proxy.ts';

export const SERVICE = 'gateway';

export interface GatewayDeps {
  config: GatewayConfig;
  logger: Logger;
  /** The platform registry and RED middleware; `gatewayMetrics` are the gateway's own on the same registry. */
  metrics: Metrics;
  gatewayMetrics: GatewayMetrics;
  /** The first REDIS_URL master (rate-limit counters); absent = the announced in-memory mode. */
  redis?: Redis;
  table: RoutingTable;
  /** The configured upstream base URLs by service name. */
  upstreams: Partial<Record<UpstreamService, string>>;
  /** Keep-alive connection pools to the upstreams. */
  dispatcher: Dispatcher;
  /** Token verification against the users service's JWKS (keys cached). */
  auth: Authenticator;
  limits: RateLimits;
  proxy: Proxy;
  /** Closes what createDeps opened (call after the HTTP server has drained); what an override gave is left open. */
  close: () => Promise<void>;
}

export interface DepsOverrides {
  logger?: Logger;
  metrics?: Metrics;
  /** A Redis client for the rate limits, owned by the caller (instead of one opened from REDIS_URL). */
  redis?: Redis;
  table?: RoutingTable;
  /** Owned by the caller. */
  dispatcher?: Dispatcher;
}

export function createUpstreamAgent(): Agent {
  // Keep-alive pools per upstream origin; no pipelining so one slow response never delays another.
  return new Agent({ keepAliveTimeout: 30_000, connections: 512, pipelining: 1, connect: { timeout: 2_000 } });
}

export function createDeps(config: GatewayConfig, overrides: DepsOverrides = {}): GatewayDeps {
  // Asynchronous, batched stdout (see logging.ts): the access line of every request must not cost a write
  // syscall on the hot path. Flushed by close().
  const logDestination = overrides.logger ? undefined : batchedStdout();
  const logger = overrides.logger ?? createLogger(SERVICE, { level: config.LOG_LEVEL, destination: logDestination });
  const metrics = overrides.metrics ?? createMetrics(SERVICE);
  const gatewayMetrics = createGatewayMetrics(metrics.registry);
  // Offline queue off: while Redis is unreachable a limiter call fails at once and the in-memory insurance
  // limiter answers, instead of requests queueing behind a reconnect. A Redis that hangs costs a request at
  // most the command timeout, and only until the client gives its connection up (platform redis.ts).
  const ownRedis =
    !overrides.redis && config.REDIS_URL[0]
      ? createRedis(
          config.REDIS_URL[0],
          { enableOfflineQueue: false, commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS },
          logger,
        )
      : undefined;
  const redis = overrides.redis ?? ownRedis;
  const ownDispatcher = overrides.dispatcher ? undefined : createUpstreamAgent();
  const dispatcher = overrides.dispatcher ?? ownDispatcher!;
  const table = overrides.table ?? loadRoutingTable();
  const upstreams = upstreamUrls(config);
  const auth = createAuthenticator({
    usersUrl: upstreams.users,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    jwksCacheMs: config.JWT_JWKS_CACHE_MS,
    jwksRequestsPerMinute: config.JWT_JWKS_REQUESTS_PER_MINUTE,
    clockToleranceS: config.JWT_CLOCK_TOLERANCE_S,
  });
  const limits = createRateLimits({
    redis,
    prefix: config.REDIS_PREFIX,
    ip: { points: config.RATE_LIMIT_IP_POINTS, windowS: config.RATE_LIMIT_IP_WINDOW_S },
    user: { points: config.RATE_LIMIT_USER_POINTS, windowS: config.RATE_LIMIT_USER_WINDOW_S },
    login: { points: config.RATE_LIMIT_LOGIN_POINTS, windowS: config.RATE_LIMIT_LOGIN_WINDOW_S },
    holds: { points: config.RATE_LIMIT_HOLDS_POINTS, windowS: config.RATE_LIMIT_HOLDS_WINDOW_S },
    onRefused: (limit) => gatewayMetrics.rateLimited.inc({ limit }),
  });
  const proxy = createProxy({
    upstreams,
    defaultTimeoutMs: config.UPSTREAM_TIMEOUT_MS,
    bodyLimit: config.BODY_LIMIT,
    trustProxy: config.TRUST_PROXY,
    dispatcher,
    onFailure: (service, reason) => gatewayMetrics.upstreamFailures.inc({ upstream: service, reason }),
  });
  if (limits.mode === 'memory')
    logger.warn('no REDIS_URL: rate limits are counted in memory (correct for a single gateway replica only)');
  logger.info(
    {
      upstreams,
      rateLimits: redis ? 'redis (in memory while Redis is unreachable)' : 'memory',
      frontendDir: config.FRONTEND_DIR,
    },
    'gateway configured',
  );
  return {
    config,
    logger,
    metrics,
    gatewayMetrics,
    redis,
    table,
    upstreams,
    dispatcher,
    auth,
    limits,
    proxy,
    close: async () => {
      await ownDispatcher?.close();
      if (ownRedis) await closeRedis([ownRedis]);
      try {
        logDestination?.flushSync();
      } catch {
        /* not opened yet or already closed: nothing buffered */
      }
    },
  };
}
