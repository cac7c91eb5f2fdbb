// Pub/sub for ephemeral fan-out (live seat changes): Redis with a dedicated subscriber connection, or an
// announced in-process EventEmitter when no URL is given.
import type { Logger } from 'pino';

export type MessageHandler = (message: string, channel: string) => void;

export interface PubSub {
  publish(channel: string, message: string): Promise<void>;
  /** Resolves once the subscription is active; returns the function that removes this handler. */
  subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface PubSubOptions { url?: string; logger: Logger; prefix?: string }

export function createPubSub(opts: PubSubOptions): PubSub {
  void opts;
  throw new Error('createPubSub: not implemented yet');
}
