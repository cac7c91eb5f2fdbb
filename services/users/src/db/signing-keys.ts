// Queries on signing_keys (access-token signing keys when JWT_PRIVATE_KEYS is not set).
import { execute, one, rows, type Sequelize, type Transaction } from '@eventtickets/platform';
import type { JWK } from 'jose';

export interface SigningKeyRow {
  kid: string;
  alg: string;
  private_jwk: JWK;
  public_jwk: JWK;
  status: 'signing' | 'previous';
  created_at: Date;
}

export interface NewSigningKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

const COLUMNS = 'kid, alg, private_jwk, public_jwk, status, created_at';

/** Every key, the signing key first, then the previous ones newest first. */
export function listSigningKeys(db: Sequelize): Promise<SigningKeyRow[]> {
  return rows<SigningKeyRow>(
    db,
    `SELECT ${COLUMNS} FROM signing_keys ORDER BY status = 'signing' DESC, created_at DESC`,
  );
}

export function findCurrentSigningKey(db: Sequelize): Promise<SigningKeyRow | undefined> {
  return one<SigningKeyRow>(db, `SELECT ${COLUMNS} FROM signing_keys WHERE status = 'signing'`);
}

/** Makes the key the signing key unless there already is one (concurrent first starts: the partial unique index lets exactly one insert win). */
export async function insertFirstSigningKey(db: Sequelize, key: NewSigningKey): Promise<void> {
  await execute(
    db,
    `INSERT INTO signing_keys (kid, alg, private_jwk, public_jwk, status) VALUES ($1, 'ES256', $2, $3, 'signing')
     ON CONFLICT (status) WHERE status = 'signing' DO NOTHING`,
    [key.kid, JSON.stringify(key.privateJwk), JSON.stringify(key.publicJwk)],
  );
}

/**
 * Queues rotations behind each other for the rest of the transaction: otherwise a second one would not see the
 * first's new key, would demote nothing and then collide with it on the one-signing-key index (a 500).
 */
export async function lockSigningKeys(db: Sequelize, t: Transaction): Promise<void> {
  await execute(db, 'LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE', [], t);
}

/** The signing key becomes a previous key (still published). */
export async function demoteSigningKey(db: Sequelize, t: Transaction): Promise<void> {
  await execute(db, "UPDATE signing_keys SET status = 'previous', rotated_at = now() WHERE status = 'signing'", [], t);
}

export async function insertSigningKey(db: Sequelize, t: Transaction, key: NewSigningKey): Promise<SigningKeyRow> {
  const row = await one<SigningKeyRow>(
    db,
    `INSERT INTO signing_keys (kid, alg, private_jwk, public_jwk, status) VALUES ($1, 'ES256', $2, $3, 'signing') RETURNING ${COLUMNS}`,
    [key.kid, JSON.stringify(key.privateJwk), JSON.stringify(key.publicJwk)],
    t,
  );
  return row!;
}

export async function findSigningKeyStatus(
  db: Sequelize,
  kid: string,
  t?: Transaction,
): Promise<'signing' | 'previous' | undefined> {
  return (await one<{ status: 'signing' | 'previous' }>(db, 'SELECT status FROM signing_keys WHERE kid = $1', [kid], t))
    ?.status;
}

/** Deletes a previous key (never the signing one); returns whether it did. */
export async function deletePreviousSigningKey(db: Sequelize, kid: string, t?: Transaction): Promise<boolean> {
  return (await execute(db, "DELETE FROM signing_keys WHERE kid = $1 AND status = 'previous'", [kid], t)) > 0;
}
