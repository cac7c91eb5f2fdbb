// Queries on refresh_tokens (only hashes are stored).
import { execute, one, type Sequelize, type Transaction } from '@eventtickets/platform';
import type { StoredRefreshToken } from '../domain/refresh-tokens.ts';

export interface RefreshTokenRow extends StoredRefreshToken {
  id: string;
  familyId: string;
  userId: string;
}

interface RefreshTokenDbRow {
  id: string;
  family_id: string;
  user_id: string;
  expires_at: Date;
  rotated_at: Date | null;
  revoked_at: Date | null;
}

export async function insertRefreshToken(
  db: Sequelize,
  t: Transaction,
  r: { familyId: string; userId: string; tokenHash: Buffer; expiresAt: Date },
): Promise<string> {
  const row = await one<{ id: string }>(
    db,
    'INSERT INTO refresh_tokens (family_id, user_id, token_hash, expires_at) VALUES ($1, $2, $3, $4) RETURNING id',
    [r.familyId, r.userId, r.tokenHash, r.expiresAt],
    t,
  );
  return row!.id;
}

// Namespace of the per-family advisory locks (the two-key form, a keyspace apart from single-key locks).
const FAMILY_LOCK_NAMESPACE = 0x75_73_72; // "usr"

/**
 * Finds the token and serialises every change to its family (refresh, reuse revocation, logout) for the rest
 * of the transaction. Locking only the presented token's row is not enough: a refresh of the newest token could
 * insert its successor while a replay of an older one revokes the family, and the successor would escape.
 * The family lock is always taken before any row lock of that family, so these transactions cannot deadlock.
 */
export async function findRefreshTokenLockingFamily(
  db: Sequelize,
  t: Transaction,
  tokenHash: Buffer,
): Promise<RefreshTokenRow | undefined> {
  const found = await one<{ family_id: string }>(
    db,
    'SELECT family_id FROM refresh_tokens WHERE token_hash = $1',
    [tokenHash],
    t,
  );
  if (!found) return undefined;
  await execute(db, 'SELECT pg_advisory_xact_lock($1, hashtext($2))', [FAMILY_LOCK_NAMESPACE, found.family_id], t);
  const r = await one<RefreshTokenDbRow>(
    db,
    'SELECT id, family_id, user_id, expires_at, rotated_at, revoked_at FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE',
    [tokenHash],
    t,
  );
  if (!r) return undefined;
  return {
    id: r.id,
    familyId: r.family_id,
    userId: r.user_id,
    expiresAt: new Date(r.expires_at),
    rotatedAt: r.rotated_at ? new Date(r.rotated_at) : null,
    revokedAt: r.revoked_at ? new Date(r.revoked_at) : null,
  };
}

/** Spends a token: rotated now, replaced by its successor (kept sealed for a duplicate within the grace window). */
export async function markRotated(
  db: Sequelize,
  t: Transaction,
  id: string,
  successor: { id: string; sealed: Buffer },
): Promise<void> {
  await execute(
    db,
    'UPDATE refresh_tokens SET rotated_at = now(), replaced_by = $2, successor_sealed = $3 WHERE id = $1',
    [id, successor.id, successor.sealed],
    t,
  );
}

export interface GraceSuccessor {
  id: string;
  expiresAt: Date;
  sealed: Buffer;
}

/**
 * The successor of a token rotated less than graceSeconds ago (by the database's clock), if that successor is
 * still the live end of the family (not rotated, revoked or expired); otherwise undefined.
 */
export async function findGraceSuccessor(
  db: Sequelize,
  t: Transaction,
  id: string,
  graceSeconds: number,
): Promise<GraceSuccessor | undefined> {
  if (graceSeconds <= 0) return undefined;
  const r = await one<{ id: string; expires_at: Date; successor_sealed: Buffer }>(
    db,
    `SELECT s.id, s.expires_at, p.successor_sealed
       FROM refresh_tokens p JOIN refresh_tokens s ON s.id = p.replaced_by
      WHERE p.id = $1 AND p.successor_sealed IS NOT NULL AND p.rotated_at > now() - make_interval(secs => $2)
        AND s.rotated_at IS NULL AND s.revoked_at IS NULL AND s.expires_at > now()`,
    [id, graceSeconds],
    t,
  );
  return r ? { id: r.id, expiresAt: new Date(r.expires_at), sealed: Buffer.from(r.successor_sealed) } : undefined;
}

/** Revokes every live token of a family; returns how many were revoked. */
export async function revokeFamily(db: Sequelize, t: Transaction, familyId: string, reason: string): Promise<number> {
  return execute(
    db,
    'UPDATE refresh_tokens SET revoked_at = now(), revoke_reason = $2 WHERE family_id = $1 AND revoked_at IS NULL',
    [familyId, reason],
    t,
  );
}
