// Background work every replica runs: relaying the outbox (event.published, event.cancelled) to the bus.
// The catalog consumes no other service's events.
import type { CatalogDeps } from './deps.ts';

export async function startWorkers(deps: CatalogDeps): Promise<{ stop: () => Promise<void> }> {
  deps.bus.startRelay();
  return { stop: () => deps.bus.stop() };
}
