// The one way a component test builds a service the way its main.ts does: the suite's config (a fresh
// database, the shared Redis masters under a unique prefix, the test identity secret, silent logs) and then
// createDeps → migrate → createApp → startWorkers on a free port, with a contract-checking client.
import type Koa from 'koa';
import { createContract, type Contract } from '../contracts.ts';
import { loadConfig, type z } from '../config.ts';
import { migrate, type Migration, type Sequelize } from '../db.ts';
import { listen, type Lifecycle, type RunningServer } from '../http.ts';
import { createLogger, type Logger } from '../logger.ts';
import { createContractClient, TEST_INTERNAL_TOKEN_SECRET, type Call } from './contract-client.ts';
import { createTestDatabase, requireRedis, uniqueSuffix } from './harness.ts';

/**
 * Validated config of a suite: DATABASE_URL (a fresh database named after the service), REDIS_URL (the shared
 * masters; an explicitly empty REDIS_URL in env is the in-memory mode and needs none), a unique REDIS_PREFIX,
 * LOG_LEVEL silent and INTERNAL_TOKEN_SECRET, overridden by env.
 */
export async function serviceTestConfig<S extends z.ZodType>(
  ctx: Mocha.Context,
  service: string,
  schema: S,
  env: Record<string, string> = {},
): Promise<z.infer<S>> {
  const redis = env.REDIS_URL === '' ? [] : requireRedis(ctx);
  return loadConfig(schema, {
    DATABASE_URL: await createTestDatabase(ctx, service),
    REDIS_URL: redis.join(','),
    REDIS_PREFIX: `t${uniqueSuffix()}:`,
    LOG_LEVEL: 'silent',
    INTERNAL_TOKEN_SECRET: TEST_INTERNAL_TOKEN_SECRET,
    ...env,
  } as NodeJS.ProcessEnv);
}

/** What a service's deps must offer for the harness to run and stop it. */
export interface ServiceDepsShape {
  db: Sequelize;
  lifecycle?: Lifecycle;
  close: () => Promise<void>;
}

export interface ServiceParts<C, D extends ServiceDepsShape, O> {
  service: string;
  createDeps: (config: C, overrides: O & { logger?: Logger }) => D | Promise<D>;
  migrations: Migration[];
  createApp: (deps: D) => Promise<Koa>;
  startWorkers?: (deps: D) => Promise<{ stop: () => Promise<void> | void }>;
  contractFile: string;
}

export interface InProcessService<D> {
  url: string;
  /** Calls to this instance; every response is checked against its openapi.yaml. */
  call: Call;
  deps: D;
  server: RunningServer;
  /** Graceful stop, as on SIGTERM: long-lived streams end, the server drains, workers stop, pools close. */
  stop: () => Promise<void>;
}

const contracts = new Map<string, Promise<Contract>>();

/** Starts one replica of a service in this process, exactly as its main.ts wires it. */
export async function startServiceInProcess<C, D extends ServiceDepsShape, O extends object>(
  parts: ServiceParts<C, D, O>,
  config: C,
  overrides: O = {} as O,
): Promise<InProcessService<D>> {
  const logger = createLogger(parts.service, { level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const deps = await parts.createDeps(config, { logger, ...overrides });
  await migrate(deps.db, parts.migrations);
  const app = await parts.createApp(deps);
  const workers = parts.startWorkers ? await parts.startWorkers(deps) : undefined;
  const server = await listen(app.callback(), 0);
  const file = parts.contractFile;
  if (!contracts.has(file)) contracts.set(file, createContract(file));
  const contract = await contracts.get(file)!;
  let stopped: Promise<void> | undefined;
  return {
    url: server.url,
    call: createContractClient(server.url, contract, { service: parts.service }),
    deps,
    server,
    stop: () =>
      (stopped ??= (async () => {
        deps.lifecycle?.shutdown();
        await server.close(2_000);
        await workers?.stop();
        await deps.close();
      })()),
  };
}
