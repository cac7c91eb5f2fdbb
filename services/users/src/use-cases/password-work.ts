// Password hashing through the bounded gate (domain/work-gate.ts): a full queue answers 503 at once with a short
// Retry-After, and a request that went away while it waited is not hashed at all.
import { HttpProblem } from '@eventtickets/platform';
import { WorkAbandoned, WorkGateFull } from '../domain/work-gate.ts';
import type { UsersDeps } from '../deps.ts';

const RETRY_AFTER_SECONDS = 1;

function busy(detail: string): HttpProblem {
  return new HttpProblem(
    503,
    'password-work-busy',
    'Service Unavailable',
    detail,
    { retryAfter: RETRY_AFTER_SECONDS },
    { 'Retry-After': String(RETRY_AFTER_SECONDS) },
  );
}

export async function withPasswordWork<T>(deps: UsersDeps, job: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  try {
    return await deps.passwordWork.run(job, signal);
  } catch (err) {
    if (err instanceof WorkGateFull) throw busy('Too many sign-ins at this moment; retry in a second');
    // Nobody reads this answer: the client closed the connection while its hash waited.
    if (err instanceof WorkAbandoned) throw busy('The request was abandoned before its password was checked');
    throw err;
  }
}
