// Redis: an ioredis factory. REDIS_URL lists one URL per independent master; the first also carries
// streams, pub/sub and rate limits, all of them are Redlock voters.
import { Redis, type RedisOptions } from 'ioredis';

export { Redis };

export function createRedis(url: string, opts: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: 2, enableAutoPipelining: false, connectTimeout: 2000, ...opts });
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
