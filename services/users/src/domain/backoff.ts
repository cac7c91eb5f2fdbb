// Login back-off (OWASP Authentication Cheat Sheet: throttle per account and client, with a per-account limit
// far above any human's). Two counters, both keyed by normalised e-mail (known or not, so a 429 reveals nothing):
// - per (account, client): after maxFailures consecutive failures from one client the pair is locked for a
//   period that doubles with each further failure; a guesser is slowed, the owner on another client is not;
// - per account, across all clients: after accountMaxFailures failures (a distributed attack; no human gets
//   there) the account is locked the same doubling way for every client except the ones that logged in to it
//   successfully within knownClientSeconds (the owner's usual client stays in).
export interface BackoffPolicy {
  /** Consecutive failures from one client before that client is slowed. */
  maxFailures: number;
  baseSeconds: number;
  maxSeconds: number;
  /** Failures older than this are forgotten (the count restarts), so a typo weeks ago does not lock today. */
  forgetAfterSeconds: number;
  /** Failures across all clients before the account as a whole is slowed. */
  accountMaxFailures: number;
  /** A client that logged in successfully within this long is not held by the account-wide lock. */
  knownClientSeconds: number;
}

/** Seconds to lock after this many consecutive failures (0 while under the threshold). */
export function lockSecondsAfter(
  failures: number,
  policy: Pick<BackoffPolicy, 'maxFailures' | 'baseSeconds' | 'maxSeconds'>,
): number {
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

export interface FailureCounter {
  failures: number;
  lastFailureAt: Date | null;
  lockedUntil: Date | null;
}

export interface ClientCounter extends FailureCounter {
  lastSuccessAt: Date | null;
}

export const NO_FAILURES: ClientCounter = { failures: 0, lastFailureAt: null, lockedUntil: null, lastSuccessAt: null };

export type AttemptDecision =
  | { allowed: true; client: FailureCounter; account: FailureCounter }
  | { allowed: false; scope: 'client' | 'account'; retryAfter: number };

function counted(
  c: FailureCounter,
  now: Date,
  policy: BackoffPolicy,
  threshold: Pick<BackoffPolicy, 'maxFailures' | 'baseSeconds' | 'maxSeconds'>,
): FailureCounter {
  const stale = !c.lastFailureAt || now.getTime() - c.lastFailureAt.getTime() > policy.forgetAfterSeconds * 1000;
  const failures = stale ? 1 : c.failures + 1;
  const seconds = lockSecondsAfter(failures, threshold);
  return { failures, lastFailureAt: now, lockedUntil: seconds > 0 ? new Date(now.getTime() + seconds * 1000) : null };
}

/**
 * Decides a login attempt before its password is checked, and counts it as a failure of both counters when it
 * is allowed (a success undoes that). A refused attempt counts nowhere. `now` is the database's clock.
 */
export function decideLoginAttempt(
  client: ClientCounter,
  account: FailureCounter,
  now: Date,
  policy: BackoffPolicy,
): AttemptDecision {
  const clientWait = retryAfterSeconds(client.lockedUntil, now);
  if (clientWait > 0) return { allowed: false, scope: 'client', retryAfter: clientWait };
  const known =
    client.lastSuccessAt !== null && now.getTime() - client.lastSuccessAt.getTime() < policy.knownClientSeconds * 1000;
  const accountWait = retryAfterSeconds(account.lockedUntil, now);
  if (accountWait > 0 && !known) return { allowed: false, scope: 'account', retryAfter: accountWait };
  return {
    allowed: true,
    client: counted(client, now, policy, policy),
    account: counted(account, now, policy, { ...policy, maxFailures: policy.accountMaxFailures }),
  };
}
