// The gateway's Koa app: edge hygiene (identity headers stripped, request id, trace context, security
// headers, CORS), then either one of its own endpoints (health, metrics, contracts, docs, the app) or a
// routed API call: authenticate, rate-limit, stream to the owning service.
import Koa, { type Context, type Next } from 'koa';
import { observedRequestMiddleware, requestIdMiddleware } from '@eventtickets/platform/http';
import { createContract } from '@eventtickets/platform/contracts';
import { HttpProblem, problems } from '@eventtickets/platform/errors';
import { healthMiddleware } from '@eventtickets/platform/health';
import { redisReadiness } from '@eventtickets/platform/redis';
import { UPSTREAM_SERVICES } from './config.ts';
import type { GatewayDeps } from './deps.ts';
import { isAmbiguousPath, type Route } from './domain/routing.ts';
import { accessLogger } from './logging.ts';
import { stripIdentityHeaders } from './domain/headers.ts';
import { accountOf, readBodyBounded } from './proxy/body.ts';
import { corsMiddleware, securityHeaderList } from './web/security.ts';
import { createFrontend } from './web/frontend.ts';
import { isDocsPath, serveDocs } from './docs/swagger-ui.ts';
import { createOpenApiAggregator } from './docs/openapi-merge.ts';

export const CONTRACT_FILE = new URL('../openapi.yaml', import.meta.url).pathname;

export async function createApp(deps: GatewayDeps): Promise<Koa> {
  const { config, logger, metrics, table, upstreams, dispatcher, auth, limits, proxy, streams } = deps;
  // Its own pages beyond the contract (the app, its SPA fallback, the docs assets) pass through.
  const contract = await createContract(CONTRACT_FILE, { unknownRoutes: 'pass' });
  const merged = createOpenApiAggregator({
    services: UPSTREAM_SERVICES,
    upstreams,
    table,
    gatewayDocument: contract.document,
    dispatcher,
    fetchTimeoutMs: Math.min(config.UPSTREAM_TIMEOUT_MS, 2_000),
    cacheMs: config.OPENAPI_CACHE_MS,
    logger,
  });
  const frontend = createFrontend(config.FRONTEND_DIR);

  async function proxyRoute(ctx: Context, route: Route): Promise<void> {
    ctx.state.routeTemplate = route.template;
    await limits.checkClient(ctx, { limitClass: route.rateLimit, ip: ctx.ip });
    const identity = await auth.authorize(ctx, route.auth);
    let body: Buffer | undefined;
    let account: string | undefined;
    if (route.rateLimit === 'login') {
      body = await readBodyBounded(ctx.req, config.BODY_LIMIT);
      account = accountOf(body);
    }
    await limits.check(ctx, { limitClass: route.rateLimit, identity, account });
    // A fan-out stream is the same for everyone: served from the path's shared upstream stream, and no
    // identity goes with it.
    if (route.fanout) await streams.serve(ctx, route);
    else await proxy.forward(ctx, route, { identity, body });
  }

  async function api(ctx: Context): Promise<void> {
    if (ctx.path === '/api/openapi.json') {
      ctx.state.routeTemplate = '/api/openapi.json';
      if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
        ctx.set('Allow', 'GET, HEAD, OPTIONS');
        if (ctx.method === 'OPTIONS') {
          ctx.status = 204;
          return;
        }
        throw new HttpProblem(
          405,
          'method-not-allowed',
          'Method not allowed',
          `${ctx.method} is not allowed on /api/openapi.json`,
          {},
          { Allow: 'GET, HEAD, OPTIONS' },
        );
      }
      ctx.set('Cache-Control', 'no-cache');
      ctx.body = (await merged.get()).document;
      return;
    }
    if (isAmbiguousPath(ctx.path))
      throw problems.badRequest('The path has dot segments, empty segments or encoded separators', 'ambiguous-path');
    const match = table.match(ctx.method === 'OPTIONS' ? 'GET' : ctx.method, ctx.path);
    if (!match) throw problems.notFound(`No route for ${ctx.method} ${ctx.path}`);
    if (ctx.method === 'OPTIONS' || match.kind === 'method-not-allowed') {
      // Exactly the methods the table routes for this path: the table carries each path's methods as the
      // owning service's contract has them (a test checks the two agree).
      const template = match.kind === 'route' ? match.route.template : match.template;
      const allow = [...table.allow(ctx.path), 'OPTIONS'];
      ctx.state.routeTemplate = template;
      ctx.set('Allow', allow.join(', '));
      if (ctx.method === 'OPTIONS') {
        ctx.status = 204; // not a CORS preflight from an allowed origin (that is answered earlier): just say what is allowed
        return;
      }
      throw new HttpProblem(
        405,
        'method-not-allowed',
        'Method not allowed',
        `${ctx.method} is not allowed on ${template}`,
        {},
        { Allow: allow.join(', ') },
      );
    }
    await proxyRoute(ctx, match.route);
  }

  const app = new Koa({ proxy: config.TRUST_PROXY, maxIpsCount: 1 });
  app.silent = true;
  // Every layer below costs each request a promise and a hop; the edge's own steps that only set headers or
  // pick a branch share layers (same order as before: identity headers stripped, request id, access log,
  // metrics, errors (one platform layer); then security headers, CORS, health, /metrics, the API).
  const requestId = requestIdMiddleware();
  app.use((ctx: Context, next: Next) => {
    // First of all: nobody outside may speak for a user, whatever the route.
    stripIdentityHeaders(ctx.req.headers);
    return requestId(ctx, next);
  });
  app.use(observedRequestMiddleware({ accessLogger: accessLogger(logger), errorLogger: logger, metrics }));
  const security = await securityHeaderList();
  const cors = corsMiddleware(config.CORS_ORIGINS);
  const health = healthMiddleware(deps.redis ? redisReadiness([deps.redis]) : {});
  const edge = (ctx: Context, next: Next): Promise<void> => {
    const path = ctx.path;
    if (path === '/healthz' || path === '/readyz') return health(ctx, next);
    if (path === '/metrics') {
      if (config.METRICS_PORT) throw problems.notFound('No /metrics here');
      if (ctx.method === 'GET') return metrics.handler(ctx);
    }
    if (path === '/api' || path.startsWith('/api/')) return api(ctx);
    return next();
  };
  app.use((ctx: Context, next: Next) => {
    const res = ctx.res;
    for (const [name, value] of security) res.setHeader(name, value);
    return cors(ctx, () => edge(ctx, next));
  });
  // The gateway's own pages, validated against its contract (serves /openapi.json too).
  app.use(contract.middleware);
  app.use(async (ctx: Context) => {
    if (isDocsPath(ctx.path)) return serveDocs(ctx);
    return frontend(ctx);
  });
  return app;
}
