// Read cache for hot reads: Redis when a client is given (shared by every replica, so an invalidation is
// seen everywhere), otherwise an in-process LRU (single process only). Namespaces carry a generation number:
// bumping it invalidates every key built with the old one at once (e.g. all cached search pages).
// A cache failure never fails the read: it is logged and the caller goes to the database.
// A Redis that hangs must not slow reads down either: every command is bounded by the client's command
// timeout, a failed or timed-out command counts as a miss, and after one the cache is skipped altogether
// (no GET, no SET) for a short while, as it is whenever the client has no working connection, so a frozen
// master costs one bounded wait, not one per request and command.
//
// Near cache (Redis mode): a hot read costs two Redis round trips (the namespace's generation, then the
// value), which on an on-sale's event detail (tens of KB) was most of the request. So generations and values
// read are also kept in process for at most `nearMs` (default 1 s), and a bump is announced on the
// `<prefix>gen` pub/sub channel: every replica drops its copy of that generation when the message arrives,
// the writer's own at once. The rule: a replica serves what Redis held at most `nearMs` ago; normally an
// invalidation is seen as soon as its message arrives, and a lost message (subscriber disconnected, Redis
// restarted) delays it by at most `nearMs`. While the subscription is not live nothing is kept in process.
// Values are keyed by generation, so a bumped namespace never serves its old values from process memory.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { isRedisLost, watchRedis } from './redis.ts';

export interface ReadCache {
  readonly kind: 'redis' | 'memory';
  /** The cached value; undefined on a miss and whenever the cache cannot answer (then set() skips too). */
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  del(...keys: string[]): Promise<void>;
  /** Current generation of a namespace (0 when never bumped); undefined when the cache cannot say, and then
   *  the caller must bypass the cache (a guessed generation could serve a stale entry). */
  generation(namespace: string): Promise<number | undefined>;
  /** Invalidates every key built with the namespace's current generation (in every replica: see above). */
  bump(namespace: string): Promise<void>;
  /** Whether reads may be answered from process memory now (Redis mode: the invalidation channel is live). */
  nearLive(): boolean;
  /** Closes what the cache opened itself (the near cache's subscriber); the Redis client given stays open. */
  close(): Promise<void>;
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
  /** Redis mode: longest a generation or value read from Redis is reused from process memory (default 1000 ms;
   *  0 turns the near cache off: every read asks Redis). */
  nearMs?: number;
  /** Redis mode: most values kept in process memory (default 256; oldest dropped first). */
  nearMaxEntries?: number;
}

export function createReadCache(opts: ReadCacheOptions): ReadCache {
  return opts.redis
    ? redisCache(opts.redis, opts.prefix, opts.logger, opts.skipAfterFailureMs ?? 1000, {
        nearMs: opts.nearMs ?? 1000,
        maxEntries: opts.nearMaxEntries ?? 256,
      })
    : memoryCache(opts.prefix, opts.maxEntries ?? 1000);
}

interface NearCache {
  /** Whether process memory may answer (the invalidation channel is subscribed and connected). */
  live(): boolean;
  generation(ns: string): number | undefined;
  value(key: string): string | undefined;
  /** A token taken before a Redis read: keep() stores the answer only if nothing was invalidated meanwhile. */
  epoch(): number;
  keepGeneration(ns: string, generation: number, epoch: number): void;
  keepValue(key: string, value: string, epoch: number, ttlMs?: number): void;
  forget(ns: string): void;
  forgetValues(keys: string[]): void;
  close(): Promise<void>;
}

/** Generations and values read from Redis, reused for at most `nearMs`, dropped when the channel says so. */
function nearCache(redis: Redis, channel: string, logger: Logger, nearMs: number, maxEntries: number): NearCache {
  const generations = new Map<string, { generation: number; until: number }>();
  const values = new Map<string, { value: string; until: number }>();
  let epoch = 0;
  let subscribed = false;
  const subscriber = redis.duplicate({ maxRetriesPerRequest: null, lazyConnect: false });
  watchRedis(subscriber, logger);
  const drop = () => {
    epoch++;
    generations.clear();
    values.clear();
  };
  const subscribe = () => {
    subscriber.subscribe(channel).then(
      () => {
        drop(); // whatever was read before the channel was live may have missed a message
        subscribed = subscriber.status === 'ready';
      },
      () => {
        // refused or timed out on a live connection: try again shortly (a new connection subscribes on 'ready')
        if (subscriber.status === 'ready') setTimeout(subscribe, 1000).unref();
      },
    );
  };
  // Messages may be lost while the connection is down: nothing is reused until it is back and subscribed.
  subscriber.on('close', () => {
    subscribed = false;
    drop();
  });
  subscriber.on('ready', subscribe);
  if (subscriber.status === 'ready') subscribe();
  subscriber.on('message', (_channel: string, ns: string) => {
    epoch++;
    generations.delete(ns);
  });
  const live = () => subscribed && nearMs > 0;
  return {
    live,
    generation(ns) {
      const hit = generations.get(ns);
      if (!hit) return undefined;
      if (hit.until > Date.now()) return hit.generation;
      generations.delete(ns);
      return undefined;
    },
    value(key) {
      const hit = values.get(key);
      // an expired entry stays until replaced (keepValue reuses its string) or evicted
      return hit && hit.until > Date.now() ? hit.value : undefined;
    },
    epoch: () => epoch,
    keepGeneration(ns, generation, at) {
      if (live() && at === epoch) generations.set(ns, { generation, until: Date.now() + nearMs });
    },
    keepValue(key, value, at, ttlMs = nearMs) {
      if (!live() || at !== epoch) return;
      // The same text read again is kept as the same string: callers keying maps by a representation's text
      // (its ETag and bytes, its end time) then compare one pointer instead of tens of KB per request.
      const previous = values.get(key)?.value;
      values.delete(key);
      values.set(key, { value: previous === value ? previous : value, until: Date.now() + Math.min(nearMs, ttlMs) });
      while (values.size > maxEntries) values.delete(values.keys().next().value!);
    },
    forget(ns) {
      epoch++;
      generations.delete(ns);
    },
    forgetValues(keys) {
      epoch++;
      for (const k of keys) values.delete(k);
    },
    async close() {
      subscribed = false;
      drop();
      await subscriber.quit().catch(() => subscriber.disconnect());
    },
  };
}

function redisCache(
  redis: Redis,
  prefix: string,
  logger: Logger,
  skipAfterFailureMs: number,
  nearOpts: { nearMs: number; maxEntries: number },
): ReadCache {
  let skipUntil = 0;
  let failing = false;
  const channel = `${prefix}gen`;
  const near =
    nearOpts.nearMs > 0 ? nearCache(redis, channel, logger, nearOpts.nearMs, nearOpts.maxEntries) : undefined;
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
  // With the near cache live, concurrent misses of one key share one Redis read (when a hot entry expires, every
  // request in flight would otherwise read it), unless an invalidation came in since that read started.
  const inflight = new Map<string, { at: number; read: Promise<unknown> }>();
  const shared = <T>(key: string, at: number, read: () => Promise<T>): Promise<T> => {
    if (!near?.live()) return read();
    const running = inflight.get(key);
    if (running && running.at === at) return running.read as Promise<T>;
    const started = read().finally(() => {
      if (inflight.get(key)?.read === started) inflight.delete(key);
    });
    inflight.set(key, { at, read: started });
    return started;
  };
  return {
    kind: 'redis',
    async get(key) {
      if (near?.live()) {
        const hit = near.value(key);
        if (hit !== undefined) return hit;
      }
      const at = near?.epoch() ?? 0;
      const value = await shared(`v:${key}`, at, () =>
        soft('get', async () => (await redis.get(prefix + key)) ?? undefined, undefined),
      );
      if (value !== undefined) near?.keepValue(key, value, at);
      return value;
    },
    async set(key, value, ttl) {
      const seconds = Math.max(1, Math.round(ttl));
      const at = near?.epoch() ?? 0;
      const stored = await soft(
        'set',
        async () => (await redis.set(prefix + key, value, 'EX', seconds)) === 'OK',
        false,
      );
      if (stored) near?.keepValue(key, value, at, seconds * 1000);
    },
    async del(...keys) {
      near?.forgetValues(keys); // this replica only; others reuse theirs for at most nearMs
      await soft('del', async () => void (keys.length && (await redis.del(...keys.map((k) => prefix + k)))), undefined);
    },
    async generation(ns) {
      if (near?.live()) {
        const hit = near.generation(ns);
        if (hit !== undefined) return hit;
      }
      const at = near?.epoch() ?? 0;
      const generation = await shared(`g:${ns}`, at, () =>
        soft<number | undefined>(
          'generation',
          async () => Number((await redis.get(`${prefix}gen:${ns}`)) ?? 0),
          undefined,
        ),
      );
      if (generation !== undefined) near?.keepGeneration(ns, generation, at);
      return generation;
    },
    // An invalidation must not be lost silently: a failed bump throws so the caller's write reports it. The
    // announcement to other replicas is best effort: a lost one is bounded by nearMs (see above).
    async bump(ns) {
      await redis.incr(`${prefix}gen:${ns}`);
      near?.forget(ns);
      if (!near) return;
      await redis.publish(channel, ns).catch((err: unknown) => {
        logger.warn(
          { err, namespace: ns },
          'read cache: invalidation not announced; other replicas catch up within nearMs',
        );
      });
    },
    nearLive: () => near?.live() ?? false,
    close: async () => near?.close(),
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
    nearLive: () => false,
    async close() {},
  };
}
