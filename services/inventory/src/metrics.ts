// Business metrics of the inventory (on the service's registry next to the RED metrics).
import { prom, type Sequelize } from '@eventtickets/platform';
import { one } from './db/sql.ts';

export interface InventoryMetrics {
  holdsCreated: prom.Counter;
  holdConflicts: prom.Counter<'reason'>;
  holdsExpired: prom.Counter;
  lockWait: prom.Histogram;
  sseClients: prom.Gauge;
}

export function createInventoryMetrics(registry: prom.Registry, db: Sequelize): InventoryMetrics {
  const registers = [registry];
  new prom.Gauge({
    name: 'active_holds',
    help: 'Holds that are active and not yet past their expiry (read from the database at scrape time)',
    registers,
    async collect() {
      const row = await one<{ n: string }>(db, "SELECT count(*) AS n FROM holds WHERE status = 'active' AND expires_at > now()").catch(() => undefined);
      if (row) this.set(Number(row.n));
    },
  });
  return {
    holdsCreated: new prom.Counter({ name: 'holds_created_total', help: 'Holds created', registers }),
    holdConflicts: new prom.Counter({ name: 'hold_conflicts_total', help: 'Hold requests refused because seats or places were taken or busy', labelNames: ['reason'] as const, registers }),
    holdsExpired: new prom.Counter({ name: 'holds_expired_total', help: 'Holds released by expiry', registers }),
    lockWait: new prom.Histogram({ name: 'lock_wait_seconds', help: 'Time spent acquiring the seat locks of a hold', buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers }),
    sseClients: new prom.Gauge({ name: 'sse_clients', help: 'Connected availability stream clients on this replica', registers }),
  };
}
