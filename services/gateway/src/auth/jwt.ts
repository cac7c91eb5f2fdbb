// Access-token verification at the edge: koa-jwt + jwks-rsa against the users service's JWKS (keys cached,
// refetched on an unknown kid under a rate limit), issuer/audience checked, algorithms pinned, exp required. The result
// is an Identity the proxy forwards in the headers only the gateway sets.
import type { Context, Next } from 'koa';
import koaJwt from 'koa-jwt';
import jwksRsa from 'jwks-rsa';
import type { Identity, Role } from '@eventtickets/platform';
import { HttpProblem, problems } from '@eventtickets/platform/errors';
import type { AuthLevel } from '../domain/routing.ts';

export const PINNED_ALGORITHMS = ['ES256', 'RS256'] as const;
const ROLES: readonly Role[] = ['buyer', 'organizer', 'admin'];

export interface AuthOptions {
  /** Base URL of the users service; without it no token can be verified. */
  usersUrl?: string;
  issuer: string;
  audience: string;
  jwksCacheMs: number;
  jwksRequestsPerMinute: number;
  clockToleranceS: number;
  /** How long a verified token is believed again without re-verifying its signature (0: never). Bounded by the
   *  token's exp (plus the clock tolerance); at most VERIFIED_CACHE_ENTRIES tokens, oldest dropped first. */
  verifiedCacheMs?: number;
}

const VERIFIED_CACHE_ENTRIES = 20_000;

export interface Authenticator {
  /** Resolves the caller's identity and enforces the route's auth level (401/403/503 problems). */
  authorize: (ctx: Context, level: AuthLevel) => Promise<Identity | undefined>;
}

const BEARER_CHALLENGE = 'Bearer realm="eventtickets"';

function invalidToken(detail: string): HttpProblem {
  return new HttpProblem(
    401,
    'invalid-token',
    'Invalid access token',
    detail,
    {},
    { 'WWW-Authenticate': `${BEARER_CHALLENGE}, error="invalid_token"` },
  );
}

/** What went wrong with a token, in words safe to show the client. */
function describeTokenError(err: unknown): string {
  const e = err as { name?: string; message?: string };
  switch (e?.name) {
    case 'TokenExpiredError':
      return 'The token has expired';
    case 'NotBeforeError':
      return 'The token is not valid yet';
    case 'SigningKeyNotFoundError':
      return 'The token was signed with an unknown key';
    case 'JwksRateLimitError':
      return 'The token was signed with an unknown key';
    case 'JsonWebTokenError':
      return `The token was rejected: ${e.message}`;
    default:
      return 'The token could not be verified';
  }
}

function identityFromClaims(claims: Record<string, unknown>): Identity | undefined {
  const { sub, role, email } = claims;
  if (typeof sub !== 'string' || sub === '' || !ROLES.includes(role as Role)) return undefined;
  return { userId: sub, role: role as Role, email: typeof email === 'string' && email ? email : undefined };
}

export function hasLevel(identity: Identity, level: AuthLevel): boolean {
  if (level === 'public' || level === 'user') return true;
  if (identity.role === 'admin') return true;
  return level === 'organizer' && identity.role === 'organizer';
}

export function createAuthenticator(opts: AuthOptions): Authenticator {
  const verify = opts.usersUrl
    ? koaJwt({
        secret: jwksRsa.koaJwtSecret({
          jwksUri: new URL('/.well-known/jwks.json', opts.usersUrl).toString(),
          cache: true,
          cacheMaxAge: opts.jwksCacheMs,
          cacheMaxEntries: 20,
          rateLimit: true,
          jwksRequestsPerMinute: opts.jwksRequestsPerMinute,
          timeout: 3_000,
        }),
        algorithms: [...PINNED_ALGORITHMS],
        issuer: opts.issuer,
        audience: opts.audience,
        clockTolerance: opts.clockToleranceS,
        passthrough: true, // the route's auth level decides what a missing or bad token means
        key: 'jwt',
      } as koaJwt.Options)
    : undefined;
  const noop = async () => undefined;
  // Verified tokens (the exact string, so nothing unverified can match) → their claims and until when.
  const verified = new Map<string, { claims: Record<string, unknown>; until: number }>();
  const cacheMs = opts.verifiedCacheMs ?? 0;

  /** The claims of a token verified before and still within its cache time and its own exp, else undefined. */
  function cachedClaims(token: string): Record<string, unknown> | undefined {
    if (!cacheMs) return undefined;
    const hit = verified.get(token);
    if (!hit) return undefined;
    if (hit.until > Date.now()) return hit.claims;
    verified.delete(token);
    return undefined;
  }

  function remember(token: string, claims: Record<string, unknown>): void {
    if (!cacheMs || typeof claims.exp !== 'number') return;
    // Never longer than a fetched key is trusted either: a deleted key stops working within
    // JWT_JWKS_CACHE_MS + JWT_VERIFIED_CACHE_MS.
    const until = Math.min(
      Date.now() + Math.min(cacheMs, opts.jwksCacheMs),
      (claims.exp + opts.clockToleranceS) * 1000,
    );
    if (until <= Date.now()) return;
    if (verified.size >= VERIFIED_CACHE_ENTRIES) verified.delete(verified.keys().next().value!);
    verified.set(token, { claims, until });
  }

  async function authorize(ctx: Context, level: AuthLevel): Promise<Identity | undefined> {
    const presented = /^Bearer\s+\S+/i.test(ctx.get('authorization'));
    if (!presented) {
      if (level === 'public') return undefined;
      throw new HttpProblem(
        401,
        'unauthorized',
        'Authentication required',
        'This route needs a Bearer access token',
        {},
        { 'WWW-Authenticate': BEARER_CHALLENGE },
      );
    }
    if (!verify) {
      if (level === 'public') return undefined;
      throw problems.unavailable('Sign-in is unavailable: the users service is not configured');
    }
    // The token as koa-jwt reads it ("Bearer <token>", one space); any other form always goes to koa-jwt.
    const parts = ctx.get('authorization').split(' ');
    const token = parts.length === 2 && /^Bearer$/i.test(parts[0]!) ? parts[1]! : '';
    let claims = token ? cachedClaims(token) : undefined;
    let error: { isEndpointUnavailable?: boolean } | undefined;
    if (!claims) {
      await verify(ctx, noop as unknown as Next);
      claims = ctx.state.jwt as Record<string, unknown> | undefined;
      error = ctx.state.jwtOriginalError as { isEndpointUnavailable?: boolean } | undefined;
      delete ctx.state.jwt;
      delete ctx.state.jwtOriginalError;
      if (token && claims && !error) remember(token, claims);
    }
    // jsonwebtoken checks exp only when present: a token without one would never expire, so it is refused.
    const lacksExpiry = claims !== undefined && typeof claims.exp !== 'number';
    const identity = claims && !lacksExpiry ? identityFromClaims(claims) : undefined;
    if (!identity) {
      // On a public route a bad token is ignored (the caller is simply anonymous).
      if (level === 'public') return undefined;
      if (error?.isEndpointUnavailable)
        throw problems.unavailable('Tokens cannot be verified right now: the users service key set is unreachable');
      if (lacksExpiry) throw invalidToken('The token has no expiry (exp)');
      throw invalidToken(error ? describeTokenError(error) : 'The token lacks a subject or a known role');
    }
    if (!hasLevel(identity, level)) {
      throw new HttpProblem(403, 'insufficient-role', 'Forbidden', `This route requires the ${level} role`);
    }
    return identity;
  }

  return { authorize };
}
