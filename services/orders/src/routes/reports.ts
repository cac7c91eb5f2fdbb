// Cancellation, the receipt and an event's sales.
import Router from '@koa/router';
import { idempotencyKeyFrom, requireIdentity, requireRole } from '@eventtickets/platform';
import type { CancelService } from '../use-cases/cancel.ts';
import type { ReportService } from '../use-cases/reports.ts';

export function reportsRouter(cancels: CancelService, reports: ReportService): Router {
  const router = new Router();

  router.post('/api/orders/:id/cancel', async (ctx) => {
    const { userId } = requireIdentity(ctx);
    const done = await cancels.cancel(userId, ctx.params.id!, idempotencyKeyFrom(ctx));
    ctx.status = done.status;
    if (done.replayed) ctx.set('Idempotent-Replayed', 'true');
    ctx.body = done.body;
  });

  router.get('/api/orders/:id/receipt', async (ctx) => {
    const { userId } = requireIdentity(ctx);
    const html = ctx.accepts('application/json', 'text/html') === 'text/html';
    const receipt = await reports.receipt(userId, ctx.params.id!, html);
    ctx.set('Cache-Control', 'private, no-store');
    ctx.type = html ? 'text/html; charset=utf-8' : 'application/json';
    ctx.body = html ? String(receipt.body) : receipt.body;
  });

  router.get('/api/events/:id/sales', async (ctx) => {
    const caller = requireRole(ctx, 'organizer');
    ctx.body = await reports.sales(caller, ctx.params.id!);
  });

  return router;
}
