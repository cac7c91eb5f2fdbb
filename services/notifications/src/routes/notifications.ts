// The signed-in user's messages.
import Router from '@koa/router';
import { requireIdentity } from '@eventtickets/platform';
import type { History } from '../use-cases/history.ts';

export function notificationsRouter(history: History): Router {
  const router = new Router();
  router.get('/api/notifications', async (ctx) => {
    const limit = ctx.query.limit === undefined ? 50 : Number(ctx.query.limit);
    ctx.body = { items: await history.list(requireIdentity(ctx).userId, limit) };
  });
  return router;
}
