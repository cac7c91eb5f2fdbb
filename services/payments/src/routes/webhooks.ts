// Provider webhooks: no identity, authenticated by their HMAC signature over the raw body (as received).
import Router from '@koa/router';
import { SIGNATURE_HEADER } from '../domain/webhook-signature.ts';
import type { WebhookService } from '../use-cases/webhooks.ts';

export function webhooksRouter(webhooks: WebhookService): Router {
  const router = new Router();

  router.post('/api/payments/webhooks/:provider', async (ctx) => {
    const raw = (ctx.request as { rawBody?: string }).rawBody ?? '';
    ctx.body = await webhooks.receive(ctx.params.provider!, raw, ctx.get(SIGNATURE_HEADER) || undefined);
  });

  return router;
}
