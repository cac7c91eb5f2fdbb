// Distributed locks: Redlock over N independent Redis masters, or an announced in-process keyed lock when no
// Redis is configured. Locks only shed contention cheaply; correctness stays with the database's conditional
// writes (a lock can expire during a pause), which is why fn gets a signal that aborts at expiry.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
// @ts-expect-error redlock 5.0.0-beta.2's package exports map hides its bundled types; see RedlockLike below.
import RedlockModule from 'redlock';
import { isRedisLost, RedisUnavailableError } from './redis.ts';

export class LockUnavailableError extends Error {
  keys: string[];
  constructor(keys: string[], message = `locks unavailable: ${keys.join(', ')}`, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LockUnavailableError';
    this.keys = keys;
  }
}

/** The reason a lock's signal aborts: the TTL ran out before fn finished, so exclusivity is gone. */
export class LockExpiredError extends Error {
  keys: string[];
  constructor(keys: string[]) {
    super(`lock expired before the operation finished: ${keys.join(', ')}`);
    this.name = 'LockExpiredError';
    this.keys = keys;
  }
}

export interface Locker {
  /** Takes all keys (sorted), runs fn, sends the release in finally (not waited for). signal aborts if the lock
   *  expires before fn ends.
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

/** The part of redlock 5's API used here (its own declarations are unreachable, see the import). */
interface RedlockLock {
  expiration: number;
  release(): Promise<unknown>;
}
interface RedlockLike {
  acquire(resources: string[], duration: number): Promise<RedlockLock>;
  on(event: 'error', listener: (err: Error) => void): unknown;
}
type RedlockConstructor = new (clients: Redis[], settings: { retryCount: number; driftFactor?: number }) => RedlockLike;
const Redlock = RedlockModule as RedlockConstructor;

/** One acquisition attempt: a held lock (with its expiry as epoch ms) or null when a key is taken. */
interface Acquirer {
  tryAcquire(resources: string[], ttlMs: number): Promise<{ expiresAt: number; release: () => Promise<void> } | null>;
}

/** A master as Redlock sees it (it only runs scripts and quits). Redlock settles an attempt as soon as a quorum
 *  has voted either way, but a split vote (one for, one against) waits for the last master: a hung master must
 *  therefore answer quickly. Its commands are bounded by the client's command timeout, and once the client has
 *  lost its connection (torn down after the socket timeout, see redis.ts) it votes against at once, so the two
 *  other masters decide without waiting for it. */
function voter(client: Redis): Redis {
  const unavailable = () => Promise.reject(new RedisUnavailableError(client));
  return {
    evalsha: (...args: unknown[]) =>
      isRedisLost(client) ? unavailable() : (client.evalsha as (...a: unknown[]) => Promise<unknown>)(...args),
    eval: (...args: unknown[]) =>
      isRedisLost(client) ? unavailable() : (client.eval as (...a: unknown[]) => Promise<unknown>)(...args),
    quit: () => client.quit(),
  } as unknown as Redis;
}

function redlockAcquirer(clients: Redis[]): Acquirer {
  // retryCount 0: redlock 5 beta measures expiry from its first attempt, so its own retries would hand out
  // locks with less time than asked for. withLocks retries with fresh acquisitions instead.
  const redlock = new Redlock(clients.map(voter), { retryCount: 0 });
  // Redlock emits 'error' for every lost vote (including plain contention); unhandled it would crash the process.
  redlock.on('error', () => undefined);
  return {
    async tryAcquire(resources, ttlMs) {
      let lock: RedlockLock;
      try {
        lock = await redlock.acquire(resources, ttlMs);
      } catch {
        return null; // no quorum: taken elsewhere or masters unreachable; the caller retries
      }
      return { expiresAt: lock.expiration, release: async () => void (await lock.release()) };
    },
  };
}

/** Single-node mode: keyed locks with TTL in this process only. */
function memoryAcquirer(): Acquirer {
  const held = new Map<string, { token: string; expiresAt: number }>();
  return {
    async tryAcquire(resources, ttlMs) {
      const now = Date.now();
      // All-or-nothing, synchronously, so no other acquisition can interleave.
      if (resources.some((r) => (held.get(r)?.expiresAt ?? 0) > now)) return null;
      const token = randomUUID();
      const expiresAt = now + ttlMs;
      for (const r of resources) held.set(r, { token, expiresAt });
      return {
        expiresAt,
        release: async () => {
          for (const r of resources) if (held.get(r)?.token === token) held.delete(r);
        },
      };
    },
  };
}

export function createLocker(opts: LockerOptions): Locker {
  const prefix = opts.prefix ?? 'et:lock:';
  const retries = opts.retries ?? 10;
  const retryDelayMs = opts.retryDelayMs ?? 50;
  const jitterMs = opts.jitterMs ?? 50;
  const logger = opts.logger;
  let acquirer: Acquirer;
  if (opts.clients.length > 0) {
    acquirer = redlockAcquirer(opts.clients);
  } else {
    logger.warn('locks: no Redis configured, single-node mode with in-process locks (not safe across replicas)');
    acquirer = memoryAcquirer();
  }

  return {
    async withLocks(keys, ttlMs, fn) {
      if (!Number.isInteger(ttlMs) || ttlMs <= 0)
        throw new RangeError(`ttlMs must be a positive integer, got ${ttlMs}`);
      // Sorted, de-duplicated keys: every caller asks in the same order, so overlapping sets cannot deadlock.
      const sorted = [...new Set(keys)].sort();
      const resources = sorted.map((k) => prefix + k);
      const started = performance.now();
      let lock: Awaited<ReturnType<Acquirer['tryAcquire']>> = null;
      for (let attempt = 0; attempt <= retries && !lock; attempt++) {
        if (attempt > 0) await sleep(retryDelayMs + Math.floor(Math.random() * (jitterMs + 1)));
        lock = await acquirer.tryAcquire(resources, ttlMs);
      }
      opts.onWait?.((performance.now() - started) / 1000);
      if (!lock) throw new LockUnavailableError(sorted);

      const controller = new AbortController();
      const timer = setTimeout(
        () => {
          logger.warn({ keys: sorted, ttlMs }, 'lock expired before the operation finished');
          controller.abort(new LockExpiredError(sorted));
        },
        Math.max(0, lock.expiresAt - Date.now()),
      );
      try {
        return await fn({ signal: controller.signal });
      } finally {
        clearTimeout(timer);
        // Sent now, not waited for: the caller's answer does not wait for a round trip to every master (on a
        // busy 2-core machine, three more processes to be scheduled). This process's next acquire goes out on the
        // same connections after it, so it finds the keys free; another process may find them held for that
        // round trip, and a release that fails leaves them to expire.
        void lock.release().catch((err) => logger.warn({ err, keys: sorted }, 'lock release failed (it will expire)'));
      }
    },
  };
}
