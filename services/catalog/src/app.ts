// The catalog Koa app: platform pipeline (request id, logs, metrics, problem+json, health, contract
// validation, identity) plus the venue and event routers. No I/O at import time.
import { fileURLToPath } from 'node:url';
import type Koa from 'koa';
import { createContract, createServiceApp, serviceReadiness } from '@eventtickets/platform';
import { migrations } from './db/migrations.ts';
import { SERVICE, type CatalogDeps } from './deps.ts';
import { eventRoutes } from './routes/events.ts';
import { venueRoutes } from './routes/venues.ts';

export const CONTRACT_FILE = fileURLToPath(new URL('../openapi.yaml', import.meta.url));

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
  for (const router of [venueRoutes(deps), eventRoutes(deps)]) app.use(router.routes()).use(router.allowedMethods());
  return app;
}
