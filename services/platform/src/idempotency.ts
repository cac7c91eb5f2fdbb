// Idempotency keys: a retried mutating request (same key, same body) gets the first result instead of being
// applied twice; the same key with another body is a 422. The key row is written in the SAME transaction as
// the state change, so "applied" and "remembered" can never disagree. A concurrent duplicate waits on the
// unique index until the first commits, then reads its stored response.
import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import type { Migration } from './db.ts';
import { problems } from './errors.ts';
import { withTransaction } from './db.ts';

export const idempotencyMigrations: Migration[] = [
  {
    name: '0000-platform-idempotency',
    up: (tx) =>
      tx.query(`
        CREATE TABLE IF NOT EXISTS idempotency_keys (
          scope text NOT NULL,
          key text NOT NULL,
          request_hash text NOT NULL,
          status integer,
          response jsonb,
          created_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (scope, key)
        );
        CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys (created_at);`),
    down: (tx) => tx.query('DROP TABLE IF EXISTS idempotency_keys'),
  },
];

const KEY_PATTERN = /^[A-Za-z0-9._:-]{8,128}$/;

/** Reads the Idempotency-Key header: undefined when absent, 400 when malformed. */
export function idempotencyKeyFrom(ctx: Context, required = false): string | undefined {
  const key = ctx.get('idempotency-key');
  if (!key) {
    if (required)
      throw problems.badRequest('This operation needs an Idempotency-Key header', 'idempotency-key-required');
    return undefined;
  }
  if (!KEY_PATTERN.test(key))
    throw problems.badRequest(
      'Idempotency-Key must be 8-128 characters of A-Z a-z 0-9 . _ : -',
      'idempotency-key-invalid',
    );
  return key;
}

/** Stable hash of what the request asks for (method, path, canonical JSON body). */
export function requestFingerprint(method: string, path: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method.toUpperCase()} ${path}\n${canonicalJson(body)}`)
    .digest('hex');
}

function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export interface IdempotentResult<T> {
  status: number;
  body: T;
  replayed: boolean;
}

/**
 * Runs `apply` at most once per (scope, key). Must be called inside transaction t, which must also hold the
 * state change `apply` makes. Returns the stored result on a replay; 422 idempotency-key-reused when the key
 * was used for a different request.
 */
export async function runIdempotent<T>(
  db: Sequelize,
  t: Transaction,
  ref: { scope: string; key: string; fingerprint: string },
  apply: () => Promise<{ status: number; body: T }>,
): Promise<IdempotentResult<T>> {
  const [claimed] = (await db.query(
    `INSERT INTO idempotency_keys (scope, key, request_hash) VALUES ($1, $2, $3)
     ON CONFLICT (scope, key) DO NOTHING RETURNING key`,
    { bind: [ref.scope, ref.key, ref.fingerprint], transaction: t },
  )) as [unknown[], unknown];
  if (claimed.length === 0) {
    const [rows] = (await db.query(
      'SELECT request_hash, status, response FROM idempotency_keys WHERE scope = $1 AND key = $2',
      {
        bind: [ref.scope, ref.key],
        transaction: t,
      },
    )) as [Array<{ request_hash: string; status: number; response: T }>, unknown];
    const first = rows[0]!;
    if (first.request_hash !== ref.fingerprint) keyReused();
    return { status: first.status, body: first.response, replayed: true };
  }
  const result = await apply();
  await db.query('UPDATE idempotency_keys SET status = $3, response = $4 WHERE scope = $1 AND key = $2', {
    bind: [ref.scope, ref.key, result.status, JSON.stringify(result.body)],
    transaction: t,
  });
  return { ...result, replayed: false };
}

/** Forgets keys older than maxAgeMs (run periodically; clients retry within minutes, not days). */
export async function pruneIdempotencyKeys(db: Sequelize, maxAgeMs: number): Promise<number> {
  const [, meta] = (await db.query(
    `DELETE FROM idempotency_keys WHERE created_at < now() - ($1::bigint * interval '1 millisecond')`,
    { bind: [maxAgeMs] },
  )) as [unknown, { rowCount?: number }];
  return meta?.rowCount ?? 0;
}

export interface IdempotencyRef {
  scope: string;
  key: string;
  fingerprint: string;
}

function keyReused(): never {
  throw problems.unprocessable(
    'This Idempotency-Key was already used for a different request',
    'idempotency-key-reused',
  );
}

/**
 * The committed result for this key, read without locking: lets a retry be answered before a service takes
 * expensive locks (which its own first attempt may still hold). Undefined when the key is unused or its first
 * request has not committed yet; runIdempotent inside the transaction stays the authority.
 */
export async function committedIdempotentResult<T>(
  db: Sequelize,
  ref: IdempotencyRef,
): Promise<IdempotentResult<T> | undefined> {
  const rows = await db.query<{ request_hash: string; status: number; response: T }>(
    'SELECT request_hash, status, response FROM idempotency_keys WHERE scope = $1 AND key = $2 AND status IS NOT NULL',
    { bind: [ref.scope, ref.key], type: QueryTypes.SELECT },
  );
  const row = rows[0];
  if (!row) return undefined;
  if (row.request_hash !== ref.fingerprint) keyReused();
  return { status: row.status, body: row.response, replayed: true };
}

/** Marks "no earlier request with this key": thrown inside the probe so its transaction stores nothing. */
class NotYetApplied extends Error {}

/**
 * For a retry that could not take its locks: the holder may be this key's own first request, still in its
 * transaction. Claiming the key waits on that transaction's uncommitted key row and then returns its result;
 * with no such request the claim is rolled back and undefined is returned.
 */
export async function awaitConcurrentIdempotentResult<T>(
  db: Sequelize,
  ref: IdempotencyRef,
): Promise<IdempotentResult<T> | undefined> {
  try {
    return await withTransaction(db, (t) => runIdempotent<T>(db, t, ref, () => Promise.reject(new NotYetApplied())));
  } catch (err) {
    if (err instanceof NotYetApplied) return undefined;
    throw err;
  }
}
