// Auth context. The gateway verifies users' tokens and forwards the identity to the owning service in an
// internal token signed with INTERNAL_TOKEN_SECRET (internal-token.ts); services calling each other sign one
// too (subject svc:<name>). Reaching a service is not enough: identity headers without a valid token for this
// service are refused, so a process on the same host or pod network cannot claim to be an admin.
import type { Context, Next } from 'koa';
import { problems } from './errors.ts';
import { IDENTITY_HEADERS, type Identity, type Role } from './identity.ts';
import {
  callerOf,
  INTERNAL_TOKEN_CLOCK_TOLERANCE_S,
  INTERNAL_TOKEN_HEADER,
  InternalTokenError,
  internalTokenKey,
  verifyInternalToken,
  type Caller,
  type InternalTokenClaims,
} from './internal-token.ts';

export { IDENTITY_HEADERS, ROLES, type Identity, type Role } from './identity.ts';

/** Problem type of a refused internal token (or identity headers without one): 401. */
export const INVALID_INTERNAL_TOKEN = 'invalid-internal-token';

/** Never behind identity: probes, metrics and the contract. */
const OPEN_PATHS = new Set(['/healthz', '/readyz', '/metrics', '/openapi.json']);

export interface IdentityOptions {
  /** This service's name: tokens must be addressed to it (aud). */
  audience: string;
  /** INTERNAL_TOKEN_SECRET. Without it no identity is ever accepted (every token and identity header is refused). */
  secret?: string;
  /** Seconds since the epoch (tests). */
  now?: () => number;
}

function refused(detail: string) {
  return problems.unauthorized(detail, INVALID_INTERNAL_TOKEN);
}

/** Verified tokens remembered per middleware (one audience and key): at most this many, oldest dropped first. */
const VERIFIED_TOKENS = 10_000;

/** verifyInternalToken, remembering what verified: the gateway reuses a user's token for 5 s, so most requests
 *  present a token seen before. Only the exact string verified before can match (the signature is part of it);
 *  its time checks (exp, iat) run again on every use, and a token past them is verified again, which refuses it
 *  with the same reason as the first time would. */
function tokenVerifier(key: ReturnType<typeof internalTokenKey>, audience: string) {
  const verified = new Map<string, InternalTokenClaims>();
  return (token: string, now: number): InternalTokenClaims => {
    const hit = verified.get(token);
    if (hit) {
      if (now < hit.exp + INTERNAL_TOKEN_CLOCK_TOLERANCE_S && hit.iat <= now + INTERNAL_TOKEN_CLOCK_TOLERANCE_S)
        return hit;
      verified.delete(token);
    }
    const claims = verifyInternalToken(token, key, { audience, now });
    if (verified.size >= VERIFIED_TOKENS) verified.delete(verified.keys().next().value!);
    verified.set(token, claims);
    return claims;
  };
}

/**
 * Puts the verified caller on ctx.state: `identity` (the user a request acts for, if any) and `caller` (user
 * or service, with the token's issuer). A request with neither token nor identity headers is anonymous. A
 * token that does not verify, or identity headers without a token (or disagreeing with it), is a 401
 * invalid-internal-token before the body is read.
 */
export function identityMiddleware(opts: IdentityOptions) {
  const key = opts.secret ? internalTokenKey(opts.secret) : undefined;
  const verify = key ? tokenVerifier(key, opts.audience) : undefined;
  return async function identity(ctx: Context, next: Next): Promise<void> {
    ctx.state.identity = undefined;
    ctx.state.caller = undefined;
    if (OPEN_PATHS.has(ctx.path)) return next();
    const token = ctx.get(INTERNAL_TOKEN_HEADER);
    const claimed = {
      userId: ctx.get(IDENTITY_HEADERS.userId),
      role: ctx.get(IDENTITY_HEADERS.role),
      email: ctx.get(IDENTITY_HEADERS.email),
    };
    const claimsIdentity = !!(claimed.userId || claimed.role || claimed.email);
    if (!token) {
      if (claimsIdentity) throw refused(`Identity headers are accepted only with a valid ${INTERNAL_TOKEN_HEADER}`);
      return next();
    }
    if (!verify) throw refused('This service accepts no internal tokens (no INTERNAL_TOKEN_SECRET)');
    let caller: Caller;
    try {
      caller = callerOf(verify(token, opts.now?.() ?? Math.floor(Date.now() / 1000)));
    } catch (err) {
      if (err instanceof InternalTokenError) throw refused(`The ${INTERNAL_TOKEN_HEADER} is refused: ${err.message}`);
      throw err;
    }
    if (claimsIdentity) {
      const id = caller.kind === 'user' ? caller.identity : undefined;
      if (
        !id ||
        claimed.userId !== id.userId ||
        claimed.role !== id.role ||
        (claimed.email && claimed.email !== id.email)
      )
        throw refused(`The identity headers do not match the ${INTERNAL_TOKEN_HEADER}`);
    }
    ctx.state.caller = caller;
    ctx.state.identity = caller.kind === 'user' ? caller.identity : undefined;
    await next();
  };
}

/** The verified caller (user or service), if any. */
export function callerFrom(ctx: Context): Caller | undefined {
  return ctx.state.caller as Caller | undefined;
}

export function requireIdentity(ctx: Context): Identity {
  const identity = ctx.state.identity as Identity | undefined;
  if (!identity) throw problems.unauthorized();
  return identity;
}

export function requireRole(ctx: Context, ...roles: Role[]): Identity {
  const identity = requireIdentity(ctx);
  if (!roles.includes(identity.role) && identity.role !== 'admin')
    throw problems.forbidden(`Requires role ${roles.join(' or ')}`);
  return identity;
}

/**
 * For internal routes (/internal/...): the caller must be a service acting on its own behalf (subject
 * svc:<name>), one of `services` when given. No token: 401; a user's token or another service: 403
 * service-only. Returns the calling service's name.
 */
export function requireService(ctx: Context, ...services: string[]): string {
  const caller = callerFrom(ctx);
  if (!caller) throw problems.unauthorized(`Internal route: send a ${INTERNAL_TOKEN_HEADER} with subject svc:<name>`);
  if (caller.kind !== 'service')
    throw problems.forbidden('Internal route: only services may call it, not users', 'service-only');
  if (services.length && !services.includes(caller.service))
    throw problems.forbidden(`Internal route: only ${services.join(' or ')} may call it`, 'service-only');
  return caller.service;
}
