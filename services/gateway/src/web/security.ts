// Browser-facing hardening: security headers with a CSP under which the app and Swagger UI work (all
// scripts and styles are served by us: no CDN, no inline scripts), and CORS for the configured origins.
import type { Context, Middleware } from 'koa';
import helmet from 'koa-helmet';
import cors from '@koa/cors';

export function securityHeaders(): Middleware {
  return helmet({
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
  });
}

export const EXPOSED_HEADERS = ['x-request-id', 'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'Location'];

export function corsMiddleware(allowedOrigins: string[]): Middleware {
  const any = allowedOrigins.includes('*');
  const allowed = new Set(allowedOrigins);
  return cors({
    // Returning '' means "no CORS headers": the browser then blocks the cross-origin read.
    origin: (ctx: Context) => {
      const origin = ctx.get('origin');
      if (!origin) return '';
      if (any) return '*';
      return allowed.has(origin) ? origin : '';
    },
    credentials: !any,
    allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'x-request-id', 'traceparent', 'tracestate', 'Last-Event-ID'],
    exposeHeaders: EXPOSED_HEADERS,
    maxAge: 600,
    keepHeadersOnError: true,
  });
}
