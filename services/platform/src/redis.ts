// Redis: an ioredis factory. REDIS_URL lists one URL per independent master; the first also carries
// streams, pub/sub and rate limits, all of them are Redlock voters.
import { Redis, type RedisOptions } from 'ioredis';

export { Redis };

/** A client that reconnects on its own; connection errors are logged (at most every 5 s) instead of
 *  surfacing as ioredis' "Unhandled error event" noise. Readiness reports the outage. */
export function createRedis(url: string, opts: RedisOptions = {}, logger?: { warn: (obj: object, msg: string) => void }): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 2, enableAutoPipelining: false, connectTimeout: 2000, ...opts });
  let lastLogged = 0;
  client.on('error', (err: Error) => {
    if (Date.now() - lastLogged < 5000) return;
    lastLogged = Date.now();
    logger?.warn({ err: err.message, redis: new URL(url).host }, 'redis connection error');
  });
  return client;
}

export function redisReadiness(clients: Redis[]) {
  return {
    redis: async () => {
      await Promise.all(clients.map((c) => c.ping()));
    },
  };
}

export async function closeRedis(clients: Redis[]): Promise<void> {
  await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
}
