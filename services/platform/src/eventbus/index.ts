// Event bus entry point: picks the transport (Redis Streams, else the announced Postgres bus database).
import type { EventBus, EventBusOptions } from './types.ts';

export * from './types.ts';

export function createEventBus(opts: EventBusOptions): EventBus {
  void opts;
  throw new Error('createEventBus: not implemented yet');
}
