// Business metrics of the catalog (on the service's registry next to the platform's RED and event-bus metrics).
import { prom } from '@eventtickets/platform';

export interface CatalogMetrics {
  /** Hot-read cache lookups: hit ratio of event details and search pages. */
  readCacheLookups: prom.Counter<'kind' | 'result'>;
  /** Invalidations that failed after a committed write: stale reads until the TTL. */
  cacheInvalidationFailures: prom.Counter;
  eventsPublished: prom.Counter;
  eventsCancelled: prom.Counter;
}

export function createCatalogMetrics(registry: prom.Registry): CatalogMetrics {
  const registers = [registry];
  return {
    readCacheLookups: new prom.Counter({
      name: 'catalog_read_cache_total',
      help: 'Hot-read cache lookups by kind (detail, list) and result (hit, miss, bypass: the cache could not answer)',
      labelNames: ['kind', 'result'] as const,
      registers,
    }),
    cacheInvalidationFailures: new prom.Counter({
      name: 'catalog_cache_invalidation_failures_total',
      help: 'Cache invalidations that failed after a committed change (stale reads until the TTL)',
      registers,
    }),
    eventsPublished: new prom.Counter({
      name: 'catalog_events_published_total',
      help: 'Events published (each wrote one event.published to the outbox)',
      registers,
    }),
    eventsCancelled: new prom.Counter({
      name: 'catalog_events_cancelled_total',
      help: 'Events cancelled (drafts and published events)',
      registers,
    }),
  };
}
