// The users Koa app: the platform pipeline (contract validation, problem+json, health, metrics) plus routers.
import { fileURLToPath } from 'node:url';
import type Koa from 'koa';
import { createContract, createServiceApp, serviceReadiness, type Contract } from '@eventtickets/platform';
import { migrations } from './db/migrations.ts';
import { authRouter } from './routes/auth.ts';
import { meRouter } from './routes/me.ts';
import { usersRouter } from './routes/users.ts';
import { SERVICE, type UsersDeps } from './deps.ts';

export const openapiFile = fileURLToPath(new URL('../openapi.yaml', import.meta.url));

export function loadContract(): Promise<Contract> {
  return createContract(openapiFile);
}

export async function createApp(deps: UsersDeps): Promise<Koa> {
  const contract = await loadContract();
  // Redis is part of readiness only when the bus uses it.
  const readiness = serviceReadiness(deps, migrations);
  const app = createServiceApp({
    service: SERVICE,
    logger: deps.logger,
    metrics: deps.metrics,
    contract,
    readiness,
    jsonLimit: '16kb',
    internalTokenSecret: deps.config.INTERNAL_TOKEN_SECRET,
  });
  for (const router of [authRouter(deps), meRouter(deps), usersRouter(deps)]) {
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
  return app;
}
