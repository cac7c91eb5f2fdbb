// Distributed locks: Redlock over N independent Redis masters, or an announced in-process keyed lock.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

export class LockUnavailableError extends Error {
  keys: string[];
  constructor(keys: string[], message = `locks unavailable: ${keys.join(', ')}`) {
    super(message);
    this.name = 'LockUnavailableError';
    this.keys = keys;
  }
}

export interface Locker {
  /** Takes all keys (sorted), runs fn, releases in finally. signal aborts if the lock expires before fn ends.
   *  Throws LockUnavailableError when the keys cannot be acquired within the retry budget. */
  withLocks<T>(keys: string[], ttlMs: number, fn: (lock: { signal: AbortSignal }) => Promise<T>): Promise<T>;
}

export interface LockerOptions {
  /** Independent Redis masters; empty means single-node in-process mode. */
  clients: Redis[];
  logger: Logger;
  /** Key prefix (default 'et:lock:'). */
  prefix?: string;
  /** Acquisition attempts after the first (default 10). */
  retries?: number;
  retryDelayMs?: number;
  jitterMs?: number;
  /** Called with the seconds spent waiting for the locks (for a lock-wait histogram). */
  onWait?: (seconds: number) => void;
}

export function createLocker(opts: LockerOptions): Locker {
  void opts;
  throw new Error('createLocker: not implemented yet');
}
