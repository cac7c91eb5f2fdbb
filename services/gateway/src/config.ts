// Gateway configuration: validated once at start (fail-fast, naming the variable).
import { fileURLToPath } from 'node:url';
import { baseConfigSchema, redisUrls, z, internalTokenConfigFields } from '@eventtickets/platform/config';
import { redisCommandTimeoutMs } from '@eventtickets/platform/redis';

export const UPSTREAM_SERVICES = ['users', 'catalog', 'inventory', 'orders', 'payments', 'notifications'] as const;
export type UpstreamService = (typeof UPSTREAM_SERVICES)[number];

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

const optionalUrl = z.preprocess((v) => (v === '' ? undefined : v), z.url().optional());
const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** "1mb", "512kb", "2048" (bytes) → bytes. */
export function parseByteSize(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(value.trim());
  if (!m) throw new Error(`not a size: ${value}`);
  const unit = (m[2] ?? 'b').toLowerCase();
  const factor = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[unit as 'b' | 'kb' | 'mb' | 'gb'];
  return Math.floor(Number(m[1]) * factor);
}

const byteSize = z
  .string()
  .default('1mb')
  .refine(
    (v) => /^\d+(?:\.\d+)?\s*(b|kb|mb|gb)?$/i.test(v.trim()),
    'must be a size like 1mb, 512kb or a number of bytes',
  )
  .transform(parseByteSize);

const booleanFlag = z
  .enum(['true', 'false', '1', '0', ''])
  .default('false')
  .transform((v) => v === 'true' || v === '1');

export const configSchema = baseConfigSchema.extend({
  /** Signs the identity forwarded to each service (one stack-wide secret, at least 32 characters). */
  ...internalTokenConfigFields,
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  USERS_URL: optionalUrl,
  CATALOG_URL: optionalUrl,
  INVENTORY_URL: optionalUrl,
  ORDERS_URL: optionalUrl,
  PAYMENTS_URL: optionalUrl,
  NOTIFICATIONS_URL: optionalUrl,
  /** Set: /metrics is served on this port only (keep it off the public Ingress: Prometheus scrapes the pod
   *  there) and the public port answers 404 for it. Unset: /metrics on PORT, as every service. */
  METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  JWT_ISSUER: z.string().min(1).default('eventtickets'),
  JWT_AUDIENCE: z.string().min(1).default('eventtickets-api'),
  /** How long a fetched signing key is trusted before the JWKS is read again: also how long a key removed
   *  from users (a compromised one) still verifies here. One small fetch a minute per replica is cheap. */
  JWT_JWKS_CACHE_MS: positiveInt(60_000),
  /** Bound on JWKS fetches triggered by unknown `kid`s (forged tokens must not hammer users). */
  JWT_JWKS_REQUESTS_PER_MINUTE: positiveInt(10),
  JWT_CLOCK_TOLERANCE_S: z.coerce.number().int().min(0).default(5),
  /** How long a token whose signature was verified is believed again without re-verifying it (bounded by its own
   *  exp; 0 verifies every request). ES256/RS256 verification is the gateway's largest cost per call. */
  JWT_VERIFIED_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(30_000),
  REDIS_URL: redisUrls,
  REDIS_PREFIX: z.string().default('et:'),
  /** Bound on one Redis command's reply: a master that hangs costs a request at most this (platform redis.ts). */
  REDIS_COMMAND_TIMEOUT_MS: redisCommandTimeoutMs,
  RATE_LIMIT_IP_POINTS: positiveInt(1200),
  RATE_LIMIT_IP_WINDOW_S: positiveInt(60),
  RATE_LIMIT_USER_POINTS: positiveInt(600),
  RATE_LIMIT_USER_WINDOW_S: positiveInt(60),
  RATE_LIMIT_LOGIN_POINTS: positiveInt(10),
  RATE_LIMIT_LOGIN_WINDOW_S: positiveInt(60),
  RATE_LIMIT_HOLDS_POINTS: positiveInt(30),
  RATE_LIMIT_HOLDS_WINDOW_S: positiveInt(60),
  /** Comma-separated allowed origins for cross-origin browser calls; empty = same-origin only. */
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .refine(
      (list) => list.every((o) => o === '*' || /^https?:\/\/[^/]+$/.test(o)),
      'every entry must be an origin like https://app.example.com or *',
    ),
  FRONTEND_DIR: z.string().min(1).default(`${repoRoot}frontend/dist`),
  BODY_LIMIT: byteSize,
  /** Default per-route upstream timeout (a route in the table may set its own). */
  UPSTREAM_TIMEOUT_MS: positiveInt(10_000),
  /** Longest a public response (Cache-Control: public, max-age) is answered to anonymous GETs from the gateway's
   *  memory (proxy/micro-cache.ts); never longer than its max-age. 0: never. */
  MICROCACHE_MS: z.coerce.number().int().min(0).max(60_000).default(1_000),
  /** Keep-alive connections per upstream service for request/response calls (holds, logins...). Live streams
   *  never take one of these: they have their own pool (below). 64, not one per client: a service works on a
   *  few dozen requests at once (its database pool is 20); more connections only move the queue from this
   *  gateway's FIFO into the service's sockets, where nothing orders it. With 512, 500 buyers' holds in flight
   *  had a p99 of 10.5 s and 504s while inventory answered each within 2.5 s; with 64, p99 2.4 s and 1.7x the
   *  throughput (load/RESULTS.md, "Upstream connections"). */
  UPSTREAM_CONNECTIONS: positiveInt(64),
  /** Connections per upstream service for long-lived streams: one per watched event for fan-out routes, one
   *  per client for plain stream routes. */
  UPSTREAM_STREAM_CONNECTIONS: positiveInt(4096),
  /** Fan-out streams: heartbeat comment to every viewer. */
  STREAM_HEARTBEAT_MS: positiveInt(15_000),
  /** Fan-out streams: changes kept per stream for Last-Event-ID resume (older: the viewer gets the snapshot). */
  STREAM_REPLAY_CHANGES: positiveInt(1024),
  /** Fan-out streams: unread bytes after which a viewer that stopped reading is dropped (it resumes). */
  STREAM_MAX_BUFFERED_BYTES: byteSize,
  /** Fan-out streams: how long the upstream stream outlives its last viewer. */
  STREAM_LINGER_MS: z.coerce.number().int().min(0).default(5_000),
  /** Fan-out streams: flushes of changes to viewers are at least this far apart (the contract's coalescing window
   *  for the public stream; a change after a quiet spell goes out at once). 250 ms: a seat map redrawn 4 times a
   *  second, and each viewer costs 2.5x fewer socket writes (gateway and viewer) than at 100 ms during an on-sale. */
  STREAM_COALESCE_MS: z.coerce.number().int().min(0).max(1_000).default(250),
  /** Fan-out streams: a flush writes to viewers for at most this long before other I/O runs (0: after each). */
  STREAM_FLUSH_SLICE_MS: z.coerce.number().min(0).max(1_000).default(5),
  /** Trust X-Forwarded-For from one proxy hop (set behind an ingress), for the client IP of rate limits. */
  TRUST_PROXY: booleanFlag,
  /** How long the merged OpenAPI document is cached. */
  OPENAPI_CACHE_MS: z.coerce.number().int().min(0).default(5_000),
});

export type GatewayConfig = z.infer<typeof configSchema>;

/** The configured upstream base URLs by service name (unconfigured ones absent). */
export function upstreamUrls(config: GatewayConfig): Partial<Record<UpstreamService, string>> {
  const out: Partial<Record<UpstreamService, string>> = {};
  for (const service of UPSTREAM_SERVICES) {
    const url = config[`${service.toUpperCase()}_URL` as 'USERS_URL'];
    if (url) out[service] = url;
  }
  return out;
}
