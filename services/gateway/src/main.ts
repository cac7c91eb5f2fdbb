// Gateway entry point: config (fail fast), dependencies, the HTTP server, the metrics-only listener when
// METRICS_PORT is set, and a graceful shutdown (in-flight requests drain, then pools, Redis and the
// batched log close). No database, no migrations, no workers: the gateway keeps no state of its own.
import { loadConfigOrExit } from '@eventtickets/platform/config';
import { runService } from '@eventtickets/platform/http';
import { configSchema } from './config.ts';
import { createDeps } from './deps.ts';
import { createApp } from './app.ts';
import { startMetricsServer } from './metrics.ts';

const config = loadConfigOrExit(configSchema);
const deps = await createDeps(config);
const app = await createApp(deps);
const metricsServer = await startMetricsServer(deps);
await runService({
  service: 'gateway',
  logger: deps.logger,
  app,
  port: config.PORT,
  host: config.HOST,
  lifecycle: deps.lifecycle, // live streams end first, so the server can drain
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  closers: [() => metricsServer.stop(), () => deps.close()],
});
