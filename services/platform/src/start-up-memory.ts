// Start-up garbage (issue 19): loading a service (module sources, compiling, the contract, migrations, the first
// connections) leaves V8 with ~15-20 MiB of heap pages, pooled pages and a grown young generation that an idle
// service then keeps for good. V8's memory reducer gives such memory back only to a process that allocates slowly,
// and every service polls (the outbox relay every 200 ms), so it never does (--trace-memory-reducer: "high alloc",
// every 8 s). One "last resort" collection (what V8 runs before giving up on memory: it compacts the old space,
// releases the pooled pages, shrinks the young generation and flushes the bytecode of functions not in use) shortly
// after the server listens takes idle RSS from ~125-131 to ~104-116 MiB (load/RESULTS.md "Footprint, third pass"),
// for 50-200 ms of the main thread once. The collection is reached through V8's gc extension, enabled only for the
// context that fetches it (no global `gc` is installed).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Logger } from './logger.ts';

type GcFunction = (options?: {
  type?: 'major' | 'minor';
  execution?: 'sync' | 'async';
  flavor?: 'regular' | 'last-resort';
}) => void;

let gcFunction: GcFunction | undefined;

function getGc(): GcFunction {
  if (gcFunction) return gcFunction;
  const exposed = (globalThis as { gc?: GcFunction }).gc;
  if (typeof exposed === 'function') return (gcFunction = exposed);
  setFlagsFromString('--expose-gc');
  try {
    gcFunction = runInNewContext('gc') as GcFunction;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
  return gcFunction;
}

const MiB = 1024 * 1024;

/** One full, memory-reducing collection now (blocks the event loop for its duration). */
export function collectStartUpGarbage(): { ms: number; rssBeforeMiB: number; rssAfterMiB: number } {
  const rssBefore = process.memoryUsage.rss();
  const started = performance.now();
  getGc()({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  const ms = performance.now() - started;
  const round = (n: number) => Math.round((n / MiB) * 10) / 10;
  return { ms: Math.round(ms), rssBeforeMiB: round(rssBefore), rssAfterMiB: round(process.memoryUsage.rss()) };
}

/** Runs collectStartUpGarbage once, `delayMs` from now (the timer does not keep the process alive); returns a
 *  cancel function. Meant for right after a service listens: its first readiness probes have come and gone. */
export function scheduleStartUpCollection(logger: Logger, delayMs = 2000): () => void {
  const timer = setTimeout(() => {
    try {
      logger.debug(collectStartUpGarbage(), 'start-up garbage collected');
    } catch (err) {
      logger.warn({ err }, 'start-up garbage collection failed');
    }
  }, delayMs);
  timer.unref();
  return () => clearTimeout(timer);
}
