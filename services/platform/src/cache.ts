// Read cache for hot reads: Redis when a client is given (shared by every replica, so an invalidation is
// seen everywhere), otherwise an in-process LRU (single process only). Namespaces carry a generation number:
// bumping it invalidates every key built with the old one at once (e.g. all cached search pages).
// A cache failure never fails the read: it is logged and the caller goes to the database.
// A Redis that hangs must not slow reads down either: every command is bounded by the client's command
// timeout, a failed or timed-out command counts as a miss, and after one the cache is skipped altogether
// (no GET, no SET) for a short while, as it is whenever the client has no working connection, so a frozen
// master costs one bounded wait, not one per request and command.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { isRedisLost } from './redis.ts';

export interface ReadCache {
  readonly kind: 'redis' | 'memory';
  /** The cached value; undefined on a miss and whenever the cache cannot answer (then set() skips too). */
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  del(...keys: string[]): Promise<void>;
  /** Current generation of a namespace (0 when never bumped); undefined when the cache cannot say, and then
   *  the caller must bypass the cache (a guessed generation could serve a stale entry). */
  generation(namespace: string): Promise<number | undefined>;
  /** Invalidates every key built with the namespace's current generation. */
  bump(namespace: string): Promise<void>;
}

export interface ReadCacheOptions {
  redis?: Redis;
  /** Key prefix, e.g. `${REDIS_PREFIX}catalog:` */
  prefix: string;
  logger: Logger;
  /** In-process mode only: most entries kept (least recently used evicted first). */
  maxEntries?: number;
  /** Redis mode: how long the cache is skipped after a failed command (default 1000 ms). */
  skipAfterFailureMs?: number;
}

export function createReadCache(opts: ReadCacheOptions): ReadCache {
  return opts.redis
    ? redisCache(opts.redis, opts.prefix, opts.logger, opts.skipAfterFailureMs ?? 1000)
    : memoryCache(opts.prefix, opts.maxEntries ?? 1000);
}

function redisCache(redis: Redis, prefix: string, logger: Logger, skipAfterFailureMs: number): ReadCache {
  let skipUntil = 0;
  let failing = false;
  const soft = async <T>(what: string, fn: () => Promise<T>, fallback: T): Promise<T> => {
    if (isRedisLost(redis) || Date.now() < skipUntil) return fallback;
    try {
      const value = await fn();
      if (failing) {
        failing = false;
        logger.info('read cache available again');
      }
      return value;
    } catch (err) {
      skipUntil = Date.now() + skipAfterFailureMs;
      // Once per outage (the client's own outage lines say when Redis itself went and came back).
      if (!failing) logger.warn({ err, what }, 'read cache unavailable; reading through');
      failing = true;
      return fallback;
    }
  };
  return {
    kind: 'redis',
    get: (key) => soft('get', async () => (await redis.get(prefix + key)) ?? undefined, undefined),
    set: (key, value, ttl) =>
      soft(
        'set',
        async () => void (await redis.set(prefix + key, value, 'EX', Math.max(1, Math.round(ttl)))),
        undefined,
      ),
    del: (...keys) =>
      soft('del', async () => void (keys.length && (await redis.del(...keys.map((k) => prefix + k)))), undefined),
    generation: (ns) =>
      soft<number | undefined>(
        'generation',
        async () => Number((await redis.get(`${prefix}gen:${ns}`)) ?? 0),
        undefined,
      ),
    // An invalidation must not be lost silently: a failed bump throws so the caller's write reports it.
    bump: async (ns) => void (await redis.incr(`${prefix}gen:${ns}`)),
  };
}

function memoryCache(prefix: string, maxEntries: number): ReadCache {
  const entries = new Map<string, { value: string; expiresAt: number }>();
  const generations = new Map<string, number>();
  return {
    kind: 'memory',
    async get(key) {
      const k = prefix + key;
      const hit = entries.get(k);
      if (!hit) return undefined;
      entries.delete(k);
      if (hit.expiresAt <= Date.now()) return undefined;
      entries.set(k, hit); // most recently used goes last
      return hit.value;
    },
    async set(key, value, ttl) {
      const k = prefix + key;
      entries.delete(k);
      entries.set(k, { value, expiresAt: Date.now() + ttl * 1000 });
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
    },
    async del(...keys) {
      for (const k of keys) entries.delete(prefix + k);
    },
    async generation(ns) {
      return generations.get(ns) ?? 0;
    },
    async bump(ns) {
      generations.set(ns, (generations.get(ns) ?? 0) + 1);
    },
  };
}
