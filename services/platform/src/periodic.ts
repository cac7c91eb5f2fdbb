// A background task every replica runs on a fixed interval (hold expiry, pruning of old rows): one run at a
// time, never overlapping, the next scheduled only after the last finished; stop() waits for a running one.
// A failing run is logged (once per run of failures) and the task goes on: the next run tries again.
import type { Logger } from './logger.ts';
import { loopFailures } from './outage.ts';

export interface PeriodicTask {
  stop: () => Promise<void>;
}

export function startPeriodic(opts: {
  name: string;
  intervalMs: number;
  run: () => Promise<unknown>;
  logger: Logger;
  runAtStart?: boolean;
}): PeriodicTask {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;

  // A database outage is logged once when it starts and once when it ends, not at every interval.
  const failures = loopFailures(opts.logger, opts.name);
  async function tick(): Promise<void> {
    try {
      await opts.run();
      failures.ok();
    } catch (err) {
      failures.failed(err);
    }
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      running = tick().finally(schedule);
    }, opts.intervalMs);
  }

  if (opts.runAtStart ?? true) running = tick().finally(schedule);
  else schedule();

  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
