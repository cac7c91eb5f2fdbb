// Redis: an ioredis factory. REDIS_URL lists one URL per independent master; the first also carries
// streams, pub/sub and rate limits, all of them are Redlock voters.
//
// A master that hangs (SIGSTOP, a stalled VM, a dead peer whose TCP connection stays open) must not hang
// the requests that use it. Every client therefore has
// - a command timeout (REDIS_COMMAND_TIMEOUT_MS, default 250 ms): a command without a reply by then fails
//   with "Command timed out", and every caller treats that like any other Redis failure (a cache miss, the
//   insurance rate limiter, a lost Redlock vote, a relay batch retried later);
// - a socket timeout (4 × that, at least 1 s): a connection that receives nothing for that long while
//   commands wait is torn down, so the client leaves the "ready" state. Hot paths ask `isRedisLost`
//   first and skip Redis at once while it is not ready, so only the requests of the first second of a
//   freeze pay the command timeout. The tear-down is also what logs the outage ("redis unavailable"); the
//   reconnection that completes once the server answers again logs its end;
// - no replay of unanswered commands after a reconnect: their callers have given up (timed out), and a
//   replayed lock acquisition or rate-limit increment would only do harm.
import { Command, Redis, type RedisOptions } from 'ioredis';
import { z } from 'zod';
import type { Logger } from './logger.ts';
import { outageReporter, type OutageReporter } from './outage.ts';

export { Redis };

// Both timeouts count from a timer, and a timer can fire late: after the process was descheduled or its event
// loop blocked (a GC pause, a loaded CI machine), the timers run before the poll phase that would read a reply
// already waiting in the socket. ioredis (6.0.0) then fails a command that was answered in time, or tears down
// a healthy connection. Both checks are therefore made one I/O turn after their timer (setImmediate runs after
// the poll phase): only a reply that has really not arrived counts. Same behaviour otherwise.
type TimedCommand = { _commandTimeoutTimer?: NodeJS.Timeout; isSettled: boolean; reject(err: Error): void };
const commandProto = Command.prototype as unknown as TimedCommand & { setTimeout(ms: number): void };
if (typeof commandProto.setTimeout === 'function') {
  commandProto.setTimeout = function (this: TimedCommand, ms: number) {
    if (this._commandTimeoutTimer) return;
    this._commandTimeoutTimer = setTimeout(
      () =>
        setImmediate(() => {
          if (!this.isSettled) this.reject(new Error('Command timed out'));
        }),
      ms,
    );
  };
}
type TimedClient = {
  stream: NodeJS.ReadableStream & { destroy(err: Error): void };
  socketTimeoutTimer?: NodeJS.Timeout;
  options: { socketTimeout?: number };
  commandQueue: { length: number };
  setSocketTimeout(): void;
};
const clientProto = Redis.prototype as unknown as TimedClient;
if (typeof clientProto.setSocketTimeout === 'function') {
  clientProto.setSocketTimeout = function (this: TimedClient) {
    const stream = this.stream;
    const ms = this.options.socketTimeout;
    const timer: NodeJS.Timeout = setTimeout(
      () =>
        setImmediate(() => {
          if (this.socketTimeoutTimer !== timer) return; // data came meanwhile (cleared or armed again), or closed
          this.socketTimeoutTimer = undefined;
          stream.destroy(new Error(`Socket timeout. Expecting data, but didn't receive any in ${ms}ms.`));
        }),
      ms,
    );
    this.socketTimeoutTimer = timer;
    // After ioredis' own "data" handler (registered first), so the command queue is up to date.
    stream.once('data', () => {
      clearTimeout(this.socketTimeoutTimer);
      this.socketTimeoutTimer = undefined;
      if (this.commandQueue.length === 0) return;
      this.setSocketTimeout();
    });
  };
}

/** The default bound on one command's reply (REDIS_COMMAND_TIMEOUT_MS). */
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 250;

/** REDIS_COMMAND_TIMEOUT_MS, for a service's config schema: the longest a Redis command waits for its reply
 *  before its caller falls back (cache miss, insurance rate limiter, lost lock vote, relay retried later). */
export const redisCommandTimeoutMs = z.coerce
  .number()
  .int()
  .min(10)
  .max(60_000)
  .default(DEFAULT_REDIS_COMMAND_TIMEOUT_MS);

/** The socket timeout that goes with a command timeout (see the top of this file). */
export function redisSocketTimeoutMs(commandTimeoutMs: number): number {
  return Math.max(1000, 4 * commandTimeoutMs);
}

/** A client that reconnects on its own. An outage is logged once when it starts and once when it ends (see
 *  outage.ts), instead of ioredis' "Unhandled error event" noise or a line per reconnection attempt.
 *  Readiness reports the outage meanwhile. */
export function createRedis(url: string, opts: RedisOptions = {}, logger?: Logger): Redis {
  const commandTimeout = opts.commandTimeout ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS;
  const client = new Redis(url, {
    maxRetriesPerRequest: 2,
    enableAutoPipelining: false,
    connectTimeout: 2000,
    commandTimeout,
    socketTimeout: redisSocketTimeoutMs(commandTimeout),
    autoResendUnfulfilledCommands: false,
    ...opts,
  });
  watchRedis(client, logger);
  return client;
}

const connectedOnce = new WeakSet<Redis>();

/** Whether the client had a working connection and has lost it (torn down after the socket timeout, or
 *  refused): hot paths (caches, lock votes, fire-and-forget publishes) then skip Redis at once instead of
 *  queueing a command that can only time out. A client still making its first connection is not "lost": its
 *  commands queue as usual (each bounded by the command timeout). */
export function isRedisLost(client: Redis): boolean {
  return client.status !== 'ready' && connectedOnce.has(client);
}

/** The error a hot path reports when it skipped a client that is not ready. */
export class RedisUnavailableError extends Error {
  constructor(client: Redis) {
    super(
      `redis ${client.options.host ?? 'localhost'}:${client.options.port ?? 6379} is unavailable (${client.status})`,
    );
    this.name = 'RedisUnavailableError';
  }
}

/** Logs a client's outages (one line down, one line back with its duration), shared with every other client
 *  of the same server logging to the same destination. Without a logger, errors are only kept from crashing. */
export function watchRedis(client: Redis, logger?: Logger): void {
  if (client.status === 'ready') connectedOnce.add(client);
  else client.once('ready', () => connectedOnce.add(client));
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

/** Readiness: every client answers a PING (each bounded by its command timeout; a lost one fails at once).
 *  With `quorum`, a majority answering is enough: Redlock masters, where the service works on any two of three. */
export function redisReadiness(clients: Redis[], opts: { quorum?: boolean } = {}) {
  const ping = async (c: Redis) => {
    if (isRedisLost(c)) throw new RedisUnavailableError(c);
    await c.ping();
  };
  return {
    redis: async () => {
      const results = await Promise.allSettled(clients.map(ping));
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      const needed = opts.quorum ? Math.floor(clients.length / 2) + 1 : clients.length;
      if (clients.length - failed.length < needed) throw failed[0].reason;
    },
  };
}

export async function closeRedis(clients: Redis[]): Promise<void> {
  await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
}
