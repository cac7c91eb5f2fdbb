// Rows that no longer mean anything, pruned periodically by every replica (idempotent deletes):
// - failed-login counters whose last failure is older than the forget window and that lock nothing now
//   (unknown e-mails tried once would otherwise stay forever);
// - refresh-token families whose every token expired more than a day ago: while any token of a family can
//   still be presented, its rotated predecessors stay, so reuse detection keeps working.
import { rows, type Sequelize } from '@eventtickets/platform';

export async function pruneStaleRows(
  db: Sequelize,
  opts: { forgetAfterSeconds: number },
): Promise<{ loginFailures: number; refreshTokens: number }> {
  const failures = await rows<{ email: string }>(
    db,
    `DELETE FROM login_failures
      WHERE last_failure_at < now() - make_interval(secs => $1) AND (locked_until IS NULL OR locked_until <= now())
      RETURNING email`,
    [opts.forgetAfterSeconds],
  );
  const tokens = await rows<{ id: string }>(
    db,
    `DELETE FROM refresh_tokens WHERE family_id IN (
        SELECT family_id FROM refresh_tokens GROUP BY family_id HAVING max(expires_at) < now() - interval '1 day')
      RETURNING id`,
  );
  return { loginFailures: failures.length, refreshTokens: tokens.length };
}
