// The inventory's HTTP app: the platform pipeline (contract validation, problem+json, health, metrics)
// plus its routers. No I/O happens here beyond reading the contract file.
import { fileURLToPath } from 'node:url';
import type Koa from 'koa';
import { createContract, createServiceApp, serviceReadiness } from '@eventtickets/platform';
import { migrations } from './db/migrations.ts';
import { SERVICE, type InventoryDeps } from './deps.ts';
import { availabilityRouter } from './routes/availability.ts';
import { holdsRouter } from './routes/holds.ts';
import { internalRouter } from './routes/internal.ts';

export const contractFile = fileURLToPath(new URL('../openapi.yaml', import.meta.url));

export async function createApp(deps: InventoryDeps): Promise<Koa> {
  const contract = await createContract(contractFile);
  const app = createServiceApp({
    service: SERVICE,
    logger: deps.logger,
    metrics: deps.metrics,
    contract,
    internalTokenSecret: deps.config.INTERNAL_TOKEN_SECRET,
    readiness: serviceReadiness(deps, migrations, { quorum: true }),
  });
  for (const router of [availabilityRouter(deps.hub), holdsRouter(deps.holds), internalRouter(deps.holds)]) {
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
  return app;
}
