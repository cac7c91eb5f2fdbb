// Retry-safe hold creation (POST /api/holds with an Idempotency-Key). The platform's runIdempotent, run in the
// hold's own transaction, is the authority: key and hold commit together. The Redlock step comes BEFORE that
// transaction, so a retry whose first attempt already holds the seats would otherwise be refused by its own
// locks (503) or its own seats (409); the two helpers here answer such a retry before or instead of locking.
import {
  awaitConcurrentIdempotentResult,
  committedIdempotentResult,
  requestFingerprint,
  type IdempotencyRef,
  type IdempotentResult,
  type Sequelize,
} from '@eventtickets/platform';
import type { HoldRequest, HoldView } from '../domain/types.ts';

/** What runIdempotent needs: keys are per user (two users may pick the same key independently). */
export type HoldIdempotencyRef = IdempotencyRef;

export function holdIdempotencyRef(userId: string, key: string, req: HoldRequest): HoldIdempotencyRef {
  return { scope: userId, key, fingerprint: requestFingerprint('POST', '/api/holds', req) };
}

/** The committed result for this key, read before any lock (see the platform's committedIdempotentResult). */
export const committedResult = (
  db: Sequelize,
  ref: HoldIdempotencyRef,
): Promise<IdempotentResult<HoldView> | undefined> => committedIdempotentResult<HoldView>(db, ref);

/** After the seat locks could not be taken: the holder may be this key's own first request, still in its transaction. */
export const resultOfConcurrentDuplicate = (
  db: Sequelize,
  ref: HoldIdempotencyRef,
): Promise<IdempotentResult<HoldView> | undefined> => awaitConcurrentIdempotentResult<HoldView>(db, ref);
