// Refresh tokens: 256 random bits shown once to the client, stored only as their SHA-256. The decision
// what a presented token means (valid, expired, revoked, or a replay of a rotated token) is pure logic.
import { createHash, randomBytes } from 'node:crypto';

const TOKEN_FORMAT = /^[A-Za-z0-9_-]{43}$/;

export function generateRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashRefreshToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export function isWellFormedRefreshToken(token: string): boolean {
  return TOKEN_FORMAT.test(token);
}

export interface StoredRefreshToken {
  rotatedAt: Date | null;
  revokedAt: Date | null;
  expiresAt: Date;
}

export type RefreshVerdict = 'valid' | 'unknown' | 'expired' | 'revoked' | 'reused';

/** What to do with a presented token; 'reused' (a token already rotated) means the family is compromised. */
export function judgeRefreshToken(stored: StoredRefreshToken | undefined, now: Date): RefreshVerdict {
  if (!stored) return 'unknown';
  if (stored.revokedAt) return 'revoked';
  if (stored.rotatedAt) return 'reused';
  if (stored.expiresAt.getTime() <= now.getTime()) return 'expired';
  return 'valid';
}
