// The one API client: openapi-fetch typed by the merged public contract (schema.d.ts, generated in the build).
// Its fetch adds the bearer token, refreshes it silently shortly before it expires or after a 401, and retries
// the request once. Refreshes are serialised (one in flight per tab, and across tabs through the Web Locks
// API where the browser has it): refresh tokens rotate with reuse detection, so two refreshes with the same
// token would sign the user out.
import createClient from 'openapi-fetch';
import type { paths } from './schema';
import type { Session } from './types';
import { ApiError, type Problem } from './problems';
import { getSession, setSession, storedRefreshToken } from './session';

const EARLY_MS = 30_000;
let refreshing: Promise<boolean> | undefined;

async function postRefresh(refreshToken: string): Promise<Session | undefined> {
  const res = await fetch('/api/auth/refresh', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ refreshToken }),
  });
  if (res.ok) return (await res.json()) as Session;
  if (res.status === 401 || res.status === 400 || res.status === 403) return undefined; // the session has ended
  throw new ApiError(res.status, (await res.json().catch(() => undefined)) as Problem | undefined);
}

async function refreshOnce(): Promise<boolean> {
  const before = getSession();
  if (!before) return false;
  const run = async () => {
    // Another tab may have rotated the token meanwhile: its newer one is in localStorage.
    const token = storedRefreshToken() ?? before.refreshToken;
    const session = await postRefresh(token);
    setSession(session);
    return session !== undefined;
  };
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  return locks ? locks.request('et-refresh', run) : run();
}

/** Refresh the access token (one at a time); false when the session has ended (then it is cleared). */
export function refreshSession(): Promise<boolean> {
  refreshing ??= refreshOnce().finally(() => {
    refreshing = undefined;
  });
  return refreshing;
}

async function accessToken(): Promise<string | undefined> {
  const s = getSession();
  if (!s) return undefined;
  if (!s.accessToken || s.accessExpiresAt - Date.now() < EARLY_MS) {
    if (!(await refreshSession())) return undefined;
  }
  return getSession()?.accessToken;
}

export async function authFetch(input: Request): Promise<Response> {
  const retry = input.clone();
  const token = await accessToken();
  if (token) input.headers.set('authorization', `Bearer ${token}`);
  const res = await fetch(input);
  if (res.status !== 401 || !token) return res;
  if (!(await refreshSession())) return res;
  retry.headers.set('authorization', `Bearer ${getSession()!.accessToken}`);
  return fetch(retry);
}

export const api = createClient<paths>({ baseUrl: globalThis.location?.origin ?? '', fetch: authFetch });

/** An openapi-fetch result → its data, or an ApiError carrying the problem and a human message. */
export async function unwrap<T>(
  pending: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<NonNullable<T>> {
  const { data, error, response } = await pending;
  if (error !== undefined || !response.ok) throw new ApiError(response.status, error as Problem | undefined);
  return data as NonNullable<T>;
}

/** A GET of a non-JSON resource (the QR SVG, the HTML receipt) through the same auth. */
export async function getText(path: string, accept: string): Promise<string> {
  const res = await authFetch(new Request(new URL(path, globalThis.location.origin), { headers: { accept } }));
  if (!res.ok) throw new ApiError(res.status, (await res.json().catch(() => undefined)) as Problem | undefined);
  return res.text();
}

/** A random Idempotency-Key (8-128 of A-Z a-z 0-9 . _ : -). */
export function idempotencyKey(): string {
  return `web-${crypto.randomUUID()}`;
}
