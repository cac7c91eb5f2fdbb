// Queries on the login back-off counters: login_failures per (normalised e-mail, client) and
// login_account_failures per e-mail across all clients (domain/backoff.ts decides, this stores).
import { execute, one, withRetryingTransaction, type Sequelize } from '@eventtickets/platform';
import {
  decideLoginAttempt,
  type AttemptDecision,
  type BackoffPolicy,
  type FailureCounter,
} from '../domain/backoff.ts';

// Namespace of the per-e-mail advisory locks (two-key form), a keyspace apart from the refresh-token family locks.
const EMAIL_LOCK_NAMESPACE = 0x6c_6f_67; // "log"

interface CountersRow {
  now: Date;
  c_failures: number | null;
  c_last_failure_at: Date | null;
  c_locked_until: Date | null;
  c_last_success_at: Date | null;
  a_failures: number | null;
  a_last_failure_at: Date | null;
  a_locked_until: Date | null;
}

const date = (v: Date | null): Date | null => (v ? new Date(v) : null);

/**
 * Decides the attempt and, when it is allowed, counts it as a failure of both counters before the password is
 * checked (loginSucceeded undoes that). Deciding and counting under one per-e-mail lock is what makes the back-off
 * hold under parallel guesses: checking first and recording the failure after the (slow) password check let every
 * concurrent attempt through before the first failure was written.
 */
export async function claimLoginAttempt(
  db: Sequelize,
  email: string,
  client: string,
  policy: BackoffPolicy,
): Promise<AttemptDecision> {
  return withRetryingTransaction(db, async (t) => {
    await execute(db, 'SELECT pg_advisory_xact_lock($1, hashtext($2))', [EMAIL_LOCK_NAMESPACE, email], t);
    const r = (await one<CountersRow>(
      db,
      `SELECT now() AS now,
              c.failures AS c_failures, c.last_failure_at AS c_last_failure_at, c.locked_until AS c_locked_until,
              c.last_success_at AS c_last_success_at,
              a.failures AS a_failures, a.last_failure_at AS a_last_failure_at, a.locked_until AS a_locked_until
         FROM (SELECT 1) AS one
         LEFT JOIN login_failures c ON c.email = $1 AND c.client = $2
         LEFT JOIN login_account_failures a ON a.email = $1`,
      [email, client],
      t,
    ))!;
    const decision = decideLoginAttempt(
      {
        failures: r.c_failures ?? 0,
        lastFailureAt: date(r.c_last_failure_at),
        lockedUntil: date(r.c_locked_until),
        lastSuccessAt: date(r.c_last_success_at),
      },
      { failures: r.a_failures ?? 0, lastFailureAt: date(r.a_last_failure_at), lockedUntil: date(r.a_locked_until) },
      new Date(r.now),
      policy,
    );
    if (!decision.allowed) return decision;
    const write = (c: FailureCounter) => [c.failures, c.lastFailureAt, c.lockedUntil];
    await execute(
      db,
      `INSERT INTO login_failures (email, client, failures, last_failure_at, locked_until) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (email, client) DO UPDATE
         SET failures = EXCLUDED.failures, last_failure_at = EXCLUDED.last_failure_at, locked_until = EXCLUDED.locked_until`,
      [email, client, ...write(decision.client)],
      t,
    );
    await execute(
      db,
      `INSERT INTO login_account_failures (email, failures, last_failure_at, locked_until) VALUES ($1, $2, $3, $4)
       ON CONFLICT (email) DO UPDATE
         SET failures = EXCLUDED.failures, last_failure_at = EXCLUDED.last_failure_at, locked_until = EXCLUDED.locked_until`,
      [email, ...write(decision.account)],
      t,
    );
    return decision;
  });
}

/**
 * The password was right: this client's failures are cleared and it becomes a known client of the account; the
 * attempt no longer counts against the account (whose earlier failures, maybe a distributed attack's, stay).
 */
export async function loginSucceeded(
  db: Sequelize,
  email: string,
  client: string,
  policy: Pick<BackoffPolicy, 'accountMaxFailures'>,
): Promise<void> {
  await withRetryingTransaction(db, async (t) => {
    await execute(db, 'SELECT pg_advisory_xact_lock($1, hashtext($2))', [EMAIL_LOCK_NAMESPACE, email], t);
    await execute(
      db,
      `UPDATE login_failures SET failures = 0, locked_until = NULL, last_success_at = now()
        WHERE email = $1 AND client = $2`,
      [email, client],
      t,
    );
    await execute(
      db,
      `UPDATE login_account_failures
          SET failures = greatest(failures - 1, 0),
              locked_until = CASE WHEN failures - 1 < $2 THEN NULL ELSE locked_until END
        WHERE email = $1`,
      [email, policy.accountMaxFailures],
      t,
    );
  });
}
