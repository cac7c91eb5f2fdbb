// The buyer's orders (identity forwarded by the gateway).
import Router from '@koa/router';
import { idempotencyKeyFrom, requireIdentity } from '@eventtickets/platform';
import type { OrderService } from '../use-cases/orders.ts';
import type { PayService } from '../use-cases/pay.ts';

export function ordersRouter(orders: OrderService, payments: PayService): Router {
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

  router.post('/api/orders/:id/pay', async (ctx) => {
    const { userId } = requireIdentity(ctx);
    const { paymentMethodId } = ctx.request.body as { paymentMethodId: string };
    const paid = await payments.pay(userId, ctx.params.id!, paymentMethodId, idempotencyKeyFrom(ctx));
    ctx.status = paid.status;
    if (paid.replayed) ctx.set('Idempotent-Replayed', 'true');
    ctx.body = paid.body;
  });

  return router;
}
