// Per-account login back-off: after maxFailures consecutive failures the account (keyed by normalised
// e-mail, known or not, so the 429 reveals nothing) is locked for a period that doubles with each failure.
export interface BackoffPolicy {
  maxFailures: number;
  baseSeconds: number;
  maxSeconds: number;
  /** Failures older than this are forgotten (the count restarts), so a typo weeks ago does not lock today. */
  forgetAfterSeconds: number;
}

/** Seconds to lock after this many consecutive failures (0 while under the threshold). */
export function lockSecondsAfter(failures: number, policy: BackoffPolicy): number {
  if (failures < policy.maxFailures) return 0;
  const doublings = Math.min(failures - policy.maxFailures, 30);
  return Math.min(policy.baseSeconds * 2 ** doublings, policy.maxSeconds);
}

/** Whole seconds until lockedUntil (at least 1 while locked), or 0 when not locked. */
export function retryAfterSeconds(lockedUntil: Date | null, now: Date): number {
  if (!lockedUntil) return 0;
  const ms = lockedUntil.getTime() - now.getTime();
  return ms > 0 ? Math.max(1, Math.ceil(ms / 1000)) : 0;
}
