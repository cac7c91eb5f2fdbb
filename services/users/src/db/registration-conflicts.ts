// Queries on registration_conflicts: per client, how many registrations answered email-taken in the current window.
import { execute, one, type Sequelize } from '@eventtickets/platform';

/** Seconds until the client may register again (0: it may now). */
export async function registrationWait(
  db: Sequelize,
  client: string,
  policy: { maxConflicts: number; windowSeconds: number },
): Promise<number> {
  const r = await one<{ wait: number }>(
    db,
    `SELECT ceil(extract(epoch FROM window_started_at + make_interval(secs => $3) - now()))::int AS wait
       FROM registration_conflicts
      WHERE client = $1 AND conflicts >= $2 AND window_started_at > now() - make_interval(secs => $3)`,
    [client, policy.maxConflicts, policy.windowSeconds],
  );
  return r ? Math.max(1, r.wait) : 0;
}

/** Counts one email-taken answer for the client (a new window when the last one is over). */
export async function recordRegistrationConflict(
  db: Sequelize,
  client: string,
  policy: { windowSeconds: number },
): Promise<void> {
  await execute(
    db,
    `INSERT INTO registration_conflicts AS r (client, conflicts, window_started_at) VALUES ($1, 1, now())
     ON CONFLICT (client) DO UPDATE SET
       conflicts = CASE WHEN r.window_started_at <= now() - make_interval(secs => $2) THEN 1 ELSE r.conflicts + 1 END,
       window_started_at = CASE WHEN r.window_started_at <= now() - make_interval(secs => $2) THEN now()
                                ELSE r.window_started_at END`,
    [client, policy.windowSeconds],
  );
}
