// The payments HTTP app: the platform pipeline (contract validation, problem+json, health, metrics, identity)
// plus its routers. No I/O happens here beyond reading the contract file.
import { fileURLToPath } from 'node:url';
import type Koa from 'koa';
import { createContract, createServiceApp, serviceReadiness } from '@eventtickets/platform';
import { migrations } from './db/migrations.ts';
import { SERVICE, type PaymentsDeps } from './deps.ts';
import { internalRouter } from './routes/internal.ts';
import { methodsRouter } from './routes/methods.ts';
import { webhooksRouter } from './routes/webhooks.ts';

export const contractFile = fileURLToPath(new URL('../openapi.yaml', import.meta.url));

export async function createApp(deps: PaymentsDeps): Promise<Koa> {
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
    methodsRouter(deps.methods),
    webhooksRouter(deps.webhooks),
    internalRouter({ intents: deps.intents, refunds: deps.refunds, receipts: deps.receipts }),
  ]) {
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
  return app;
}
