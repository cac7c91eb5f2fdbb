// The gateway's own metrics (on its registry next to the platform's RED metrics, which already count every
// request by route template and status), and the metrics-only listener for METRICS_PORT.
// Counted on the refusal and failure paths only: the proxied hot path costs nothing more.
import Koa, { type Context } from 'koa';
import type { Logger, Metrics } from '@eventtickets/platform';
import { listen } from '@eventtickets/platform/http';
import { prom } from '@eventtickets/platform/metrics';
import type { GatewayConfig } from './config.ts';

export type UpstreamFailure = 'unconfigured' | 'unreachable' | 'timeout';

export interface GatewayMetrics {
  /** 429s, by the limit that was exhausted (ip, user, login, holds). */
  rateLimited: prom.Counter<'limit'>;
  /** Proxied calls that got no answer from their service, by upstream service and reason. */
  upstreamFailures: prom.Counter<'upstream' | 'reason'>;
  /** Viewers attached to fan-out hubs (live streams served from one shared upstream stream per path). */
  streamViewers: prom.Gauge;
  /** Open upstream streams of the fan-out hubs (one per watched path). */
  upstreamStreams: prom.Gauge;
  /** Viewers dropped because they stopped reading (they resume with Last-Event-ID). */
  streamViewersDropped: prom.Counter;
}

export function createGatewayMetrics(registry: prom.Registry): GatewayMetrics {
  const registers = [registry];
  return {
    rateLimited: new prom.Counter({
      name: 'gateway_rate_limited_total',
      help: 'Requests refused with 429, by exhausted limit',
      labelNames: ['limit'] as const,
      registers,
    }),
    upstreamFailures: new prom.Counter({
      name: 'gateway_upstream_failures_total',
      help: 'Proxied requests that got no answer from their service (503 unconfigured, 502 unreachable, 504 timeout)',
      labelNames: ['upstream', 'reason'] as const,
      registers,
    }),
    streamViewers: new prom.Gauge({
      name: 'gateway_stream_viewers',
      help: 'Viewers of fan-out live streams (availability) attached to this replica',
      registers,
    }),
    upstreamStreams: new prom.Gauge({
      name: 'gateway_upstream_streams',
      help: 'Shared upstream streams open on this replica (one per watched path, whatever the viewers)',
      registers,
    }),
    streamViewersDropped: new prom.Counter({
      name: 'gateway_stream_viewers_dropped_total',
      help: 'Fan-out viewers dropped because they stopped reading (they resume with Last-Event-ID)',
      registers,
    }),
  };
}

/** The metrics-only app for METRICS_PORT. */
export function createMetricsApp(metrics: Metrics): Koa {
  const app = new Koa();
  app.use(async (ctx: Context) => {
    if (ctx.path === '/metrics' && ctx.method === 'GET') return metrics.handler(ctx);
    ctx.status = 404;
  });
  return app;
}

/** With METRICS_PORT set, /metrics is served on that port only (see config.ts); otherwise nothing starts. */
export async function startMetricsServer(deps: {
  config: GatewayConfig;
  metrics: Metrics;
  logger: Logger;
}): Promise<{ stop: () => Promise<void> }> {
  const { config } = deps;
  if (!config.METRICS_PORT) return { stop: async () => {} };
  const server = await listen(createMetricsApp(deps.metrics).callback(), config.METRICS_PORT, config.HOST);
  deps.logger.info({ url: `${server.url}/metrics` }, 'metrics on their own port');
  return { stop: () => server.close(2_000) };
}
