// The buyer's tickets and the door's check-in.
import Router from '@koa/router';
import { requireIdentity, requireRole, requireService } from '@eventtickets/platform';
import type { TicketService } from '../use-cases/tickets.ts';

export function ticketsRouter(tickets: TicketService): Router {
  const router = new Router();

  router.get('/api/tickets', async (ctx) => {
    ctx.body = { items: await tickets.list(requireIdentity(ctx).userId) };
  });

  router.get('/api/tickets/:id', async (ctx) => {
    ctx.body = await tickets.getOwned(requireIdentity(ctx).userId, ctx.params.id!);
  });

  router.get('/api/tickets/:id/qr.svg', async (ctx) => {
    const svg = await tickets.qrSvg(requireIdentity(ctx).userId, ctx.params.id!);
    ctx.type = 'image/svg+xml';
    ctx.set('Cache-Control', 'private, no-store');
    ctx.body = svg;
  });

  // notifications' e-mail carries each ticket's QR image: it reads the codes here, signed svc:notifications
  router.get('/internal/orders/:id/tickets', async (ctx) => {
    requireService(ctx, 'notifications');
    ctx.body = await tickets.ofOrder(ctx.params.id!);
  });

  router.post('/api/checkins', async (ctx) => {
    const staff = requireRole(ctx, 'organizer');
    const { code, eventId } = ctx.request.body as { code: string; eventId?: string };
    ctx.status = 201;
    ctx.body = await tickets.checkIn(staff, code, eventId);
  });

  return router;
}
