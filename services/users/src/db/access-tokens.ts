// Queries on access_token_issues: which key signed each live access token, for which session (token family).
import { execute, one, type Sequelize, type Transaction } from '@eventtickets/platform';

export async function recordAccessToken(
  db: Sequelize,
  r: { jti: string; kid: string; familyId: string; expiresAt: Date },
): Promise<void> {
  await execute(db, 'INSERT INTO access_token_issues (jti, kid, family_id, expires_at) VALUES ($1, $2, $3, $4)', [
    r.jti,
    r.kid,
    r.familyId,
    r.expiresAt,
  ]);
}

/** Unexpired access tokens signed by kid, and the sessions they belong to. */
export async function countLiveAccessTokens(
  db: Sequelize,
  kid: string,
  t?: Transaction,
): Promise<{ accessTokens: number; sessions: number }> {
  const r = await one<{ tokens: string; sessions: string }>(
    db,
    `SELECT count(*) AS tokens, count(DISTINCT family_id) AS sessions
       FROM access_token_issues WHERE kid = $1 AND expires_at > now()`,
    [kid],
    t,
  );
  return { accessTokens: Number(r!.tokens), sessions: Number(r!.sessions) };
}

export async function forgetAccessTokensOf(db: Sequelize, kid: string, t?: Transaction): Promise<void> {
  await execute(db, 'DELETE FROM access_token_issues WHERE kid = $1', [kid], t);
}
