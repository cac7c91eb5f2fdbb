// The notifications HTTP app: the platform pipeline (contract validation, problem+json, health, metrics,
// identity) plus its router. No I/O happens here beyond reading the contract file.
import { fileURLToPath } from 'node:url';
import type Koa from 'koa';
import { createContract, createServiceApp, serviceReadiness } from '@eventtickets/platform';
import { migrations } from './db/migrations.ts';
import { SERVICE, type NotificationsDeps } from './deps.ts';
import { notificationsRouter } from './routes/notifications.ts';

export const contractFile = fileURLToPath(new URL('../openapi.yaml', import.meta.url));

export async function createApp(deps: NotificationsDeps): Promise<Koa> {
  const contract = await createContract(contractFile);
  const app = createServiceApp({
    service: SERVICE,
    logger: deps.logger,
    metrics: deps.metrics,
    contract,
    internalTokenSecret: deps.config.INTERNAL_TOKEN_SECRET,
    readiness: serviceReadiness(deps, migrations),
  });
  const router = notificationsRouter(deps.history);
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
