// Background work every replica runs: relaying user.registered / user.updated from the outbox to the bus
// (Redis Streams, or the Postgres bus locally), and the periodic pruning of stale rows.
import { startPeriodic } from '@eventtickets/platform';
import type { UsersDeps } from './deps.ts';
import { runMaintenance } from './use-cases/maintenance.ts';

export async function startWorkers(deps: UsersDeps): Promise<{ stop: () => Promise<void> }> {
  const { config, bus } = deps;
  bus.startRelay(); // users consumes no other service's events: no subscriptions, only the relay
  const maintenance = startPeriodic({
    name: 'users maintenance',
    intervalMs: config.MAINTENANCE_INTERVAL_MS,
    logger: deps.logger,
    run: () => runMaintenance(deps),
  });
  return {
    stop: async () => {
      await maintenance.stop();
      await bus.stop();
    },
  };
}
