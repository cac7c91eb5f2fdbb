// Business metrics of the inventory (on the service's registry next to the platform's RED and event-bus
// metrics), every name prefixed `inventory_`.
import { prom, registerRedisMetrics, type Sequelize } from '@eventtickets/platform';
import { countLiveHolds } from './db/holds.ts';
import { sellThroughOfEventsOnSale } from './db/sales-metrics.ts';

export interface InventoryMetrics {
  holdsCreated: prom.Counter;
  holdConflicts: prom.Counter<'reason'>;
  holdsRefusedFromView: prom.Counter;
  holdsExpired: prom.Counter;
  lockWait: prom.Histogram;
  holdBatchSize: prom.Histogram;
  sseClients: prom.Gauge;
}

export function createInventoryMetrics(
  registry: prom.Registry,
  db: Sequelize,
  redlockMasters: Array<{ status: string }> = [],
): InventoryMetrics {
  const registers = [registry];
  // Redlock's masters: one down leaves the quorum without margin (alert RedisMasterDown).
  registerRedisMetrics(registry, redlockMasters);
  new prom.Gauge({
    name: 'inventory_event_sell_through_ratio',
    help: 'Sold places over sellable places of the events on sale now (at most 20, the most recently active; read at scrape time)',
    labelNames: ['event_id'] as const,
    registers,
    async collect() {
      const events = await sellThroughOfEventsOnSale(db).catch(() => undefined);
      if (!events) return;
      this.reset();
      for (const e of events) this.set({ event_id: e.eventId }, e.capacity > 0 ? e.sold / e.capacity : 0);
    },
  });
  new prom.Gauge({
    name: 'inventory_active_holds',
    help: 'Holds that are active and not yet past their expiry (read from the database at scrape time)',
    registers,
    async collect() {
      const n = await countLiveHolds(db).catch(() => undefined);
      if (n !== undefined) this.set(n);
    },
  });
  return {
    holdsCreated: new prom.Counter({ name: 'inventory_holds_created_total', help: 'Holds created', registers }),
    holdConflicts: new prom.Counter({
      name: 'inventory_hold_conflicts_total',
      help: 'Hold requests refused because seats or places were taken or busy',
      labelNames: ['reason'] as const,
      registers,
    }),
    holdsRefusedFromView: new prom.Counter({
      name: 'inventory_hold_refusals_from_view_total',
      help: "Holds refused (409 seats-unavailable) from the replica's view of committed changes, with no lock or database call",
      registers,
    }),
    holdsExpired: new prom.Counter({
      name: 'inventory_holds_expired_total',
      help: 'Holds released by expiry',
      registers,
    }),
    lockWait: new prom.Histogram({
      name: 'inventory_lock_wait_seconds',
      help: 'Time spent acquiring the seat locks of a hold',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    holdBatchSize: new prom.Histogram({
      name: 'inventory_hold_batch_size',
      help: 'Holds written per call of the group-commit hold batch (HOLD_BATCH_MAX)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers,
    }),
    sseClients: new prom.Gauge({
      name: 'inventory_sse_clients',
      help: 'Connected availability stream clients on this replica',
      registers,
    }),
  };
}
