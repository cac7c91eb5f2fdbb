// Admin operations: list users (keyset cursor) and change roles (which approves organizer requests).
import { HttpProblem, enqueueEvent, problems, withRetryingTransaction, type Role } from '@eventtickets/platform';
import { toUserView, userEventPayload, type UserView } from '../domain/user.ts';
import { findUserById, listUsers, updateRole } from '../db/users.ts';
import { isUuid } from '../domain/ids.ts';
import { userNotFound } from './profile.ts';
import type { UsersDeps } from '../deps.ts';

export function encodeCursor(u: { createdAt: string; id: string }): string {
  return Buffer.from(JSON.stringify([u.createdAt, u.id])).toString('base64url');
}

function isIsoInstant(value: string): boolean {
  const time = Date.parse(value);
  return !Number.isNaN(time) && new Date(time).toISOString() === value;
}

export function decodeCursor(cursor: string): { createdAt: string; id: string } {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    // Only the exact form encodeCursor writes (Date#toISOString): anything Date.parse merely tolerates, such as
    // "1", is not a timestamp Postgres accepts.
    if (typeof createdAt === 'string' && isIsoInstant(createdAt) && typeof id === 'string' && isUuid(id))
      return { createdAt, id };
  } catch {
    /* falls through to the problem */
  }
  throw problems.badRequest('The cursor is not one this API returned', 'invalid-cursor');
}

export async function listUserPage(
  deps: UsersDeps,
  q: { limit: number; cursor?: string; role?: Role; organizerRequested?: boolean },
): Promise<{ items: UserView[]; nextCursor: string | null }> {
  const after = q.cursor ? decodeCursor(q.cursor) : undefined;
  const rows = await listUsers(deps.db, {
    limit: q.limit + 1,
    after,
    role: q.role,
    organizerRequested: q.organizerRequested,
  });
  const items = rows.slice(0, q.limit).map(toUserView);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > q.limit && last ? encodeCursor(last) : null };
}

export async function setRole(deps: UsersDeps, actorId: string, userId: string, role: Role): Promise<UserView> {
  // An admin demoting themselves could leave nobody able to manage roles.
  // Ids compare case-insensitively: the path accepts upper-case hex and Postgres finds the same row.
  if (actorId.toLowerCase() === userId.toLowerCase())
    throw new HttpProblem(409, 'cannot-change-own-role', 'Conflict', 'Admins cannot change their own role');
  return withRetryingTransaction(deps.db, async (t) => {
    const user = await findUserById(deps.db, userId, t, { forUpdate: true });
    if (!user) throw userNotFound();
    // Any decision settles a pending organizer request: organizer (or admin) approves it, buyer declines it.
    if (user.role === role && !user.organizerRequested) return toUserView(user);
    const updated = await updateRole(deps.db, t, userId, role);
    // The event carries the role, not the request flag: a decline alone changes nothing consumers see.
    if (updated.role !== user.role)
      await enqueueEvent(deps.db, t, { type: 'user.updated', aggregateId: userId, payload: userEventPayload(updated) });
    deps.logger.info(
      { actorId, userId, from: user.role, to: role, organizerRequestSettled: user.organizerRequested },
      'role set',
    );
    return toUserView(updated);
  });
}
