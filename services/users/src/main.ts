// Users entry point: config (fail fast), dependencies, migrations, start-up steps (signing key, demo accounts),
// HTTP server, background workers (outbox relay, maintenance), and a graceful shutdown.
import { loadConfigOrExit, migrate, runService } from '@eventtickets/platform';
import { configSchema } from './config.ts';
import { createDeps, SERVICE } from './deps.ts';
import { migrations } from './db/migrations.ts';
import { prepareStart } from './use-cases/start-up.ts';
import { createApp } from './app.ts';
import { startWorkers } from './workers.ts';

const config = loadConfigOrExit(configSchema);
const deps = await createDeps(config);
const applied = await migrate(deps.db, migrations);
if (applied.length) deps.logger.info({ applied }, 'migrations applied');
await prepareStart(deps);
const app = await createApp(deps);
const workers = await startWorkers(deps);
await runService({
  service: SERVICE,
  logger: deps.logger,
  app,
  port: config.PORT,
  host: config.HOST,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  closers: [() => workers.stop(), () => deps.close()],
});
