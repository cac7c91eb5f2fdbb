// The buyer's orders (identity forwarded by the gateway).
import Router from '@koa/router';
import { idempotencyKeyFrom, requireIdentity } from '@eventtickets/platform';
import type { OrderService } from '../use-cases/orders.ts';

export function ordersRouter(orders: OrderService): Router {
  const router = new Router();

  router.post('/api/orders', async (ctx) => {
    const { userId } = requireIdentity(ctx);
    const { holdId } = ctx.request.body as { holdId: string };
    const created = await orders.create(userId, holdId, idempotencyKeyFrom(ctx));
    ctx.status = created.status;
    ctx.set('Location', `/api/orders/${created.body.id}`);
    if (created.replayed) ctx.set('Idempotent-Replayed', 'true');
    ctx.body = created.body;
  });

  router.get('/api/orders', async (ctx) => {
    const { userId } = requireIdentity(ctx);
    ctx.body = { items: await orders.list(userId) };
  });

  router.get('/api/orders/:id', async (ctx) => {
    const { userId } = requireIdentity(ctx);
    ctx.body = await orders.getOwned(userId, ctx.params.id!);
  });

  return router;
}
