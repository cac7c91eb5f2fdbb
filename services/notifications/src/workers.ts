// Background work every replica runs: consuming users', catalog's, orders' and payments' events into the
// delivery log, and the delivery worker (right after a commit that added messages, and periodically for
// retries that came due).
import { startPeriodic } from '@eventtickets/platform';
import type { NotificationsDeps } from './deps.ts';
import { consumedEventTypes, eventHandler, type ConsumedEvent } from './events/handlers.ts';

export async function startWorkers(deps: NotificationsDeps): Promise<{ stop: () => Promise<void> }> {
  const { config, bus, delivery } = deps;
  bus.subscribe<ConsumedEvent['type']>(
    consumedEventTypes,
    eventHandler(deps.planner, () => delivery.kick()),
  );
  await bus.start();
  const deliveries = startPeriodic({
    name: 'notification delivery',
    intervalMs: config.DELIVERY_INTERVAL_MS,
    logger: deps.logger,
    runAtStart: true,
    run: async () => {
      delivery.kick();
      await delivery.idle();
    },
  });
  return {
    stop: async () => {
      await deliveries.stop();
      await bus.stop();
      await delivery.idle();
    },
  };
}
