// Event bus metrics. Several buses may share one registry (tests, a process hosting two consumers), so an
// already registered metric is reused rather than registered twice.
import client from 'prom-client';

export interface BusMetrics {
  outboxLag: client.Gauge;
  published: client.Counter<'type'>;
  consumed: client.Counter<'type' | 'outcome'>;
  /** Messages moved to the dead-letter stream (bus_dead), by type: each needs a person. */
  deadLetters: client.Counter<'type'>;
  /** Consumer lag, read at scrape time from every bus sharing the registry (see addLagSource). */
  consumerLag: client.Gauge<'stream'>;
}

/** Entries of each stream (event family) not yet delivered to this consumer group. */
export type LagSource = () => Promise<Array<{ stream: string; lag: number }>>;

const lagSources = new WeakMap<client.Registry, Set<LagSource>>();

/** Registers a consumer's lag reader on the registry's gauge; the returned function removes it (bus stop). */
export function addLagSource(registry: client.Registry, source: LagSource): () => void {
  let sources = lagSources.get(registry);
  if (!sources) lagSources.set(registry, (sources = new Set()));
  sources.add(source);
  return () => sources.delete(source);
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
    deadLetters: reuse(
      registry,
      'events_dead_letters_total',
      () =>
        new client.Counter({
          name: 'events_dead_letters_total',
          help: 'Domain events this consumer group moved to the dead-letter stream (invalid, or failed every delivery)',
          labelNames: ['type'] as const,
          registers: [registry],
        }),
    ),
    consumerLag: reuse(
      registry,
      'events_consumer_lag_messages',
      () =>
        new client.Gauge({
          name: 'events_consumer_lag_messages',
          help: 'Messages of a stream (event family) not yet delivered to this consumer group (read at scrape time)',
          labelNames: ['stream'] as const,
          registers: [registry],
          async collect() {
            this.reset();
            const lags = new Map<string, number>();
            for (const source of lagSources.get(registry) ?? []) {
              // A transport that cannot answer now (Redis down) leaves its streams out: absent, not zero.
              const read = await source().catch(() => []);
              for (const { stream, lag } of read) lags.set(stream, Math.max(lags.get(stream) ?? 0, lag));
            }
            for (const [stream, lag] of lags) this.set({ stream }, lag);
          },
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
