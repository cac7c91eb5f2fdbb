// The catalog Koa app: platform pipeline (request id, logs, metrics, problem+json, health, contract
// validation, identity) plus the venue and event routers. No I/O at import time.
import { fileURLToPath } from 'node:url';
import type Koa from 'koa';
import { createContract, createServiceApp, serviceReadiness } from '@eventtickets/platform';
import { migrations } from './db/migrations.ts';
import { SERVICE, type CatalogDeps } from './deps.ts';
import { eventDetailHandler, eventRoutes } from './routes/events.ts';
import { venueRoutes } from './routes/venues.ts';

export const CONTRACT_FILE = fileURLToPath(new URL('../openapi.yaml', import.meta.url));
const DETAIL_PREFIX = '/api/events/';

export async function createApp(deps: CatalogDeps): Promise<Koa> {
  const contract = await createContract(CONTRACT_FILE);
  const app = createServiceApp({
    service: SERVICE,
    logger: deps.logger,
    metrics: deps.metrics,
    contract,
    readiness: serviceReadiness(deps, migrations),
    jsonLimit: '2mb', // explicit seat maps of large venues
    internalTokenSecret: deps.config.INTERNAL_TOKEN_SECRET,
  });
  // The hot read (an on-sale's event detail): the contract has matched and validated it already
  // (ctx.state.routeTemplate), so it goes straight to its handler instead of through both routers, whose matching
  // (every route's pattern, the Host header, params) was ~10 % of a cached detail's CPU. Anything else, or an id
  // that is not one plain segment, goes through the routers as before.
  const detail = eventDetailHandler(deps);
  app.use((ctx, next) => {
    if (ctx.method === 'GET' && ctx.state.routeTemplate === '/api/events/{id}') {
      const segment = ctx.path.slice(DETAIL_PREFIX.length);
      if (ctx.path.startsWith(DETAIL_PREFIX) && segment !== '' && !segment.includes('/')) {
        let id: string | undefined;
        try {
          id = decodeURIComponent(segment); // the contract refuses a segment that does not decode
        } catch {
          return next();
        }
        ctx.params = { id };
        return detail(ctx);
      }
    }
    return next();
  });
  for (const router of [venueRoutes(deps), eventRoutes(deps)]) app.use(router.routes()).use(router.allowedMethods());
  return app;
}
