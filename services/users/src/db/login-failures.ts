// Queries on login_failures (consecutive failed logins per normalised e-mail).
import { execute, one, withRetryingTransaction, type Sequelize } from '@eventtickets/platform';
import { lockSecondsAfter, type BackoffPolicy } from '../domain/backoff.ts';

export type AttemptClaim = { allowed: true } | { allowed: false; lockedUntil: Date };

/**
 * Counts a login attempt as a failure before the password is checked (loginSucceeded clears it), and refuses
 * it while the e-mail is locked. Claiming first, under the row lock, is what makes the back-off hold under
 * parallel guesses: checking the lock and recording the failure after the (slow) password check let every
 * concurrent attempt through before the first failure was written.
 */
export async function claimLoginAttempt(db: Sequelize, email: string, policy: BackoffPolicy): Promise<AttemptClaim> {
  return withRetryingTransaction(db, async (t) => {
    // A locked row is left untouched (and stays row-locked until commit, so concurrent claims queue here).
    const counted = await one<{ failures: number }>(
      db,
      `INSERT INTO login_failures AS f (email, failures, last_failure_at) VALUES ($1, 1, now())
       ON CONFLICT (email) DO UPDATE SET
         failures = CASE WHEN f.last_failure_at < now() - make_interval(secs => $2) THEN 1 ELSE f.failures + 1 END,
         last_failure_at = now()
         WHERE f.locked_until IS NULL OR f.locked_until <= now()
       RETURNING failures`,
      [email, policy.forgetAfterSeconds],
      t,
    );
    if (!counted) {
      const locked = await one<{ locked_until: Date }>(
        db,
        'SELECT locked_until FROM login_failures WHERE email = $1',
        [email],
        t,
      );
      return { allowed: false, lockedUntil: new Date(locked!.locked_until) };
    }
    const seconds = lockSecondsAfter(counted.failures, policy);
    if (seconds > 0) {
      await execute(
        db,
        'UPDATE login_failures SET locked_until = now() + make_interval(secs => $2) WHERE email = $1',
        [email, seconds],
        t,
      );
    }
    return { allowed: true };
  });
}

/** The password was right: the attempt (and the failures before it) no longer count. */
export async function loginSucceeded(db: Sequelize, email: string): Promise<void> {
  await execute(db, 'DELETE FROM login_failures WHERE email = $1', [email]);
}
