// Access-token verification at the edge: koa-jwt + jwks-rsa against the users service's JWKS (keys cached,
// refetched on an unknown kid under a rate limit), issuer/audience checked, algorithms pinned, exp required. The result
// is an Identity the proxy forwards in the headers only the gateway sets.
import type { Context, Next } from 'koa';
import koaJwt from 'koa-jwt';
import jwksRsa from 'jwks-rsa';
import { HttpProblem, problems, type Identity, type Role } from '@eventtickets/platform';
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
}

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
    await verify(ctx, noop as unknown as Next);
    const claims = ctx.state.jwt as Record<string, unknown> | undefined;
    const error = ctx.state.jwtOriginalError as { isEndpointUnavailable?: boolean } | undefined;
    delete ctx.state.jwt;
    delete ctx.state.jwtOriginalError;
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
