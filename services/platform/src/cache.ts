// Read cache for hot reads: Redis when a client is given (shared by every replica, so an invalidation is
// seen everywhere), otherwise an in-process LRU (single process only). Namespaces carry a generation number:
// bumping it invalidates every key built with the old one at once (e.g. all cached search pages).
// A cache failure never fails the read: it is logged and the caller goes to the database.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

export interface ReadCache {
  readonly kind: 'redis' | 'memory';
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  del(...keys: string[]): Promise<void>;
  /** Current generation of a namespace (0 when never bumped). */
  generation(namespace: string): Promise<number>;
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
}

export function createReadCache(opts: ReadCacheOptions): ReadCache {
  return opts.redis
    ? redisCache(opts.redis, opts.prefix, opts.logger)
    : memoryCache(opts.prefix, opts.maxEntries ?? 1000);
}

function redisCache(redis: Redis, prefix: string, logger: Logger): ReadCache {
  const soft = async <T>(what: string, fn: () => Promise<T>, fallback: T): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      logger.warn({ err, what }, 'read cache unavailable; reading through');
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
    generation: (ns) => soft('generation', async () => Number((await redis.get(`${prefix}gen:${ns}`)) ?? 0), 0),
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
