// Catalog entry point: config (fail fast), dependencies, migrations, HTTP server, the outbox relay, and a
// graceful shutdown (in-flight requests drain, the relay stops, connections close).
import { loadConfigOrExit, migrate, runService } from '@eventtickets/platform';
import { configSchema } from './config.ts';
import { createDeps, SERVICE } from './deps.ts';
import { migrations } from './db/migrations.ts';
import { createApp } from './app.ts';
import { startWorkers } from './workers.ts';

const config = loadConfigOrExit(configSchema);
const deps = await createDeps(config);
const applied = await migrate(deps.db, migrations);
if (applied.length) deps.logger.info({ applied }, 'migrations applied');
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
