// Internal hold operations for orders (reachable only inside the cluster; NetworkPolicy keeps the gateway out).
import Router from '@koa/router';
import type { HoldService } from '../use-cases/holds.ts';

export function internalRouter(holds: HoldService): Router {
  const router = new Router();

  router.get('/internal/holds/:id', async (ctx) => {
    ctx.body = await holds.get(ctx.params.id!);
  });

  router.post('/internal/holds/:id/confirm', async (ctx) => {
    // The contract requires orderId: a confirmation always belongs to exactly one order.
    const { orderId } = ctx.request.body as { orderId: string };
    ctx.body = await holds.confirm(ctx.params.id!, orderId);
  });

  router.post('/internal/holds/:id/release', async (ctx) => {
    ctx.body = await holds.release(ctx.params.id!);
  });

  return router;
}
