// Access tokens: short-lived signed JWTs the gateway verifies against the JWKS (always with exp: a token without
// one is refused there).
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Role } from '@eventtickets/platform';
import type { SigningKeyStore } from './signing-keys.ts';

export interface AccessTokenSettings {
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

export async function issueAccessToken(
  keys: SigningKeyStore,
  settings: AccessTokenSettings,
  user: { id: string; role: Role; email: string },
): Promise<{ token: string; expiresIn: number; jti: string; kid: string; expiresAt: Date }> {
  const { kid, alg, key } = await keys.signingKey();
  const now = Math.floor(Date.now() / 1000);
  const jti = randomUUID();
  const token = await new SignJWT({ role: user.role, email: user.email })
    .setProtectedHeader({ alg, kid, typ: 'JWT' })
    .setSubject(user.id)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt(now)
    .setExpirationTime(now + settings.ttlSeconds)
    .setJti(jti)
    .sign(key);
  return { token, expiresIn: settings.ttlSeconds, jti, kid, expiresAt: new Date((now + settings.ttlSeconds) * 1000) };
}
