// Internal hold operations for orders (reachable only inside the cluster; NetworkPolicy keeps the gateway out).
// Reaching them is not enough: the caller must be the orders service (an internal token, subject svc:orders).
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import { requireService } from '@eventtickets/platform';
import type { HoldService } from '../use-cases/holds.ts';

export function internalRouter(holds: HoldService): Router {
  const router = new Router();
  const ordersOnly = async (ctx: Context, next: Next) => {
    requireService(ctx, 'orders');
    await next();
  };

  router.get('/internal/holds/:id', ordersOnly, async (ctx) => {
    ctx.body = await holds.get(ctx.params.id!);
  });

  router.post('/internal/holds/:id/confirm', ordersOnly, async (ctx) => {
    // The contract requires orderId: a confirmation always belongs to exactly one order.
    const { orderId } = ctx.request.body as { orderId: string };
    ctx.body = await holds.confirm(ctx.params.id!, orderId);
  });

  router.post('/internal/holds/:id/return', ordersOnly, async (ctx) => {
    const { orderId } = ctx.request.body as { orderId: string };
    ctx.body = await holds.returnSeats(ctx.params.id!, orderId);
  });

  router.post('/internal/holds/:id/release', ordersOnly, async (ctx) => {
    ctx.body = await holds.release(ctx.params.id!);
  });

  return router;
}
