// Metrics: one prom-client registry per service, default process metrics and RED middleware by route template.
import client from 'prom-client';
import type { Context, Next } from 'koa';

export { client as prom };

export interface Metrics {
  registry: client.Registry;
  httpDuration: client.Histogram<'method' | 'route' | 'status_code'>;
  middleware: (ctx: Context, next: Next) => Promise<void>;
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
  async function middleware(ctx: Context, next: Next): Promise<void> {
    if (ctx.path === '/metrics') return next();
    const end = httpDuration.startTimer();
    try {
      await next();
    } finally {
      // Route templates keep label cardinality bounded; unmatched paths share one label.
      const route = (ctx.state.routeTemplate as string | undefined) ?? (ctx as any)._matchedRoute ?? 'unmatched';
      end({ method: ctx.method, route: String(route), status_code: String(ctx.status) });
    }
  }
  async function handler(ctx: Context): Promise<void> {
    ctx.type = registry.contentType;
    ctx.body = await registry.metrics();
  }
  return { registry, httpDuration, middleware, handler };
}
