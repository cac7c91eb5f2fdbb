// Restart policy of the local stack, as Kubernetes restarts a container: a process that dies is started
// again after a back-off that doubles with each recent failure (1 s, 2 s, 4 s... up to 30 s), and the runner
// gives up (stops everything, exit 1) once one process has failed `limit` times within `windowMs`. Pure, so
// the rule is unit-tested directly.

export interface RestartPolicy {
  /** Failures of one process within windowMs that make the runner give up (STACK_RESTART_LIMIT). */
  limit: number;
  /** STACK_RESTART_WINDOW_S, in ms. */
  windowMs: number;
  /** The first back-off (STACK_RESTART_DELAY_MS); doubled for each further failure within the window. */
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  limit: 5,
  windowMs: 120_000,
  initialDelayMs: 1000,
  maxDelayMs: 30_000,
};

export type RestartDecision = { giveUp: false; delayMs: number; failures: number } | { giveUp: true; failures: number };

/** failures: the times (ms) this process failed, the latest last (entries older than the window are dropped). */
export function nextRestart(failures: number[], now: number, policy: RestartPolicy): RestartDecision {
  while (failures.length && failures[0] <= now - policy.windowMs) failures.shift();
  const count = failures.length;
  if (count >= policy.limit) return { giveUp: true, failures: count };
  const delayMs = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, count - 1));
  return { giveUp: false, delayMs, failures: count };
}

/** "code 3", "SIGKILL". */
export function describeExit(exit: { code: number | null; signal: NodeJS.Signals | null }): string {
  return exit.signal ?? `code ${exit.code}`;
}
