// Login: the same 401 and the same work (one attempt claim, one scrypt verification) whether the e-mail is
// unknown or the password wrong; failures are slowed per (account, client) and, far above any human's count,
// per account (domain/backoff.ts), so a stranger's guesses do not lock the owner out.
import { HttpProblem, withRetryingTransaction } from '@eventtickets/platform';
import { normaliseEmail } from '../domain/email.ts';
import { findUserByEmail, updatePasswordHash } from '../db/users.ts';
import { claimLoginAttempt, loginSucceeded } from '../db/login-failures.ts';
import { createRefreshToken, sessionFor, type Session } from './sessions.ts';
import { withPasswordWork } from './password-work.ts';
import type { UsersDeps } from '../deps.ts';

export type LoginOutcome = 'success' | 'invalid' | 'locked' | 'locked-account' | 'busy';

function backoffProblem(seconds: number, scope: 'client' | 'account'): HttpProblem {
  return new HttpProblem(
    429,
    'login-backoff',
    'Too many requests',
    scope === 'client'
      ? 'Too many failed logins for this account from your network; retry later'
      : 'Too many failed logins for this account from many networks; retry later, or from a network you logged in from before',
    { retryAfter: seconds, scope },
    { 'Retry-After': String(seconds) },
  );
}

export async function login(
  deps: UsersDeps,
  input: { email: string; password: string; client: string; signal?: AbortSignal },
  onOutcome: (o: LoginOutcome) => void = () => undefined,
): Promise<Session> {
  const email = normaliseEmail(input.email);
  // The claim counts the attempt as a failure until the password matches, so it runs inside the gate too: a
  // sign-in refused for a full queue (503) has changed nothing, and cannot push its owner into the back-off.
  const { user, matches } = await withPasswordWork(
    deps,
    async () => {
      const claim = await claimLoginAttempt(deps.db, email, input.client, deps.backoff);
      if (!claim.allowed) {
        onOutcome(claim.scope === 'client' ? 'locked' : 'locked-account');
        throw backoffProblem(claim.retryAfter, claim.scope);
      }
      const found = await findUserByEmail(deps.db, email);
      // Unknown e-mails are checked against a dummy hash so both failures cost one scrypt run.
      const ok = await deps.passwords.verify(input.password, found?.passwordHash ?? deps.passwords.dummyHash);
      return { user: found, matches: ok };
    },
    input.signal,
  ).catch((err: unknown) => {
    if (err instanceof HttpProblem && err.slug === 'password-work-busy') onOutcome('busy');
    throw err;
  });
  if (!user || !matches) {
    onOutcome('invalid');
    throw new HttpProblem(401, 'invalid-credentials', 'Unauthorized', 'E-mail or password is wrong');
  }
  await loginSucceeded(deps.db, email, input.client, deps.backoff);
  if (deps.passwords.needsRehash(user.passwordHash)) {
    // Cost parameters were raised since this hash was made: upgrade it now that we know the password.
    await updatePasswordHash(deps.db, user.id, await deps.passwords.hash(input.password));
  }
  const refresh = await withRetryingTransaction(deps.db, (t) => createRefreshToken(deps, t, user.id));
  onOutcome('success');
  return sessionFor(deps, user, refresh);
}
