// The signed-in session, kept where the API client can reach it without importing the store (no cycle).
// The refresh token lives in localStorage so a reload stays signed in; the access token only in memory.
import type { Session, User } from './types';

const KEY = 'et.session';

export interface StoredSession {
  refreshToken: string;
  refreshExpiresAt: string;
  user: User;
}

export interface LiveSession extends StoredSession {
  accessToken: string | undefined;
  /** epoch ms when the access token expires */
  accessExpiresAt: number;
}

let current: LiveSession | undefined = load();
const listeners = new Set<(s: LiveSession | undefined) => void>();

function load(): LiveSession | undefined {
  try {
    const raw = localStorage.getItem(KEY);
    if (!raw) return undefined;
    const stored = JSON.parse(raw) as StoredSession;
    if (!stored.refreshToken || Date.parse(stored.refreshExpiresAt) <= Date.now()) return undefined;
    return { ...stored, accessToken: undefined, accessExpiresAt: 0 };
  } catch {
    return undefined;
  }
}

export function getSession(): LiveSession | undefined {
  return current;
}

/** The refresh token another tab may have rotated since this one read it. */
export function storedRefreshToken(): string | undefined {
  try {
    return (JSON.parse(localStorage.getItem(KEY) ?? 'null') as StoredSession | null)?.refreshToken;
  } catch {
    return undefined;
  }
}

export function setSession(session: Session | undefined): void {
  if (!session) {
    current = undefined;
    localStorage.removeItem(KEY);
  } else {
    current = {
      user: session.user,
      refreshToken: session.refreshToken,
      refreshExpiresAt: session.refreshExpiresAt,
      accessToken: session.accessToken,
      accessExpiresAt: Date.now() + session.expiresIn * 1000,
    };
    const stored: StoredSession = {
      user: session.user,
      refreshToken: session.refreshToken,
      refreshExpiresAt: session.refreshExpiresAt,
    };
    localStorage.setItem(KEY, JSON.stringify(stored));
  }
  for (const l of listeners) l(current);
}

export function updateUser(user: User): void {
  if (!current) return;
  current = { ...current, user };
  localStorage.setItem(
    KEY,
    JSON.stringify({ user, refreshToken: current.refreshToken, refreshExpiresAt: current.refreshExpiresAt }),
  );
  for (const l of listeners) l(current);
}

export function onSessionChange(listener: (s: LiveSession | undefined) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
