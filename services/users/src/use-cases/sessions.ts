// Sessions: a login starts a refresh-token family; every refresh spends the presented token and issues
// the next one in the same family; presenting a spent token again revokes the family (stolen-token
// detection), except within REFRESH_REUSE_GRACE_SECONDS of its rotation while its successor is still the live
// end of the family: then it is a duplicate of the same refresh (a double submit, two tabs) and gets the same
// successor back with a fresh access token; logout revokes the family.
import { randomUUID } from 'node:crypto';
import { HttpProblem, withRetryingTransaction, type Transaction } from '@eventtickets/platform';
import {
  generateRefreshToken,
  hashRefreshToken,
  isWellFormedRefreshToken,
  judgeRefreshToken,
  openSuccessor,
  sealSuccessor,
} from '../domain/refresh-tokens.ts';
import { toUserView, type UserRecord, type UserView } from '../domain/user.ts';
import {
  findGraceSuccessor,
  findRefreshTokenLockingFamily,
  insertRefreshToken,
  markRotated,
  revokeFamily,
} from '../db/refresh-tokens.ts';
import { recordAccessToken } from '../db/access-tokens.ts';
import { findUserById } from '../db/users.ts';
import { issueAccessToken } from './access-tokens.ts';
import type { UsersDeps } from '../deps.ts';

export interface Session {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  refreshToken: string;
  refreshExpiresAt: string;
  user: UserView;
}

export interface IssuedRefreshToken {
  id: string;
  familyId: string;
  token: string;
  expiresAt: Date;
}

/** Stores the hash of a fresh refresh token (new family unless one is given) inside the caller's transaction. */
export async function createRefreshToken(
  deps: UsersDeps,
  t: Transaction,
  userId: string,
  familyId: string = randomUUID(),
): Promise<IssuedRefreshToken> {
  const token = generateRefreshToken();
  const expiresAt = new Date(Date.now() + deps.refreshTokenTtlDays * 86_400_000);
  const id = await insertRefreshToken(deps.db, t, { familyId, userId, tokenHash: hashRefreshToken(token), expiresAt });
  return { id, familyId, token, expiresAt };
}

/** The response body of register, login and refresh (the access token is recorded with its key and session). */
export async function sessionFor(deps: UsersDeps, user: UserRecord, refresh: IssuedRefreshToken): Promise<Session> {
  const access = await issueAccessToken(deps.keys, deps.accessTokens, user);
  await recordAccessToken(deps.db, {
    jti: access.jti,
    kid: access.kid,
    familyId: refresh.familyId,
    expiresAt: access.expiresAt,
  });
  return {
    accessToken: access.token,
    tokenType: 'Bearer',
    expiresIn: access.expiresIn,
    refreshToken: refresh.token,
    refreshExpiresAt: refresh.expiresAt.toISOString(),
    user: toUserView(user),
  };
}

const invalidToken = () =>
  new HttpProblem(401, 'invalid-refresh-token', 'Unauthorized', 'The refresh token is not valid; log in again');

export async function refreshSession(deps: UsersDeps, presented: string): Promise<Session> {
  if (!isWellFormedRefreshToken(presented)) throw invalidToken();
  // The transaction returns its verdict instead of throwing so a reuse revocation is committed, not rolled back.
  const outcome = await withRetryingTransaction(deps.db, async (t) => {
    const stored = await findRefreshTokenLockingFamily(deps.db, t, hashRefreshToken(presented));
    const verdict = judgeRefreshToken(stored, new Date());
    if (verdict === 'reused') {
      // A duplicate of the refresh that rotated this token, within the grace window: the same successor again.
      const successor = await findGraceSuccessor(deps.db, t, stored!.id, deps.refreshReuseGraceSeconds);
      const token = successor && openSuccessor(presented, successor.sealed);
      const user = token ? await findUserById(deps.db, stored!.userId, t) : undefined;
      if (successor && token && user) {
        const next = { id: successor.id, familyId: stored!.familyId, token, expiresAt: successor.expiresAt };
        return { verdict: 'duplicate', user, next } as const;
      }
      const revoked = await revokeFamily(deps.db, t, stored!.familyId, 'reuse-detected');
      return { verdict, familyId: stored!.familyId, userId: stored!.userId, revoked } as const;
    }
    if (verdict !== 'valid') return { verdict } as const;
    const user = await findUserById(deps.db, stored!.userId, t);
    if (!user) return { verdict: 'unknown' } as const;
    const next = await createRefreshToken(deps, t, user.id, stored!.familyId);
    await markRotated(deps.db, t, stored!.id, { id: next.id, sealed: sealSuccessor(presented, next.token) });
    return { verdict, user, next } as const;
  });
  switch (outcome.verdict) {
    case 'valid':
      return sessionFor(deps, outcome.user, outcome.next);
    case 'duplicate':
      deps.logger.info(
        { userId: outcome.user.id, familyId: outcome.next.familyId },
        'duplicate refresh within the grace window; same successor returned',
      );
      return sessionFor(deps, outcome.user, outcome.next);
    case 'reused':
      deps.logger.warn(
        { userId: outcome.userId, familyId: outcome.familyId, revoked: outcome.revoked },
        'refresh token reuse detected; token family revoked',
      );
      throw new HttpProblem(
        401,
        'refresh-token-reused',
        'Unauthorized',
        'This refresh token was already used; the session has been revoked, log in again',
      );
    case 'expired':
      throw new HttpProblem(
        401,
        'refresh-token-expired',
        'Unauthorized',
        'The refresh token has expired; log in again',
      );
    case 'revoked':
      throw new HttpProblem(
        401,
        'refresh-token-revoked',
        'Unauthorized',
        'The session was logged out or revoked; log in again',
      );
    default:
      throw invalidToken();
  }
}

/** Revokes the family of the presented token; unknown or already revoked tokens are fine (idempotent). */
export async function logout(deps: UsersDeps, presented: string): Promise<void> {
  if (!isWellFormedRefreshToken(presented)) return;
  await withRetryingTransaction(deps.db, async (t) => {
    const stored = await findRefreshTokenLockingFamily(deps.db, t, hashRefreshToken(presented));
    if (stored) await revokeFamily(deps.db, t, stored.familyId, 'logout');
  });
}
