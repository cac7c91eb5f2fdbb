// Notifications entry point: config (fail fast), dependencies, migrations, HTTP server, background workers, and a
// graceful shutdown.
import { loadConfigOrExit, migrate, runService } from '@eventtickets/platform';
import { configSchema } from './config.ts';
import { createDeps, SERVICE } from './deps.ts';
import { migrations } from './db/migrations.ts';
import { createApp } from './app.ts';
import { startWorkers } from './workers.ts';

const config = loadConfigOrExit(configSchema);
const deps = await createDeps(config);
await migrate(deps.db, migrations);
const app = await createApp(deps);
const workers = await startWorkers(deps);
await runService({
  service: SERVICE,
  logger: deps.logger,
  app,
  port: config.PORT,
  host: config.HOST,
  lifecycle: deps.lifecycle,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  closers: [() => workers.stop(), () => deps.close()],
});
