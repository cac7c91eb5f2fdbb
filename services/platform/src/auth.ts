// Auth context: the gateway verifies tokens and forwards identity in headers that only it may set (it strips
// them from outside requests; NetworkPolicy lets only the gateway reach services). Services read them here.
import type { Context, Next } from 'koa';
import { problems } from './errors.ts';

export const IDENTITY_HEADERS = { userId: 'x-user-id', role: 'x-user-role', email: 'x-user-email' } as const;

export type Role = 'buyer' | 'organizer' | 'admin';

export interface Identity {
  userId: string;
  role: Role;
  email?: string;
}

export function identityFrom(ctx: Context): Identity | undefined {
  const userId = ctx.get(IDENTITY_HEADERS.userId);
  const role = ctx.get(IDENTITY_HEADERS.role) as Role;
  if (!userId || !['buyer', 'organizer', 'admin'].includes(role)) return undefined;
  return { userId, role, email: ctx.get(IDENTITY_HEADERS.email) || undefined };
}

/** Puts the forwarded identity (if any) on ctx.state.identity. */
export async function identityMiddleware(ctx: Context, next: Next): Promise<void> {
  ctx.state.identity = identityFrom(ctx);
  await next();
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
