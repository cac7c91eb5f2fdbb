// A background task every replica runs on a fixed interval (hold expiry, pruning of old rows): one run at a
// time, never overlapping, the next scheduled only after the last finished; stop() waits for a running one.
// A failing run is logged and the task goes on: the next run tries again.
import type { Logger } from './logger.ts';

export interface PeriodicTask { stop: () => Promise<void> }

export function startPeriodic(opts: { name: string; intervalMs: number; run: () => Promise<unknown>; logger: Logger; runAtStart?: boolean }): PeriodicTask {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;

  async function tick(): Promise<void> {
    try {
      await opts.run();
    } catch (err) {
      opts.logger.error({ err, task: opts.name }, `${opts.name} failed; retried at the next interval`);
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
