// Pub/sub for ephemeral fan-out (live seat changes): Redis with a dedicated subscriber connection (a
// subscribed connection can issue no other command), or an announced in-process EventEmitter when no URL
// is given (single process only). Messages are fire-and-forget: durable events go through the event bus.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { createRedis, isRedisLost, RedisUnavailableError } from './redis.ts';

export type MessageHandler = (message: string, channel: string) => void;

export interface PubSub {
  publish(channel: string, message: string): Promise<void>;
  /** Resolves once the subscription is active; returns the function that removes this handler. */
  subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface PubSubOptions {
  url?: string;
  logger: Logger;
  prefix?: string;
  /** Bound on one command's reply (REDIS_COMMAND_TIMEOUT_MS; default: createRedis's). */
  commandTimeoutMs?: number;
}

export function createPubSub(opts: PubSubOptions): PubSub {
  const prefix = opts.prefix ?? 'et:';
  return opts.url ? redisPubSub(opts.url, prefix, opts.logger, opts.commandTimeoutMs) : memoryPubSub(opts.logger);
}

/** Calls every handler; one throwing handler must not starve the others. */
function dispatch(handlers: Set<MessageHandler> | undefined, message: string, channel: string, logger: Logger): void {
  for (const handler of handlers ?? []) {
    try {
      handler(message, channel);
    } catch (err) {
      logger.error({ err, channel }, 'pub/sub handler failed');
    }
  }
}

function redisPubSub(url: string, prefix: string, logger: Logger, commandTimeout?: number): PubSub {
  // Publishing is fire-and-forget after a commit: once the connection is lost it fails at once instead of
  // queueing, and a hanging server costs at most the command timeout.
  const publisher = createRedis(url, { commandTimeout }, logger);
  // The subscriber retries forever and resubscribes after a reconnect (ioredis autoResubscribe).
  const subscriber = createRedis(url, { commandTimeout, maxRetriesPerRequest: null }, logger);
  const handlers = new Map<string, Set<MessageHandler>>();
  subscriber.on('message', (fullChannel: string, message: string) => {
    const channel = fullChannel.slice(prefix.length);
    dispatch(handlers.get(channel), message, channel, logger);
  });
  // createRedis logs their outages (once down, once back).

  return {
    async publish(channel, message) {
      if (isRedisLost(publisher)) throw new RedisUnavailableError(publisher);
      await publisher.publish(prefix + channel, message);
    },
    async subscribe(channel, handler) {
      let set = handlers.get(channel);
      if (!set) handlers.set(channel, (set = new Set()));
      set.add(handler);
      if (set.size === 1) await subscriber.subscribe(prefix + channel);
      return async () => {
        const current = handlers.get(channel);
        if (!current?.delete(handler) || current.size > 0) return;
        handlers.delete(channel);
        await subscriber.unsubscribe(prefix + channel);
      };
    },
    async close() {
      handlers.clear();
      await Promise.all([publisher, subscriber].map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}

function memoryPubSub(logger: Logger): PubSub {
  logger.warn('pub/sub: no Redis URL, using an in-process emitter (single node only; other processes see nothing)');
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  const handlers = new Map<string, Set<MessageHandler>>();
  emitter.on('message', (channel: string, message: string) =>
    dispatch(handlers.get(channel), message, channel, logger),
  );
  return {
    async publish(channel, message) {
      // Asynchronous like Redis delivery, so publishers never run subscriber code on their own stack.
      setImmediate(() => emitter.emit('message', channel, message));
    },
    async subscribe(channel, handler) {
      let set = handlers.get(channel);
      if (!set) handlers.set(channel, (set = new Set()));
      set.add(handler);
      return async () => {
        const current = handlers.get(channel);
        current?.delete(handler);
        if (current && current.size === 0) handlers.delete(channel);
      };
    },
    async close() {
      handlers.clear();
      emitter.removeAllListeners();
    },
  };
}
