// Public holds, for the signed-in user (identity forwarded by the gateway).
import Router from '@koa/router';
import { requireIdentity } from '@eventtickets/platform';
import type { HoldRequest } from '../domain/types.ts';
import type { HoldService } from '../services/holds.ts';

export function holdsRouter(holds: HoldService): Router {
  const router = new Router();

  router.post('/api/holds', async (ctx) => {
    const { userId } = requireIdentity(ctx);
    const view = await holds.create(userId, ctx.request.body as HoldRequest);
    ctx.status = 201;
    ctx.set('Location', `/api/holds/${view.id}`);
    ctx.body = view;
  });

  router.get('/api/holds/:id', async (ctx) => {
    const { userId } = requireIdentity(ctx);
    ctx.body = await holds.getOwned(userId, ctx.params.id!);
  });

  router.delete('/api/holds/:id', async (ctx) => {
    const { userId } = requireIdentity(ctx);
    await holds.release(ctx.params.id!, userId);
    ctx.status = 204;
  });

  return router;
}
