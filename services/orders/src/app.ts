// The orders HTTP app: the platform pipeline (contract validation, problem+json, health, metrics, identity)
// plus its routers. No I/O happens here beyond reading the contract file.
import { fileURLToPath } from 'node:url';
import type Koa from 'koa';
import { createContract, createServiceApp, serviceReadiness } from '@eventtickets/platform';
import { migrations } from './db/migrations.ts';
import { SERVICE, type OrdersDeps } from './deps.ts';
import { ordersRouter } from './routes/orders.ts';
import { reportsRouter } from './routes/reports.ts';
import { ticketsRouter } from './routes/tickets.ts';

export const contractFile = fileURLToPath(new URL('../openapi.yaml', import.meta.url));

export async function createApp(deps: OrdersDeps): Promise<Koa> {
  const contract = await createContract(contractFile);
  const app = createServiceApp({
    service: SERVICE,
    logger: deps.logger,
    metrics: deps.metrics,
    contract,
    internalTokenSecret: deps.config.INTERNAL_TOKEN_SECRET,
    readiness: serviceReadiness(deps, migrations),
  });
  for (const router of [
    ordersRouter(deps.orders, deps.pay),
    ticketsRouter(deps.tickets),
    reportsRouter(deps.cancels, deps.reports),
  ]) {
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
  return app;
}
