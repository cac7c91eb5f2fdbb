// Metrics: one prom-client registry per service, default process metrics and RED middleware by route template.
import client from 'prom-client';
import type { Context, Next } from 'koa';

export { client as prom };

export interface Metrics {
  registry: client.Registry;
  httpDuration: client.Histogram<'method' | 'route' | 'status_code'>;
  /** Requests being served now (saturation, next to the event loop lag and CPU). */
  httpActive: client.Gauge;
  middleware: (ctx: Context, next: Next) => Promise<void>;
  /** What `middleware` records when a request ends (for a pipeline that times the request itself). */
  observeRequest: (ctx: Context, seconds: number) => void;
  handler: (ctx: Context) => Promise<void>;
}

export function createMetrics(service: string, opts: { collectDefault?: boolean } = {}): Metrics {
  const registry = new client.Registry();
  registry.setDefaultLabels({ service });
  if (opts.collectDefault !== false) client.collectDefaultMetrics({ register: registry });
  const httpDuration = new client.Histogram({
    name: 'http_server_request_duration_seconds',
    help: 'Duration of HTTP requests served, by route template',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const httpActive = new client.Gauge({
    name: 'http_server_active_requests',
    help: 'HTTP requests being handled now (a live stream until its response starts)',
    registers: [registry],
  });
  function labelsOf(ctx: Context) {
    // Route templates keep label cardinality bounded; unmatched paths share one label.
    const route = (ctx.state.routeTemplate as string | undefined) ?? (ctx as any)._matchedRoute ?? 'unmatched';
    return { method: ctx.method, route: String(route), status_code: String(ctx.status) };
  }
  function observeRequest(ctx: Context, seconds: number): void {
    httpDuration.observe(labelsOf(ctx), seconds);
  }
  async function middleware(ctx: Context, next: Next): Promise<void> {
    if (ctx.path === '/metrics') return next();
    const end = httpDuration.startTimer();
    httpActive.inc();
    try {
      await next();
    } finally {
      httpActive.dec();
      end(labelsOf(ctx));
    }
  }
  async function handler(ctx: Context): Promise<void> {
    ctx.type = registry.contentType;
    ctx.body = await registry.metrics();
  }
  return { registry, httpDuration, httpActive, middleware, observeRequest, handler };
}

/**
 * redis_master_up{master="0".."n-1"}: 1 while the client of each Redis master (Redlock's independent masters,
 * in REDIS_URL order) has a ready connection, read at scrape time. Losing one of three leaves the quorum with
 * no margin; the alert says so before a second loss stops every hold.
 */
export function registerRedisMetrics(registry: client.Registry, clients: Array<{ status: string }>): void {
  if (!clients.length || registry.getSingleMetric('redis_master_up')) return;
  new client.Gauge({
    name: 'redis_master_up',
    help: 'Whether the connection to each Redis master (index in REDIS_URL) is ready: 1 up, 0 down',
    labelNames: ['master'] as const,
    registers: [registry],
    collect() {
      clients.forEach((c, i) => this.set({ master: String(i) }, c.status === 'ready' ? 1 : 0));
    },
  });
}
