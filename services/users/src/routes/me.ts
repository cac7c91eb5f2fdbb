// /api/me: the caller (identified by the gateway's headers) reads and edits their own profile.
import Router from '@koa/router';
import { requireIdentity } from '@eventtickets/platform';
import { getProfile, patchProfile } from '../use-cases/profile.ts';
import type { ProfilePatch } from '../domain/user.ts';
import type { UsersDeps } from '../deps.ts';

export function meRouter(deps: UsersDeps): Router {
  const router = new Router();
  router.get('/api/me', async (ctx) => {
    ctx.body = await getProfile(deps, requireIdentity(ctx).userId);
  });
  router.patch('/api/me', async (ctx) => {
    ctx.body = await patchProfile(deps, requireIdentity(ctx).userId, ctx.request.body as ProfilePatch);
  });
  return router;
}
