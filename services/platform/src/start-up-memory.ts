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
import type { IncomingMessage, Server } from 'node:http';
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
export function collectStartUpGarbage(): { ms: number; cpuMs: number; rssBeforeMiB: number; rssAfterMiB: number } {
  const rssBefore = process.memoryUsage.rss();
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  getGc()({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  const cpu = process.cpuUsage(cpuBefore);
  const ms = performance.now() - started;
  const round = (n: number) => Math.round((n / MiB) * 10) / 10;
  return {
    ms: Math.round(ms),
    // the process's CPU (the GC's helper threads included): the wall time grows with the machine's load
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    rssBeforeMiB: round(rssBefore),
    rssAfterMiB: round(process.memoryUsage.rss()),
  };
}

/** Probes and scrapes reach an idle service every few seconds: they do not make it busy. */
const PROBE_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

export interface IdleCollector {
  /** For each request (its URL): anything but a probe makes the current interval busy. */
  noteRequest(url: string | undefined): void;
  /** Whether the interval that ends now had nothing but probes (starts the next interval). */
  quiet(): boolean;
  /** What a collection left (the baseline the growth is measured from). */
  collected(rssAfterMiB: number): void;
  /** End of an interval: collects again when it had no request but probes and RSS has grown by `growthMiB` or
   *  more since the last collection. Returns whether it collected. */
  tick(): boolean;
}

/** The same collection again, once a service is idle: its polling (outbox relay, sweeps) promotes a little garbage
 *  to the old generation all the time, and V8 keeps the pages of what it later frees (an idle users service crept
 *  from 108 to 119 MiB in 30 minutes). Never while the service is serving: the pause is for an idle one. */
export function createIdleCollector(opts: {
  logger: Logger;
  growthMiB?: number;
  rssMiB?: () => number;
  collect?: () => ReturnType<typeof collectStartUpGarbage>;
}): IdleCollector {
  const growthMiB = opts.growthMiB ?? 8;
  const rssMiB = opts.rssMiB ?? (() => process.memoryUsage.rss() / MiB);
  const collect = opts.collect ?? collectStartUpGarbage;
  let baseline: number | undefined;
  let busy = false;
  const quiet = () => {
    const wasBusy = busy;
    busy = false;
    return !wasBusy;
  };
  return {
    noteRequest(url) {
      if (!busy && !PROBE_PATHS.has(url ?? '')) busy = true;
    },
    quiet,
    collected(rssAfterMiB) {
      baseline = rssAfterMiB;
    },
    tick() {
      if (!quiet() || baseline === undefined || rssMiB() - baseline < growthMiB) return false;
      try {
        const result = collect();
        baseline = result.rssAfterMiB;
        opts.logger.debug(result, 'idle garbage collected');
      } catch (err) {
        opts.logger.warn({ err }, 'idle garbage collection failed');
      }
      return true;
    },
  };
}

/** Runs collectStartUpGarbage once, `delayMs` after listening, meant for when the first readiness probes have
 *  come and gone; with `server`, only once a `delayMs` stretch has passed with nothing but probes (a service that
 *  takes traffic at once, e.g. a replica added during an on-sale, is not paused while serving: it collects at its
 *  first quiet stretch), and again whenever an `idleIntervalMs` passes in which it answered nothing but probes and
 *  its RSS has grown by 8 MiB since (createIdleCollector). The timers do not keep the process alive; returns a
 *  cancel function. */
export function scheduleStartUpCollection(
  logger: Logger,
  opts: { delayMs?: number; server?: Server; idleIntervalMs?: number } = {},
): () => void {
  const idle = createIdleCollector({ logger });
  const delayMs = opts.delayMs ?? 5000;
  let interval: NodeJS.Timeout | undefined;
  let timer: NodeJS.Timeout | undefined;
  const onRequest = (req: IncomingMessage) => idle.noteRequest(req.url);
  opts.server?.on('request', onRequest);
  const first = () => {
    if (opts.server && !idle.quiet()) {
      timer = setTimeout(first, delayMs);
      timer.unref();
      return;
    }
    try {
      const result = collectStartUpGarbage();
      logger.debug(result, 'start-up garbage collected');
      if (opts.server) {
        idle.collected(result.rssAfterMiB);
        interval = setInterval(() => idle.tick(), opts.idleIntervalMs ?? 60_000);
        interval.unref();
      }
    } catch (err) {
      logger.warn({ err }, 'start-up garbage collection failed');
    }
  };
  timer = setTimeout(first, delayMs);
  timer.unref();
  return () => {
    clearTimeout(timer);
    clearInterval(interval);
    opts.server?.off('request', onRequest);
  };
}
