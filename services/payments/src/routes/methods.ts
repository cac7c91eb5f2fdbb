// Public payment methods for the signed-in user (identity forwarded by the gateway). The body holds a card:
// it goes to the use case and nowhere else (the access log records no bodies; nothing here logs).
import Router from '@koa/router';
import { requireIdentity } from '@eventtickets/platform';
import type { CardInput } from '../domain/card.ts';
import type { MethodService } from '../use-cases/methods.ts';

export function methodsRouter(methods: MethodService): Router {
  const router = new Router();

  router.post('/api/payments/methods', async (ctx) => {
    const { userId } = requireIdentity(ctx);
    const { card } = ctx.request.body as { card: CardInput };
    const created = await methods.tokenise(userId, card);
    ctx.status = 201;
    ctx.set('Location', `/api/payments/methods/${created.id}`);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = created;
  });

  router.get('/api/payments/methods', async (ctx) => {
    const { userId } = requireIdentity(ctx);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { items: await methods.list(userId) };
  });

  return router;
}
