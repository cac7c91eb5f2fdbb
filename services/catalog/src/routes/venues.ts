// Venue routes (organizer only: a venue is the organizer's working material; buyers see it through events).
import { Router } from '@koa/router';
import { requireRole } from '@eventtickets/platform';
import type { UseCaseDeps } from '../use-cases/context.ts';
import {
  createVenue,
  getOwnVenue,
  listOwnVenues,
  patchVenue,
  type VenueCreateBody,
  type VenuePatchBody,
} from '../use-cases/venues.ts';
import { venueBody, venueSummary } from '../use-cases/representation.ts';

export function venueRoutes(deps: UseCaseDeps): Router {
  const router = new Router();

  router.get('/api/venues', async (ctx) => {
    const identity = requireRole(ctx, 'organizer');
    const name = typeof ctx.query.name === 'string' ? ctx.query.name : undefined;
    ctx.body = { items: (await listOwnVenues(deps, identity, name)).map(venueSummary) };
  });

  router.post('/api/venues', async (ctx) => {
    const identity = requireRole(ctx, 'organizer');
    const venue = await createVenue(deps, identity, ctx.request.body as VenueCreateBody);
    ctx.status = 201;
    ctx.set('Location', `/api/venues/${venue.id}`);
    ctx.body = venueBody(venue);
  });

  router.get('/api/venues/:id', async (ctx) => {
    const identity = requireRole(ctx, 'organizer');
    ctx.body = venueBody(await getOwnVenue(deps, identity, ctx.params.id!));
  });

  router.patch('/api/venues/:id', async (ctx) => {
    const identity = requireRole(ctx, 'organizer');
    ctx.body = venueBody(await patchVenue(deps, identity, ctx.params.id!, ctx.request.body as VenuePatchBody));
  });

  return router;
}
