// Redis: an ioredis factory. REDIS_URL lists one URL per independent master; the first also carries
// streams, pub/sub and rate limits, all of them are Redlock voters.
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from './logger.ts';
import { outageReporter, type OutageReporter } from './outage.ts';

export { Redis };

/** A client that reconnects on its own. An outage is logged once when it starts and once when it ends (see
 *  outage.ts), instead of ioredis' "Unhandled error event" noise or a line per reconnection attempt.
 *  Readiness reports the outage meanwhile. */
export function createRedis(url: string, opts: RedisOptions = {}, logger?: Logger): Redis {
  const client = new Redis(url, {
    maxRetriesPerRequest: 2,
    enableAutoPipelining: false,
    connectTimeout: 2000,
    ...opts,
  });
  watchRedis(client, logger);
  return client;
}

/** Logs a client's outages (one line down, one line back with its duration), shared with every other client
 *  of the same server logging to the same destination. Without a logger, errors are only kept from crashing. */
export function watchRedis(client: Redis, logger?: Logger): void {
  if (!logger) {
    client.on('error', () => undefined);
    return;
  }
  const host = `${client.options.host ?? 'localhost'}:${client.options.port ?? 6379}`;
  const outage = outageReporter(logger, 'redis', { redis: host });
  client.on('error', (err: Error) => outage.failed(client, err));
  client.on('ready', () => outage.recovered(client));
  client.on('end', () => outage.forget(client));
}

/** The outage of the server a client talks to, for loops that use it (they join the same outage). */
export function redisOutage(client: Redis, logger: Logger): OutageReporter {
  return outageReporter(logger, 'redis', {
    redis: `${client.options.host ?? 'localhost'}:${client.options.port ?? 6379}`,
  });
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
