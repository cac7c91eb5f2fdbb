// Browser-facing hardening: security headers with a CSP under which the app and Swagger UI work (all
// scripts and styles are served by us: no CDN, no inline scripts), and CORS for the configured origins.
import type { Context, Middleware } from 'koa';
import helmet from 'koa-helmet';
import cors from '@koa/cors';

const helmetOptions: Parameters<typeof helmet>[0] = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      scriptSrcAttr: ["'none'"],
      // Swagger UI and Quasar set style attributes from script; no inline <script> is ever needed.
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:', 'blob:'],
      fontSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      workerSrc: ["'self'"],
      manifestSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
  },
  // The API is called cross-origin by configured front-ends; CORS decides who may read it.
  crossOriginResourcePolicy: { policy: 'same-site' },
};

/** The headers helmet sets with these options. They do not depend on the request (no nonces), so they are
 *  computed once by running helmet against a recording response, and each request just copies them: helmet
 *  stays the single source of the policy while the hot proxy path skips its dozen middleware hops. */
export async function helmetHeaders(): Promise<Array<[string, string]>> {
  const recorded = new Map<string, string>();
  const recorder = {
    setHeader: (name: string, value: string) => void recorded.set(name, String(value)),
    removeHeader: (name: string) => void recorded.delete(name),
    getHeader: (name: string) => recorded.get(name),
  };
  const middleware = helmet(helmetOptions);
  await middleware({ req: { method: 'GET', headers: {}, url: '/' }, res: recorder } as any, async () => undefined);
  return [...recorded.entries()];
}

/** helmetHeaders, checked: a policy without a Content-Security-Policy stops the gateway at start. */
export async function securityHeaderList(): Promise<Array<[string, string]>> {
  const headers = await helmetHeaders();
  if (!headers.some(([name]) => name.toLowerCase() === 'content-security-policy'))
    throw new Error('helmet produced no Content-Security-Policy');
  return headers;
}

export const EXPOSED_HEADERS = [
  'x-request-id',
  'Retry-After',
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
  'Location',
];

export function corsMiddleware(allowedOrigins: string[]): Middleware {
  const any = allowedOrigins.includes('*');
  const allowed = new Set(allowedOrigins);
  const withOrigin = cors({
    // Returning '' means "no CORS headers": the browser then blocks the cross-origin read.
    origin: (ctx: Context) => {
      const origin = ctx.get('origin');
      if (!origin) return '';
      if (any) return '*';
      return allowed.has(origin) ? origin : '';
    },
    credentials: !any,
    allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowHeaders: [
      'Authorization',
      'Content-Type',
      'Idempotency-Key',
      'x-request-id',
      'traceparent',
      'tracestate',
      'Last-Event-ID',
    ],
    exposeHeaders: EXPOSED_HEADERS,
    maxAge: 600,
    keepHeadersOnError: true,
  });
  // Without an Origin header @koa/cors only adds `Vary: Origin` and goes on (its origin function answers ''):
  // done here without its async hop, so the API calls of non-browser clients and same-origin pages pay nothing.
  return function corsOrNot(ctx, next) {
    if (ctx.req.headers.origin) return withOrigin(ctx, next);
    ctx.vary('Origin');
    return next();
  };
}
