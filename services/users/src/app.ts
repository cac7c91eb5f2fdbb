// The users Koa app: the platform pipeline (contract validation, problem+json, health, metrics) plus routers.
import { fileURLToPath } from 'node:url';
import type Koa from 'koa';
import { createContract, createServiceApp, databaseReadiness, type Contract, type ReadinessCheck } from '@eventtickets/platform';
import { migrations } from './db/migrations.ts';
import { authRouter } from './routes/auth.ts';
import { meRouter } from './routes/me.ts';
import { usersRouter } from './routes/users.ts';
import { createUsersMetrics } from './metrics.ts';
import type { UsersDeps } from './deps.ts';

export const openapiFile = fileURLToPath(new URL('../openapi.yaml', import.meta.url));

export function loadContract(): Promise<Contract> {
  return createContract(openapiFile);
}

/** extraReadiness: checks beyond the database (main.ts adds Redis when the bus uses it). */
export async function createApp(deps: UsersDeps & { contract?: Contract; extraReadiness?: Record<string, ReadinessCheck> }): Promise<Koa> {
  const contract = deps.contract ?? (await loadContract());
  const app = createServiceApp({ service: 'users', logger: deps.logger, metrics: deps.metrics, contract, readiness: { ...databaseReadiness(deps.db, migrations), ...deps.extraReadiness }, jsonLimit: '16kb' });
  const metrics = createUsersMetrics(deps.metrics);
  for (const router of [authRouter(deps, metrics), meRouter(deps), usersRouter(deps)]) {
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
  return app;
}
