// /api/auth/*: register, login, refresh, logout, the JWKS, and (admin) signing-key rotation.
import Router from '@koa/router';
import type { Context } from 'koa';
import { HttpProblem, requireRole } from '@eventtickets/platform';
import { register } from '../use-cases/register.ts';
import { login } from '../use-cases/login.ts';
import { clientKeyOf } from '../domain/client-key.ts';
import { logout, refreshSession } from '../use-cases/sessions.ts';
import type { UsersDeps } from '../deps.ts';

/** Aborts when the client closes the connection before its response is sent (a gateway timeout, a closed tab). */
function abandonedSignal(ctx: Context): AbortSignal {
  const controller = new AbortController();
  ctx.res.once('close', () => {
    if (!ctx.res.writableFinished) controller.abort();
  });
  return controller.signal;
}

function noStore(ctx: Context): void {
  // Token responses must never be cached by a proxy or the browser.
  ctx.set('Cache-Control', 'no-store');
}

export function authRouter(deps: UsersDeps): Router {
  const router = new Router();
  const metrics = deps.usersMetrics;
  const trustedHops = deps.config.TRUSTED_PROXY_HOPS;
  /** The client as the gateway saw it (its X-Forwarded-For entry), for the login and registration limits. */
  const clientOf = (ctx: Context) =>
    clientKeyOf(ctx.get('x-forwarded-for') || undefined, ctx.req.socket.remoteAddress, trustedHops);

  router.post('/api/auth/register', async (ctx) => {
    const body = ctx.request.body as {
      email: string;
      password: string;
      name: string;
      organizer?: boolean;
      phone?: string;
    };
    ctx.body = await register(deps, body, clientOf(ctx), abandonedSignal(ctx));
    metrics.registrations.inc();
    noStore(ctx);
    ctx.status = 201;
  });

  router.post('/api/auth/login', async (ctx) => {
    const body = ctx.request.body as { email: string; password: string };
    ctx.body = await login(deps, { ...body, client: clientOf(ctx), signal: abandonedSignal(ctx) }, (outcome) =>
      metrics.logins.inc({ outcome }),
    );
    noStore(ctx);
  });

  router.post('/api/auth/refresh', async (ctx) => {
    const { refreshToken } = ctx.request.body as { refreshToken: string };
    try {
      ctx.body = await refreshSession(deps, refreshToken);
      metrics.refreshes.inc({ outcome: 'success' });
    } catch (err) {
      if (err instanceof HttpProblem) metrics.refreshes.inc({ outcome: err.slug });
      throw err;
    }
    noStore(ctx);
  });

  router.post('/api/auth/logout', async (ctx) => {
    const { refreshToken } = ctx.request.body as { refreshToken: string };
    await logout(deps, refreshToken);
    ctx.status = 204;
  });

  const jwks = async (ctx: Context) => {
    ctx.body = await deps.keys.publicJwks();
    // Short cache: verifiers refetch on an unknown kid anyway, and removed keys disappear within a minute.
    ctx.set('Cache-Control', 'public, max-age=60');
  };
  router.get('/api/auth/jwks.json', jwks);
  router.get('/.well-known/jwks.json', jwks);

  router.get('/api/auth/keys', async (ctx) => {
    requireRole(ctx, 'admin');
    ctx.body = { source: deps.keys.source, keys: await deps.keys.list() };
  });
  router.post('/api/auth/keys/rotate', async (ctx) => {
    const admin = requireRole(ctx, 'admin');
    const key = await deps.keys.rotate();
    deps.logger.info({ actorId: admin.userId, kid: key.kid }, 'signing key rotated');
    ctx.status = 201;
    ctx.body = key;
  });
  router.delete('/api/auth/keys/:kid', async (ctx) => {
    const admin = requireRole(ctx, 'admin');
    const force = ctx.query.force === 'true';
    const removed = await deps.keys.remove(ctx.params.kid!, { force });
    deps.logger.warn({ actorId: admin.userId, force, ...removed }, 'signing key removed');
    ctx.body = removed;
  });

  return router;
}
