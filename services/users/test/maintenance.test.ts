// Pruning of rows that no longer mean anything (real Postgres): old failed-login counters and refresh-token
// families whose every token expired long ago; everything still in use stays, reuse detection included.
import { expect } from 'chai';
import { pruneStaleRows } from '../src/db/maintenance.ts';
import { PASSWORD, registerUser, startUsers, uniqueEmail, type UsersHarness } from './helpers.ts';

const PRUNE = { forgetAfterSeconds: 86_400, knownClientSeconds: 30 * 86_400, registerWindowSeconds: 3600 };

describe('users: maintenance (real Postgres)', function () {
  let h: UsersHarness;
  before(async function () {
    h = await startUsers(this);
  });
  after(() => h?.close());

  const count = async (sql: string, replacements: Record<string, unknown> = {}) =>
    Number(((await h.db.query(sql, { replacements }))[0] as any[])[0].n);

  it('forgets failed logins past the forget window unless they still lock or mark a known client, and keeps recent ones', async () => {
    const old = uniqueEmail('old'),
      recent = uniqueEmail('recent'),
      locked = uniqueEmail('locked'),
      known = uniqueEmail('known');
    const c = '203.0.113.1';
    await h.db.query(
      `INSERT INTO login_failures (email, client, failures, last_failure_at, locked_until, last_success_at) VALUES
        (:old, :c, 3, now() - interval '2 days', NULL, NULL), (:recent, :c, 2, now() - interval '1 hour', NULL, NULL),
        (:locked, :c, 9, now() - interval '2 days', now() + interval '5 minutes', NULL),
        (:known, :c, 0, now() - interval '2 days', NULL, now() - interval '2 days'),
        (:old, '203.0.113.2', 0, now() - interval '40 days', NULL, now() - interval '40 days')`,
      { replacements: { old, recent, locked, known, c } },
    );
    await h.db.query(
      `INSERT INTO login_account_failures (email, failures, last_failure_at, locked_until) VALUES
        (:old, 3, now() - interval '2 days', NULL), (:recent, 2, now() - interval '1 hour', NULL),
        (:locked, 90, now() - interval '2 days', now() + interval '5 minutes')`,
      { replacements: { old, recent, locked } },
    );
    const pruned = await pruneStaleRows(h.db, PRUNE);
    expect(pruned.loginFailures).to.equal(3); // old's two client rows (one a known client 40 days ago) and its account row
    const left = async (table: string) =>
      (
        (
          await h.db.query(`SELECT email FROM ${table} WHERE email IN (:old, :recent, :locked, :known)`, {
            replacements: { old, recent, locked, known },
          })
        )[0] as any[]
      )
        .map((r) => r.email)
        .sort();
    expect(await left('login_failures')).to.deep.equal([recent, locked, known].sort());
    expect(await left('login_account_failures')).to.deep.equal([recent, locked].sort());
  });

  it('drops a refresh-token family only when all its tokens expired over a day ago; a live family keeps its rotated tokens', async () => {
    const dead = await registerUser(h); // registering signs in: the first family
    const user = dead.user;
    const live = (await h.call('POST', '/api/auth/login', { body: { email: user.email, password: PASSWORD } })).body;
    const rotated = (await h.call('POST', '/api/auth/refresh', { body: { refreshToken: live.refreshToken } })).body;
    expect(rotated.refreshToken).to.be.a('string');
    // The first session's family ran out long ago; the second is alive (its successor token is valid).
    await h.db.query(
      `UPDATE refresh_tokens SET expires_at = now() - interval '3 days' WHERE user_id = :id AND family_id = (SELECT family_id FROM refresh_tokens WHERE user_id = :id ORDER BY created_at LIMIT 1)`,
      { replacements: { id: user.id } },
    );
    const families = await count('SELECT count(DISTINCT family_id) AS n FROM refresh_tokens WHERE user_id = :id', {
      id: user.id,
    });
    expect(families).to.equal(2);

    const pruned = await pruneStaleRows(h.db, PRUNE);
    expect(pruned.refreshTokens).to.equal(1);
    expect(
      await count('SELECT count(DISTINCT family_id) AS n FROM refresh_tokens WHERE user_id = :id', { id: user.id }),
    ).to.equal(1);
    // Reuse of the live family's rotated token (past the grace window) is still detected: the whole family is revoked.
    await h.db.query(
      "UPDATE refresh_tokens SET rotated_at = rotated_at - interval '1 minute' WHERE user_id = :id AND rotated_at IS NOT NULL",
      { replacements: { id: user.id } },
    );
    const reuse = await h.call('POST', '/api/auth/refresh', { body: { refreshToken: live.refreshToken } });
    expect(reuse.status).to.equal(401);
    expect(
      (await h.call('POST', '/api/auth/refresh', { body: { refreshToken: rotated.refreshToken } })).status,
    ).to.equal(401);
    expect((await h.call('POST', '/api/auth/refresh', { body: { refreshToken: dead.refreshToken } })).status).to.equal(
      401,
    );
  });
});
