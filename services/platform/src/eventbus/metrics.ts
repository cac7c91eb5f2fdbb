// Event bus metrics. Several buses may share one registry (tests, a process hosting two consumers), so an
// already registered metric is reused rather than registered twice.
import client from 'prom-client';

export interface BusMetrics {
  outboxLag: client.Gauge;
  published: client.Counter<'type'>;
  consumed: client.Counter<'type' | 'outcome'>;
}

/** Outcomes of one delivery: handled now, already handled before, no handler for the type, handler threw,
 *  moved to the dead stream after too many deliveries. */
export type ConsumeOutcome = 'processed' | 'duplicate' | 'ignored' | 'failed' | 'dead';

function reuse<M>(registry: client.Registry, name: string, make: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? make();
}

export function createBusMetrics(registry: client.Registry = new client.Registry()): BusMetrics {
  return {
    outboxLag: reuse(
      registry,
      'outbox_lag_seconds',
      () =>
        new client.Gauge({
          name: 'outbox_lag_seconds',
          help: 'Age of the oldest unpublished outbox row (0 when the outbox is drained)',
          registers: [registry],
        }),
    ),
    published: reuse(
      registry,
      'events_published_total',
      () =>
        new client.Counter({
          name: 'events_published_total',
          help: 'Domain events relayed from the outbox to the transport',
          labelNames: ['type'] as const,
          registers: [registry],
        }),
    ),
    consumed: reuse(
      registry,
      'events_consumed_total',
      () =>
        new client.Counter({
          name: 'events_consumed_total',
          help: 'Domain event deliveries to this consumer group, by outcome',
          labelNames: ['type', 'outcome'] as const,
          registers: [registry],
        }),
    ),
  };
}
