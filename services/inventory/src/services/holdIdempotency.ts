// Retry-safe hold creation (POST /api/holds with an Idempotency-Key). The platform's runIdempotent, run in the
// hold's own transaction, is the authority: key and hold commit together. The Redlock step comes BEFORE that
// transaction, so a retry whose first attempt already holds the seats would otherwise be refused by its own
// locks (503) or its own seats (409); the two helpers here answer such a retry before or instead of locking.
import { problems, requestFingerprint, runIdempotent, withTransaction, type IdempotentResult, type Sequelize } from '@eventtickets/platform';
import { one } from '../db/sql.ts';
import type { HoldRequest, HoldView } from '../domain/types.ts';

/** What runIdempotent needs: keys are per user (two users may pick the same key independently). */
export interface HoldIdempotencyRef { scope: string; key: string; fingerprint: string }

export function holdIdempotencyRef(userId: string, key: string, req: HoldRequest): HoldIdempotencyRef {
  return { scope: userId, key, fingerprint: requestFingerprint('POST', '/api/holds', req) };
}

/** The committed result stored for this key, read without any lock (cheap, before Redlock). Undefined when the
 *  key is unused or its first request has not committed yet (the transaction decides then). */
export async function committedResult(db: Sequelize, ref: HoldIdempotencyRef): Promise<IdempotentResult<HoldView> | undefined> {
  const row = await one<{ request_hash: string; status: number; response: HoldView }>(
    db,
    'SELECT request_hash, status, response FROM idempotency_keys WHERE scope = $1 AND key = $2 AND status IS NOT NULL',
    [ref.scope, ref.key],
  );
  if (!row) return undefined;
  if (row.request_hash !== ref.fingerprint) {
    // Same slug and wording as the platform's authoritative check inside the transaction.
    throw problems.unprocessable('This Idempotency-Key was already used for a different request', 'idempotency-key-reused');
  }
  return { status: row.status, body: row.response, replayed: true };
}

/** Marks "no earlier request with this key": thrown inside the probe so its transaction stores nothing. */
class NotYetApplied extends Error {}

/**
 * After the seat locks could not be taken: the holder may be this key's own first request, still in its
 * transaction. Claiming the key through the platform waits on that transaction's uncommitted key row and then
 * returns its result; with no such request the claim is rolled back and undefined is returned.
 */
export async function resultOfConcurrentDuplicate(db: Sequelize, ref: HoldIdempotencyRef): Promise<IdempotentResult<HoldView> | undefined> {
  try {
    return await withTransaction(db, (t) => runIdempotent<HoldView>(db, t, ref, () => Promise.reject(new NotYetApplied())));
  } catch (err) {
    if (err instanceof NotYetApplied) return undefined;
    throw err;
  }
}
