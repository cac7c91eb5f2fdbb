// The caller's own profile; a change that alters anything emits user.updated in the same transaction.
import { HttpProblem, enqueueEvent, withRetryingTransaction } from '@eventtickets/platform';
import {
  applyProfilePatch,
  sameProfile,
  toUserView,
  userEventPayload,
  type ProfilePatch,
  type UserView,
} from '../domain/user.ts';
import { findUserById, updateProfile } from '../db/users.ts';
import type { UsersDeps } from '../deps.ts';

export const userNotFound = () => new HttpProblem(404, 'user-not-found', 'Not found', 'No such user');

export async function getProfile(deps: UsersDeps, userId: string): Promise<UserView> {
  const user = await findUserById(deps.db, userId);
  if (!user) throw userNotFound();
  return toUserView(user);
}

export async function patchProfile(deps: UsersDeps, userId: string, patch: ProfilePatch): Promise<UserView> {
  return withRetryingTransaction(deps.db, async (t) => {
    const user = await findUserById(deps.db, userId, t, { forUpdate: true });
    if (!user) throw userNotFound();
    const next = applyProfilePatch(user, patch);
    if ('error' in next)
      throw new HttpProblem(422, next.error, 'Unprocessable request', 'SMS notifications need a phone number');
    if (sameProfile(user, next)) return toUserView(user);
    const updated = await updateProfile(deps.db, t, userId, next);
    await enqueueEvent(deps.db, t, { type: 'user.updated', aggregateId: userId, payload: userEventPayload(updated) });
    return toUserView(updated);
  });
}
