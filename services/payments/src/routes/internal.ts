// Internal payments API for orders (reachable only inside the cluster). Reaching it is not enough: the caller
// must be the orders service (an internal token, subject svc:orders).
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import { idempotencyKeyFrom, requireService } from '@eventtickets/platform';
import type { IntentRequest } from '../domain/types.ts';
import type { IntentService } from '../use-cases/intents.ts';
import type { ReceiptService } from '../use-cases/receipts.ts';
import type { RefundRequestBody, RefundService } from '../use-cases/refunds.ts';

export function internalRouter(services: {
  intents: IntentService;
  refunds: RefundService;
  receipts: ReceiptService;
}): Router {
  const { intents, refunds, receipts } = services;
  const router = new Router();
  const ordersOnly = async (ctx: Context, next: Next) => {
    ctx.state.callerService = requireService(ctx, 'orders');
    await next();
  };
  // the receipt is also read by notifications, for the confirmation e-mail
  const receiptReaders = async (ctx: Context, next: Next) => {
    ctx.state.callerService = requireService(ctx, 'orders', 'notifications');
    await next();
  };

  router.post('/internal/intents', ordersOnly, async (ctx) => {
    const key = idempotencyKeyFrom(ctx, true)!;
    const created = await intents.create(ctx.state.callerService, ctx.request.body as IntentRequest, key);
    ctx.status = created.status;
    if (created.replayed) ctx.set('Idempotent-Replayed', 'true');
    ctx.body = created.body;
  });

  router.get('/internal/intents/:id', ordersOnly, async (ctx) => {
    ctx.body = await intents.get(ctx.params.id!);
  });

  router.post('/internal/intents/:id/confirm', ordersOnly, async (ctx) => {
    const { paymentMethodId } = ctx.request.body as { paymentMethodId: string };
    ctx.body = await intents.confirm(ctx.params.id!, paymentMethodId);
  });

  router.post('/internal/intents/:id/refunds', ordersOnly, async (ctx) => {
    const key = idempotencyKeyFrom(ctx, true)!;
    const done = await refunds.refund(
      ctx.state.callerService,
      ctx.params.id!,
      (ctx.request.body ?? {}) as RefundRequestBody,
      key,
    );
    ctx.status = done.status;
    if (done.replayed) ctx.set('Idempotent-Replayed', 'true');
    ctx.body = done.body;
  });

  router.get('/internal/orders/:orderId/receipt', receiptReaders, async (ctx) => {
    const orderId = ctx.params.orderId!;
    if (ctx.accepts('application/json', 'text/html') === 'text/html') {
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = await receipts.htmlForOrder(orderId);
    } else {
      ctx.body = await receipts.forOrder(orderId);
    }
  });

  return router;
}
