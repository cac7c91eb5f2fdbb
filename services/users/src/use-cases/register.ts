// Registration: a buyer account (organizer sign-up only records the request), its user.registered event
// and the first refresh token, all in one transaction. An e-mail that has an account is answered 409
// email-taken (without e-mail verification a sign-up form cannot hide it: the account either gets created or
// not); enumerating accounts that way is held to REGISTER_MAX_CONFLICTS such answers per client and window.
import { enqueueEvent, HttpProblem, problems, withRetryingTransaction } from '@eventtickets/platform';
import { isPlausibleEmail, normaliseEmail } from '../domain/email.ts';
import { defaultNotificationPrefs, userEventPayload } from '../domain/user.ts';
import { insertUser } from '../db/users.ts';
import { recordRegistrationConflict, registrationWait } from '../db/registration-conflicts.ts';
import { createRefreshToken, sessionFor, type Session } from './sessions.ts';
import { withPasswordWork } from './password-work.ts';
import type { UsersDeps } from '../deps.ts';

export interface RegisterInput {
  email: string;
  password: string;
  name: string;
  organizer?: boolean;
  phone?: string;
}

export async function register(
  deps: UsersDeps,
  input: RegisterInput,
  client: string,
  signal?: AbortSignal,
): Promise<Session> {
  const email = normaliseEmail(input.email);
  if (!isPlausibleEmail(email)) throw problems.validation([{ field: 'email', message: 'must be an e-mail address' }]);
  const policy = {
    maxConflicts: deps.config.REGISTER_MAX_CONFLICTS,
    windowSeconds: deps.config.REGISTER_CONFLICT_WINDOW_SECONDS,
  };
  const wait = await registrationWait(deps.db, client, policy);
  if (wait > 0)
    throw new HttpProblem(
      429,
      'registration-backoff',
      'Too many requests',
      'Too many registrations for e-mails that already have an account from your network; retry later or log in',
      { retryAfter: wait },
      { 'Retry-After': String(wait) },
    );
  const name = input.name.trim();
  const passwordHash = await withPasswordWork(deps, () => deps.passwords.hash(input.password), signal);
  const outcome = await withRetryingTransaction(deps.db, async (t) => {
    const created = await insertUser(deps.db, t, {
      email,
      name,
      role: 'buyer',
      phone: input.phone ?? null,
      notificationPrefs: { ...defaultNotificationPrefs },
      organizerRequested: input.organizer === true,
      passwordHash,
    });
    if (!created) return undefined;
    await enqueueEvent(deps.db, t, {
      type: 'user.registered',
      aggregateId: created.id,
      payload: userEventPayload(created),
    });
    return { user: created, refresh: await createRefreshToken(deps, t, created.id) };
  });
  if (!outcome) {
    await recordRegistrationConflict(deps.db, client, policy);
    throw problems.conflict('An account with this e-mail already exists', 'email-taken');
  }
  const { user, refresh } = outcome;
  deps.logger.info({ userId: user.id, organizerRequested: user.organizerRequested }, 'user registered');
  return sessionFor(deps, user, refresh);
}
