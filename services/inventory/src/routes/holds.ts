// Public holds, for the signed-in user (identity forwarded by the gateway).
import Router from '@koa/router';
import { idempotencyKeyFrom, requireIdentity } from '@eventtickets/platform';
import type { HoldRequest } from '../domain/types.ts';
import type { HoldService } from '../use-cases/holds.ts';

export function holdsRouter(holds: HoldService): Router {
  const router = new Router();

  router.post('/api/holds', async (ctx) => {
    const { userId } = requireIdentity(ctx);
    const created = await holds.create(userId, ctx.request.body as HoldRequest, idempotencyKeyFrom(ctx));
    ctx.status = created.status;
    ctx.set('Location', `/api/holds/${created.body.id}`);
    // A replay answers the first attempt's response as it was; GET /api/holds/{id} shows the hold now.
    if (created.replayed) ctx.set('Idempotent-Replayed', 'true');
    ctx.body = created.body;
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
