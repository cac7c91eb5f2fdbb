// Event bus entry point: the outbox relay plus a consumer group over a transport — Redis Streams, or, with
// no Redis, an announced Postgres transport over a shared bus database (local single-machine mode).
import { Dispatcher } from './deliver.ts';
import { addLagSource, createBusMetrics } from './metrics.ts';
import { PostgresTransport } from './postgres-transport.ts';
import { RedisTransport } from './redis-transport.ts';
import { OutboxRelay } from './relay.ts';
import type { Transport } from './transport.ts';
import type { EventType } from '../events/catalogue.ts';
import type { EventBus, EventBusOptions, EventHandler } from './types.ts';

export * from './types.ts';
export { busSchema } from './postgres-transport.ts';

export function createEventBus(opts: EventBusOptions): EventBus {
  const prefix = opts.prefix ?? 'et:';
  const pollIntervalMs = opts.pollIntervalMs ?? 200;
  const batchSize = opts.batchSize ?? 100;
  const maxDeliveries = opts.maxDeliveries ?? 5;
  const claimIdleMs = opts.claimIdleMs ?? 30_000;
  const logger = opts.logger.child({ component: 'eventbus' });
  const metrics = createBusMetrics(opts.registry);

  let transport: Transport;
  if (opts.redis) {
    transport = new RedisTransport({
      redis: opts.redis,
      prefix,
      group: opts.service,
      logger,
      metrics,
      batchSize,
      pollIntervalMs,
      maxDeliveries,
      claimIdleMs,
    });
  } else if (opts.busDatabaseUrl) {
    logger.warn('event bus: no Redis, using the Postgres bus database transport (local mode)');
    transport = new PostgresTransport({
      url: opts.busDatabaseUrl,
      group: opts.service,
      logger,
      metrics,
      batchSize,
      pollIntervalMs,
      maxDeliveries,
    });
  } else {
    throw new Error('event bus: configure redis or busDatabaseUrl');
  }

  const dispatcher = new Dispatcher(opts.db, opts.service);
  const relay = new OutboxRelay({
    db: opts.db,
    publish: (events) => transport.publish(events),
    metrics,
    logger,
    batchSize,
    pollIntervalMs,
  });
  let started = false;
  let removeLagSource: (() => void) | undefined;

  return {
    startRelay: () => relay.start(),
    subscribe(types, handler) {
      if (started) throw new Error('event bus: subscribe before start()');
      dispatcher.add(types, handler as EventHandler<EventType>);
    },
    async start() {
      if (started) return;
      started = true;
      if (dispatcher.types.length > 0) {
        await transport.startConsuming(dispatcher);
        if (opts.registry) removeLagSource = addLagSource(opts.registry, () => transport.lag());
      }
    },
    async stop() {
      removeLagSource?.();
      await relay.stop();
      await transport.stop();
    },
    relayOnce: () => relay.relayOnce(),
  };
}
