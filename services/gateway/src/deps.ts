// Everything the gateway runs on, built from its configuration: the one wiring, used by main.ts and by the
// tests (which pass a silent logger, a shared or a dead Redis client, their own routing table).
import type { Dispatcher } from 'undici';
import { Agent } from 'undici';
import type { Lifecycle, Logger, Metrics, Redis } from '@eventtickets/platform';
import { closeRedis, createRedis } from '@eventtickets/platform/redis';
import { createLifecycle } from '@eventtickets/platform/http';
import { createLogger } from '@eventtickets/platform/logger';
import { createMetrics } from '@eventtickets/platform/metrics';
import { createInternalTokenSigner } from '@eventtickets/platform/internal-token';
import { upstreamUrls, type GatewayConfig, type UpstreamService } from './config.ts';
import { createGatewayMetrics, type GatewayMetrics } from './metrics.ts';
import { batchedStdout } from './logging.ts';
import type { RoutingTable } from './domain/routing.ts';
import { loadRoutingTable } from './routing/table.ts';
import { createAuthenticator, type Authenticator } from './auth/jwt.ts';
import { createRateLimits, type RateLimits } from './limits/rate-limits.ts';
import { createProxy, type Proxy } from './proxy/proxy.ts';
import { createStreamHubs, type StreamHubs } from './proxy/stream-hub.ts';

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
  /** Keep-alive connection pools to the upstreams, for request/response calls only. */
  dispatcher: Dispatcher;
  /** The long-lived streams' own pools: a viewer never takes a connection a buyer's call needs. */
  streamDispatcher: Dispatcher;
  /** Fan-out routes (live availability): one upstream stream per watched path, shared by its viewers. */
  streams: StreamHubs;
  /** Aborted on shutdown (runService): live streams end so the server can drain. */
  lifecycle: Lifecycle;
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
  /** Owned by the caller. */
  streamDispatcher?: Dispatcher;
}

/** Keep-alive pools per upstream origin; no pipelining so one slow response never delays another.
 *  `connections` bounds each origin's pool: request/response calls and long-lived streams get separate
 *  agents (createDeps), so streams can never exhaust the pool the calls queue on. */
export function createUpstreamAgent(connections = 64): Agent {
  return new Agent({ keepAliveTimeout: 30_000, connections, pipelining: 1, connect: { timeout: 2_000 } });
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
  const ownDispatcher = overrides.dispatcher ? undefined : createUpstreamAgent(config.UPSTREAM_CONNECTIONS);
  const dispatcher = overrides.dispatcher ?? ownDispatcher!;
  const ownStreamDispatcher = overrides.streamDispatcher
    ? undefined
    : createUpstreamAgent(config.UPSTREAM_STREAM_CONNECTIONS);
  const streamDispatcher = overrides.streamDispatcher ?? ownStreamDispatcher!;
  const lifecycle = createLifecycle();
  const table = overrides.table ?? loadRoutingTable();
  const upstreams = upstreamUrls(config);
  const auth = createAuthenticator({
    usersUrl: upstreams.users,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    jwksCacheMs: config.JWT_JWKS_CACHE_MS,
    jwksRequestsPerMinute: config.JWT_JWKS_REQUESTS_PER_MINUTE,
    clockToleranceS: config.JWT_CLOCK_TOLERANCE_S,
    verifiedCacheMs: config.JWT_VERIFIED_CACHE_MS,
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
    // A verified identity reaches its service as an internal token for that service; one signed token per user
    // and service is reused for 20 s (it has at least 40 s left when it leaves; a service checks it on arrival), so a busy user
    // costs one HMAC per service every 20 s here, and the services (which remember a token they verified) one
    // verification per token.
    signer: createInternalTokenSigner({ secret: config.INTERNAL_TOKEN_SECRET, issuer: SERVICE, reuseS: 20 }),
    defaultTimeoutMs: config.UPSTREAM_TIMEOUT_MS,
    microCacheMs: config.MICROCACHE_MS,
    bodyLimit: config.BODY_LIMIT,
    trustProxy: config.TRUST_PROXY,
    dispatcher,
    streamDispatcher,
    onFailure: (service, reason) => gatewayMetrics.upstreamFailures.inc({ upstream: service, reason }),
  });
  const streams = createStreamHubs({
    upstreams,
    dispatcher: streamDispatcher,
    logger,
    metrics: {
      viewers: gatewayMetrics.streamViewers,
      upstreamStreams: gatewayMetrics.upstreamStreams,
      viewersDropped: gatewayMetrics.streamViewersDropped,
    },
    defaultTimeoutMs: config.UPSTREAM_TIMEOUT_MS,
    heartbeatMs: config.STREAM_HEARTBEAT_MS,
    replayChanges: config.STREAM_REPLAY_CHANGES,
    maxBufferedBytes: config.STREAM_MAX_BUFFERED_BYTES,
    lingerMs: config.STREAM_LINGER_MS,
    sliceMs: config.STREAM_FLUSH_SLICE_MS,
    coalesceMs: config.STREAM_COALESCE_MS,
    onFailure: (service, reason) => gatewayMetrics.upstreamFailures.inc({ upstream: service, reason }),
  });
  lifecycle.signal.addEventListener('abort', () => streams.close(), { once: true });
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
    streamDispatcher,
    streams,
    lifecycle,
    auth,
    limits,
    proxy,
    close: async () => {
      streams.close();
      await ownDispatcher?.close();
      await ownStreamDispatcher?.destroy();
      if (ownRedis) await closeRedis([ownRedis]);
      try {
        logDestination?.flushSync();
      } catch {
        /* not opened yet or already closed: nothing buffered */
      }
    },
  };
}
