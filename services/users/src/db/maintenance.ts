// Rows that no longer mean anything, pruned periodically by every replica (idempotent deletes):
// - failed-login counters (per account and client, per account) whose last failure is older than the forget
//   window and that lock nothing now (unknown e-mails tried once would otherwise stay forever), unless a
//   client's row still marks it as a known client of the account;
// - refresh-token families whose every token expired more than a day ago: while any token of a family can
//   still be presented, its rotated predecessors stay, so reuse detection keeps working;
// - registration-conflict counters whose window is over; records of expired access tokens, and sealed refresh-token successors older than any grace window
//   (REFRESH_REUSE_GRACE_SECONDS is at most 60).
import { execute, rows, type Sequelize } from '@eventtickets/platform';

export async function pruneStaleRows(
  db: Sequelize,
  opts: { forgetAfterSeconds: number; knownClientSeconds: number; registerWindowSeconds: number },
): Promise<{ loginFailures: number; refreshTokens: number; accessTokens: number }> {
  // A client's row also remembers its last successful login (a known client) for knownClientSeconds.
  const clientFailures = await rows<{ email: string }>(
    db,
    `DELETE FROM login_failures
      WHERE (last_failure_at IS NULL OR last_failure_at < now() - make_interval(secs => $1))
        AND (locked_until IS NULL OR locked_until <= now())
        AND (last_success_at IS NULL OR last_success_at < now() - make_interval(secs => $2))
      RETURNING email`,
    [opts.forgetAfterSeconds, opts.knownClientSeconds],
  );
  const accountFailures = await rows<{ email: string }>(
    db,
    `DELETE FROM login_account_failures
      WHERE last_failure_at < now() - make_interval(secs => $1) AND (locked_until IS NULL OR locked_until <= now())
      RETURNING email`,
    [opts.forgetAfterSeconds],
  );
  const failures = [...clientFailures, ...accountFailures];
  const tokens = await rows<{ id: string }>(
    db,
    `DELETE FROM refresh_tokens WHERE family_id IN (
        SELECT family_id FROM refresh_tokens GROUP BY family_id HAVING max(expires_at) < now() - interval '1 day')
      RETURNING id`,
  );
  await execute(db, 'DELETE FROM registration_conflicts WHERE window_started_at < now() - make_interval(secs => $1)', [
    opts.registerWindowSeconds,
  ]);
  // Records of expired access tokens (they verify nowhere any more), and sealed successors past any grace window.
  const accessTokens = await execute(db, 'DELETE FROM access_token_issues WHERE expires_at <= now()');
  await execute(
    db,
    "UPDATE refresh_tokens SET successor_sealed = NULL WHERE successor_sealed IS NOT NULL AND rotated_at < now() - interval '1 minute'",
  );
  return { loginFailures: failures.length, refreshTokens: tokens.length, accessTokens };
}
