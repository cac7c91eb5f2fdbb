// Refresh tokens: 256 random bits shown once to the client, stored only as their SHA-256. The decision
// what a presented token means (valid, expired, revoked, or a replay of a rotated token) is pure logic.
// A rotation also keeps its successor sealed under a key derived from the presented token (which is never
// stored), so a duplicate of the same refresh within the grace window gets the same successor back, while
// the database alone (hashes and sealed successors) still yields no usable token.
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

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

const SEAL_INFO = 'eventtickets refresh-token successor v1';

function sealKey(presented: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(presented, 'utf8'), Buffer.alloc(0), SEAL_INFO, 32));
}

/** The successor, encrypted (AES-256-GCM) with a key only the holder of the presented token can derive. */
export function sealSuccessor(presented: string, successor: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', sealKey(presented), iv);
  const sealed = Buffer.concat([cipher.update(successor, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, sealed, cipher.getAuthTag()]);
}

/** The successor sealed by sealSuccessor, or undefined when it was sealed for another token or altered. */
export function openSuccessor(presented: string, sealed: Buffer): string | undefined {
  if (sealed.length < 12 + 16) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', sealKey(presented), sealed.subarray(0, 12));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    return Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}
