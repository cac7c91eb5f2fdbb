// Queries on login_failures (consecutive failed logins per normalised e-mail).
import { QueryTypes, type Sequelize } from '@eventtickets/platform';

export async function lockedUntil(db: Sequelize, email: string): Promise<Date | null> {
  const rows = await db.query<{ locked_until: Date | null }>('SELECT locked_until FROM login_failures WHERE email = :email', { type: QueryTypes.SELECT, replacements: { email } });
  return rows[0]?.locked_until ? new Date(rows[0].locked_until) : null;
}

/** Atomically counts one more failure and returns the new count. */
export async function recordFailure(db: Sequelize, email: string): Promise<number> {
  const rows = await db.query<{ failures: number }>(
    `INSERT INTO login_failures (email, failures, last_failure_at) VALUES (:email, 1, now())
     ON CONFLICT (email) DO UPDATE SET failures = login_failures.failures + 1, last_failure_at = now()
     RETURNING failures`,
    { type: QueryTypes.SELECT, replacements: { email } },
  );
  return rows[0]!.failures;
}

export async function lockFor(db: Sequelize, email: string, seconds: number): Promise<Date> {
  const rows = await db.query<{ locked_until: Date }>(
    "UPDATE login_failures SET locked_until = now() + make_interval(secs => :seconds) WHERE email = :email RETURNING locked_until",
    { type: QueryTypes.SELECT, replacements: { email, seconds } },
  );
  return new Date(rows[0]!.locked_until);
}

export async function clearFailures(db: Sequelize, email: string): Promise<void> {
  await db.query('DELETE FROM login_failures WHERE email = :email', { replacements: { email } });
}
