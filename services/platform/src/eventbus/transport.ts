// What the event bus needs from a transport: durable publish, and a consumer loop for one consumer group.
import type { DomainEvent } from '../outbox.ts';
import type { Dispatcher } from './deliver.ts';

export interface Transport {
  /** Resolves once the transport holds the events durably, in the given order. */
  publish(events: DomainEvent[]): Promise<void>;
  /** Starts consuming the dispatcher's types for its consumer group. */
  startConsuming(dispatcher: Dispatcher): Promise<void>;
  /** Finishes the in-flight delivery, stops consuming and releases the transport's own connections. */
  stop(): Promise<void>;
  /** Per stream (event family) of the consumed types: messages not yet processed by this group. */
  lag(): Promise<Array<{ stream: string; lag: number }>>;
}
