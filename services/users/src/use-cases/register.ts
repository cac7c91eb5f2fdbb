// Registration: a buyer account (organizer sign-up only records the request), its user.registered event
// and the first refresh token, all in one transaction.
import { enqueueEvent, problems, withRetryingTransaction } from '@eventtickets/platform';
import { isPlausibleEmail, normaliseEmail } from '../domain/email.ts';
import { defaultNotificationPrefs, userEventPayload } from '../domain/user.ts';
import { insertUser } from '../db/users.ts';
import { createRefreshToken, sessionFor, type Session } from './sessions.ts';
import type { UsersDeps } from '../deps.ts';

export interface RegisterInput {
  email: string;
  password: string;
  name: string;
  organizer?: boolean;
  phone?: string;
}

export async function register(deps: UsersDeps, input: RegisterInput): Promise<Session> {
  const email = normaliseEmail(input.email);
  if (!isPlausibleEmail(email)) throw problems.validation([{ field: 'email', message: 'must be an e-mail address' }]);
  const name = input.name.trim();
  const passwordHash = await deps.passwords.hash(input.password);
  const { user, refresh } = await withRetryingTransaction(deps.db, async (t) => {
    const created = await insertUser(deps.db, t, {
      email,
      name,
      role: 'buyer',
      phone: input.phone ?? null,
      notificationPrefs: { ...defaultNotificationPrefs },
      organizerRequested: input.organizer === true,
      passwordHash,
    });
    if (!created) throw problems.conflict('An account with this e-mail already exists', 'email-taken');
    await enqueueEvent(deps.db, t, {
      type: 'user.registered',
      aggregateId: created.id,
      payload: userEventPayload(created),
    });
    return { user: created, refresh: await createRefreshToken(deps, t, created.id) };
  });
  deps.logger.info({ userId: user.id, organizerRequested: user.organizerRequested }, 'user registered');
  return sessionFor(deps, user, refresh);
}
