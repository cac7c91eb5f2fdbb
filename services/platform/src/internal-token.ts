// Service-to-service identity (shared/DESIGN.md "Service-to-service identity"): whoever calls a service (the
// gateway for a signed-in user, or another service) proves who it acts for with a short-lived token in one
// header, signed with the one stack-wide INTERNAL_TOKEN_SECRET. Reaching a service is not enough to be anyone.
//
// The token is a JWT (RFC 7519) with HS256 only: header.payload.signature, base64url. Claims:
//   sub   the user id, or `svc:<name>` for a service acting on its own behalf
//   role  buyer | organizer | admin (users only); email (users, optional)
//   iss   the caller (gateway, orders...)   aud  the service it is for   iat, exp  seconds (exp - iat: 60 s)
// Signed and verified with node:crypto (a few microseconds each, synchronous: the gateway signs per request).
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { IDENTITY_HEADERS, ROLES, type Identity, type Role } from './identity.ts';

export const INTERNAL_TOKEN_HEADER = 'x-internal-token';
/** Lifetime of a token the platform signs. */
export const INTERNAL_TOKEN_TTL_S = 60;
/** The longest lifetime (exp - iat) a verifier accepts, whoever signed it. */
export const INTERNAL_TOKEN_MAX_LIFETIME_S = 300;
/** Clock difference tolerated between replicas (exp and iat). */
export const INTERNAL_TOKEN_CLOCK_TOLERANCE_S = 5;
export const INTERNAL_TOKEN_SECRET_MIN_LENGTH = 32;

/** `svc:<name>`: a service acting on its own behalf. */
export const SERVICE_SUBJECT_PREFIX = 'svc:';
const SERVICE_NAME = /^[a-z][a-z0-9-]{0,62}$/;
const MAX_TOKEN_LENGTH = 4096;

export interface InternalTokenClaims {
  sub: string;
  role?: Role;
  email?: string;
  iss: string;
  aud: string;
  iat: number;
  exp: number;
}

/** Who called, as a verified token says. */
export type Caller =
  | { kind: 'user'; subject: string; issuer: string; identity: Identity }
  | { kind: 'service'; subject: string; issuer: string; service: string };

export type InternalTokenFailure = 'malformed' | 'signature' | 'expired' | 'not-yet-valid' | 'audience' | 'claims';

export class InternalTokenError extends Error {
  readonly reason: InternalTokenFailure;
  constructor(reason: InternalTokenFailure, message: string) {
    super(message);
    this.name = 'InternalTokenError';
    this.reason = reason;
  }
}

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

export type InternalTokenKey = KeyObject;

/** The HMAC key for a secret (build it once: createHmac with a KeyObject skips re-importing the secret). */
export function internalTokenKey(secret: string): InternalTokenKey {
  if (secret.length < INTERNAL_TOKEN_SECRET_MIN_LENGTH)
    throw new Error(`INTERNAL_TOKEN_SECRET must be at least ${INTERNAL_TOKEN_SECRET_MIN_LENGTH} characters`);
  return createSecretKey(Buffer.from(secret, 'utf8'));
}

function keyOf(secret: string | InternalTokenKey): InternalTokenKey {
  return typeof secret === 'string' ? internalTokenKey(secret) : secret;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

export interface SignInput {
  sub: string;
  role?: Role;
  email?: string;
  iss: string;
  aud: string;
  /** Seconds since the epoch (default: now). */
  iat?: number;
  /** Lifetime in seconds (default INTERNAL_TOKEN_TTL_S). */
  ttlS?: number;
}

/** Signs one token. Prefer createInternalTokenSigner, which builds the key once. */
export function signInternalToken(secret: string | InternalTokenKey, input: SignInput): string {
  const iat = input.iat ?? nowSeconds();
  const claims: InternalTokenClaims = {
    sub: input.sub,
    ...(input.role ? { role: input.role } : {}),
    ...(input.email ? { email: input.email } : {}),
    iss: input.iss,
    aud: input.aud,
    iat,
    exp: iat + (input.ttlS ?? INTERNAL_TOKEN_TTL_S),
  };
  const signingInput = `${HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${signingInput}.${createHmac('sha256', keyOf(secret)).update(signingInput).digest('base64url')}`;
}

export interface VerifyOptions {
  /** This service's name: the token's aud must be exactly it. */
  audience: string;
  /** Seconds since the epoch (default: now). */
  now?: number;
}

const isString = (v: unknown, max = 320): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;
const isSeconds = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Verifies a token for this audience; throws InternalTokenError saying why it is refused. */
export function verifyInternalToken(
  token: string,
  secret: string | InternalTokenKey,
  opts: VerifyOptions,
): InternalTokenClaims {
  if (token.length > MAX_TOKEN_LENGTH) throw new InternalTokenError('malformed', 'the token is too long');
  const parts = token.split('.');
  if (parts.length !== 3) throw new InternalTokenError('malformed', 'not a JWT');
  const [header, payload, signature] = parts as [string, string, string];
  // One header only: HS256. Anything else (alg none, RS256 with the secret as a "public key"...) is refused
  // before any parsing.
  if (header !== HEADER) throw new InternalTokenError('malformed', 'only HS256 tokens are accepted');
  const expected = Buffer.from(createHmac('sha256', keyOf(secret)).update(`${header}.${payload}`).digest('base64url'));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw new InternalTokenError('signature', 'the signature does not verify');
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw new InternalTokenError('malformed', 'the payload is not JSON');
  }
  if (!claims || typeof claims !== 'object' || Array.isArray(claims))
    throw new InternalTokenError('malformed', 'the payload is not an object');
  const { sub, role, email, iss, aud, iat, exp } = claims;
  if (!isString(sub, 200) || !isString(iss, 64) || !isString(aud, 64) || !isSeconds(iat) || !isSeconds(exp))
    throw new InternalTokenError('claims', 'sub, iss, aud, iat and exp are required');
  if (aud !== opts.audience) throw new InternalTokenError('audience', `the token is for ${aud}, not ${opts.audience}`);
  const now = opts.now ?? nowSeconds();
  if (exp - iat > INTERNAL_TOKEN_MAX_LIFETIME_S || exp <= iat)
    throw new InternalTokenError('claims', `the token's lifetime must be at most ${INTERNAL_TOKEN_MAX_LIFETIME_S} s`);
  if (now >= exp + INTERNAL_TOKEN_CLOCK_TOLERANCE_S) throw new InternalTokenError('expired', 'the token has expired');
  if (iat > now + INTERNAL_TOKEN_CLOCK_TOLERANCE_S)
    throw new InternalTokenError('not-yet-valid', 'the token was issued in the future');
  if (sub.startsWith(SERVICE_SUBJECT_PREFIX)) {
    const service = sub.slice(SERVICE_SUBJECT_PREFIX.length);
    if (!SERVICE_NAME.test(service) || iss !== service)
      throw new InternalTokenError('claims', 'a service subject must be svc:<issuer>');
    if (role !== undefined || email !== undefined)
      throw new InternalTokenError('claims', 'a service subject carries no role or email');
    return { sub, iss, aud, iat, exp };
  }
  if (!ROLES.includes(role as Role)) throw new InternalTokenError('claims', 'a user subject needs a role');
  if (email !== undefined && !isString(email)) throw new InternalTokenError('claims', 'email must be a string');
  return { sub, role: role as Role, ...(email !== undefined ? { email } : {}), iss, aud, iat, exp };
}

/** What verified claims say about the caller. */
export function callerOf(claims: InternalTokenClaims): Caller {
  if (claims.sub.startsWith(SERVICE_SUBJECT_PREFIX))
    return {
      kind: 'service',
      subject: claims.sub,
      issuer: claims.iss,
      service: claims.sub.slice(SERVICE_SUBJECT_PREFIX.length),
    };
  return {
    kind: 'user',
    subject: claims.sub,
    issuer: claims.iss,
    identity: { userId: claims.sub, role: claims.role!, ...(claims.email ? { email: claims.email } : {}) },
  };
}

export interface InternalTokenSigner {
  /** The calling service (iss; the subject of forService tokens is svc:<issuer>). */
  readonly issuer: string;
  /** A token for `audience` acting for a user (the gateway forwarding a request, a service forwarding it on). */
  forUser(identity: Identity, audience: string): string;
  /** A token for `audience` as the service itself: subject svc:<issuer>. */
  forService(audience: string): string;
  /** The headers that carry an identity to `audience`: the token, plus for a user the x-user-* headers it
   *  proves (kept for logs and Vary; a service refuses them when they disagree with the token). */
  headers(audience: string, identity?: Identity): Record<string, string>;
}

export interface SignerOptions {
  secret: string;
  /** This service's name. */
  issuer: string;
  ttlS?: number;
  /** Reuse a signed token for this long (per identity and audience); 0: sign every time. A reused token has
   *  at least ttlS - reuseS seconds left. */
  reuseS?: number;
  /** Seconds since the epoch (tests). */
  now?: () => number;
}

const MAX_CACHED = 10_000;

export function createInternalTokenSigner(opts: SignerOptions): InternalTokenSigner {
  const key = internalTokenKey(opts.secret);
  const ttlS = opts.ttlS ?? INTERNAL_TOKEN_TTL_S;
  const reuseS = Math.min(opts.reuseS ?? 0, Math.floor(ttlS / 2));
  const now = opts.now ?? nowSeconds;
  if (!SERVICE_NAME.test(opts.issuer)) throw new Error(`not a service name: ${opts.issuer}`);
  const serviceSubject = SERVICE_SUBJECT_PREFIX + opts.issuer;
  const cache = new Map<string, { token: string; until: number }>();

  function sign(sub: string, audience: string, role?: Role, email?: string): string {
    const iat = now();
    if (reuseS <= 0) return signInternalToken(key, { sub, role, email, iss: opts.issuer, aud: audience, iat, ttlS });
    const cacheKey = `${audience}\n${sub}\n${role ?? ''}\n${email ?? ''}`;
    const hit = cache.get(cacheKey);
    if (hit && hit.until > iat) return hit.token;
    const token = signInternalToken(key, { sub, role, email, iss: opts.issuer, aud: audience, iat, ttlS });
    if (cache.size >= MAX_CACHED) cache.clear();
    cache.set(cacheKey, { token, until: iat + reuseS });
    return token;
  }

  const forUser = (identity: Identity, audience: string) =>
    sign(identity.userId, audience, identity.role, identity.email);
  const forService = (audience: string) => sign(serviceSubject, audience);

  return {
    issuer: opts.issuer,
    forUser,
    forService,
    headers(audience, identity) {
      if (!identity) return { [INTERNAL_TOKEN_HEADER]: forService(audience) };
      return {
        [INTERNAL_TOKEN_HEADER]: forUser(identity, audience),
        [IDENTITY_HEADERS.userId]: identity.userId,
        [IDENTITY_HEADERS.role]: identity.role,
        ...(identity.email ? { [IDENTITY_HEADERS.email]: identity.email } : {}),
      };
    },
  };
}
