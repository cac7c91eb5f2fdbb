// Queries on refresh_tokens (only hashes are stored).
import { QueryTypes, type Sequelize, type Transaction } from '@eventtickets/platform';
import type { StoredRefreshToken } from '../domain/refresh-tokens.ts';

export interface RefreshTokenRow extends StoredRefreshToken { id: string; familyId: string; userId: string }

export async function insertRefreshToken(db: Sequelize, t: Transaction, r: { familyId: string; userId: string; tokenHash: Buffer; expiresAt: Date }): Promise<string> {
  const rows = await db.query<{ id: string }>(
    'INSERT INTO refresh_tokens (family_id, user_id, token_hash, expires_at) VALUES (:familyId, :userId, :tokenHash, :expiresAt) RETURNING id',
    { transaction: t, type: QueryTypes.SELECT, replacements: r },
  );
  return rows[0]!.id;
}

// Namespace of the per-family advisory locks (the two-key form, a keyspace apart from single-key locks).
const FAMILY_LOCK_NAMESPACE = 0x75_73_72; // "usr"

/**
 * Finds the token and serialises every change to its family (refresh, reuse revocation, logout) for the rest
 * of the transaction. Locking only the presented token's row is not enough: a refresh of the newest token could
 * insert its successor while a replay of an older one revokes the family, and the successor would escape.
 * The family lock is always taken before any row lock of that family, so these transactions cannot deadlock.
 */
export async function findRefreshTokenLockingFamily(db: Sequelize, t: Transaction, tokenHash: Buffer): Promise<RefreshTokenRow | undefined> {
  const found = await db.query<{ family_id: string }>('SELECT family_id FROM refresh_tokens WHERE token_hash = :tokenHash', { transaction: t, type: QueryTypes.SELECT, replacements: { tokenHash } });
  if (!found[0]) return undefined;
  await db.query('SELECT pg_advisory_xact_lock(:namespace, hashtext(:familyId))', { transaction: t, replacements: { namespace: FAMILY_LOCK_NAMESPACE, familyId: found[0].family_id } });
  const rows = await db.query<any>(
    'SELECT id, family_id, user_id, expires_at, rotated_at, revoked_at FROM refresh_tokens WHERE token_hash = :tokenHash FOR UPDATE',
    { transaction: t, type: QueryTypes.SELECT, replacements: { tokenHash } },
  );
  const r = rows[0];
  if (!r) return undefined;
  return { id: r.id, familyId: r.family_id, userId: r.user_id, expiresAt: new Date(r.expires_at), rotatedAt: r.rotated_at ? new Date(r.rotated_at) : null, revokedAt: r.revoked_at ? new Date(r.revoked_at) : null };
}

export async function markRotated(db: Sequelize, t: Transaction, id: string): Promise<void> {
  await db.query('UPDATE refresh_tokens SET rotated_at = now() WHERE id = :id', { transaction: t, replacements: { id } });
}

/** Revokes every live token of a family; returns how many were revoked. */
export async function revokeFamily(db: Sequelize, t: Transaction, familyId: string, reason: string): Promise<number> {
  const [, meta] = await db.query('UPDATE refresh_tokens SET revoked_at = now(), revoke_reason = :reason WHERE family_id = :familyId AND revoked_at IS NULL', { transaction: t, replacements: { familyId, reason } });
  return (meta as { rowCount?: number })?.rowCount ?? 0;
}
