// Gateway entry: config (fail-fast), Redis for rate limits (first REDIS_URL), the app, graceful shutdown.
import { closeRedis, createLogger, createMetrics, createRedis, listen, loadConfigOrExit, runService } from '@eventtickets/platform';
import { configSchema, upstreamUrls } from './config.ts';
import { createApp, createMetricsApp, createUpstreamAgent } from './app.ts';
import { batchedStdout } from './logging.ts';

const config = loadConfigOrExit(configSchema);
// Asynchronous, batched stdout (see logging.ts): the access log line of every request must not cost a
// write syscall on the hot path. Flushed on shutdown.
const logDestination = batchedStdout();
const logger = createLogger('gateway', { level: config.LOG_LEVEL, destination: logDestination });
const metrics = createMetrics('gateway');
// Offline queue off: while Redis is unreachable a limiter call fails at once and the in-memory
// insurance limiter answers, instead of requests queueing behind a reconnect.
const redis = config.REDIS_URL[0] ? createRedis(config.REDIS_URL[0], { enableOfflineQueue: false }) : undefined;
redis?.on('error', (err) => logger.warn({ err: err.message }, 'redis error (rate limits fall back to memory)'));
const dispatcher = createUpstreamAgent();
const app = await createApp({ config, logger, metrics, redis, dispatcher });
const configured = upstreamUrls(config);
logger.info({ upstreams: configured, rateLimits: redis ? 'redis' : 'memory', frontendDir: config.FRONTEND_DIR }, 'gateway configured');
const metricsServer = config.METRICS_PORT ? await listen(createMetricsApp(metrics).callback(), config.METRICS_PORT, config.HOST) : undefined;
if (metricsServer) logger.info({ url: `${metricsServer.url}/metrics` }, 'metrics on their own port');

await runService({
  service: 'gateway',
  logger,
  app,
  port: config.PORT,
  host: config.HOST,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  closers: [
    () => metricsServer?.close(2_000),
    () => dispatcher.close(),
    () => (redis ? closeRedis([redis]) : undefined),
    () => {
      try {
        logDestination.flushSync();
      } catch {
        /* not opened yet or already closed: nothing buffered */
      }
    },
  ],
});
