// Event routes: parse (the contract middleware has already validated shape) → use case → respond.
import { Router } from '@koa/router';
import type { Context } from 'koa';
import { requireRole, sendCacheableJson, type Identity } from '@eventtickets/platform';
import type { UseCaseDeps } from '../use-cases/context.ts';
import {
  cancelEvent,
  createEvent,
  patchEvent,
  publishEvent,
  type EventCreateBody,
  type EventFields,
} from '../use-cases/events.ts';
import { eventDetail, searchPage, type SearchParams } from '../use-cases/reads.ts';
import { eventBody } from '../use-cases/representation.ts';

function queryString(ctx: Context, name: string): string | undefined {
  const v = ctx.query[name];
  return typeof v === 'string' ? v : undefined;
}

/** The path id in its canonical (lower-case) form: cache keys and invalidations are built from it, so an
 *  edit through /api/events/ABC... must invalidate what a read through /api/events/abc... cached. */
function eventId(ctx: Context): string {
  return ctx.params.id!.toLowerCase();
}

/** GET /api/events/{id}: the cached detail (the app also calls it without the routers: app.ts). */
export function eventDetailHandler(deps: UseCaseDeps) {
  return async function eventDetailRoute(ctx: Context): Promise<void> {
    const rep = await eventDetail(deps, ctx.state.identity, eventId(ctx));
    sendCacheableJson(ctx, rep.text, rep.cacheControl, ['x-user-id']);
  };
}

export function eventRoutes(deps: UseCaseDeps): Router {
  const router = new Router();

  router.get('/api/events', async (ctx) => {
    const mine = queryString(ctx, 'mine') === 'true';
    const identity: Identity | undefined = mine ? requireRole(ctx, 'organizer') : ctx.state.identity;
    const limit = queryString(ctx, 'limit');
    const params: SearchParams = {
      q: queryString(ctx, 'q'),
      city: queryString(ctx, 'city'),
      category: queryString(ctx, 'category'),
      from: queryString(ctx, 'from'),
      to: queryString(ctx, 'to'),
      sort: queryString(ctx, 'sort') as SearchParams['sort'],
      limit: limit ? Number(limit) : undefined,
      cursor: queryString(ctx, 'cursor'),
      mine,
    };
    const page = await searchPage(deps, identity, params);
    sendCacheableJson(ctx, page.text, page.cacheControl, mine ? ['x-user-id'] : []);
  });

  router.get('/api/events/:id', eventDetailHandler(deps));

  router.post('/api/events', async (ctx) => {
    const identity = requireRole(ctx, 'organizer');
    const row = await createEvent(deps, identity, ctx.request.body as EventCreateBody);
    ctx.status = 201;
    ctx.set('Location', `/api/events/${row.id}`);
    ctx.body = eventBody(row, deps.now());
  });

  router.patch('/api/events/:id', async (ctx) => {
    const identity = requireRole(ctx, 'organizer');
    ctx.body = eventBody(await patchEvent(deps, identity, eventId(ctx), ctx.request.body as EventFields), deps.now());
  });

  router.post('/api/events/:id/publish', async (ctx) => {
    const identity = requireRole(ctx, 'organizer');
    ctx.body = eventBody(await publishEvent(deps, identity, eventId(ctx)), deps.now());
  });

  router.post('/api/events/:id/cancel', async (ctx) => {
    const identity = requireRole(ctx, 'organizer');
    ctx.body = eventBody(await cancelEvent(deps, identity, eventId(ctx)), deps.now());
  });

  return router;
}
