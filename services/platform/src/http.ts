// HTTP bootstrap: the common Koa pipeline every service's createApp() builds on, and the server runner
// with graceful shutdown used by main.ts (stop accepting, drain in-flight requests, close resources, exit 0).
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { symbols } from 'pino';
import Koa, { type Context, type Next } from 'koa';
import { bodyParser } from '@koa/bodyparser';
import { requestContext } from './context.ts';
import { inRequestTrace } from './tracing.ts';
import { errorMiddleware, HttpProblem, problemClientErrorHandler, problems } from './errors.ts';
import { healthMiddleware, type ReadinessCheck } from './health.ts';
import { identityMiddleware } from './auth.ts';
import type { Contract } from './contracts.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import { scheduleStartUpCollection } from './start-up-memory.ts';

export interface ServiceAppOptions {
  service: string;
  logger: Logger;
  metrics: Metrics;
  contract?: Contract;
  readiness?: Record<string, ReadinessCheck>;
  /** Largest JSON body accepted. */
  jsonLimit?: string;
  /** INTERNAL_TOKEN_SECRET: verifies the caller's internal token (audience: `service`). Without it the service
   *  accepts no identity at all (anonymous requests only). */
  internalTokenSecret?: string;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Request id (taken from x-request-id when sane, else generated), echoed back and kept in the async context. */
export function requestIdMiddleware() {
  return async function requestId(ctx: Context, next: Next): Promise<void> {
    const incoming = ctx.get('x-request-id');
    const id = REQUEST_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = id;
    ctx.set('x-request-id', id);
    await inRequestTrace(ctx.req.headers, () => requestContext.run({ requestId: id }, next));
  };
}

/**
 * The access log, the RED metrics and errorMiddleware as one layer (that order, outermost first): each layer of
 * the pipeline costs every request a promise and a hop, and these three only wrap the rest. The access line may go to its own logger (the gateway's skips path redaction); unexpected errors are
 * logged on `errorLogger`.
 */
export function observedRequestMiddleware(opts: { accessLogger: Logger; errorLogger: Logger; metrics: Metrics }) {
  const { accessLogger, metrics } = opts;
  const handleErrors = errorMiddleware(opts.errorLogger);
  return async function observedRequest(ctx: Context, next: Next): Promise<void> {
    const started = process.hrtime.bigint();
    const measured = ctx.path !== '/metrics';
    if (measured) metrics.httpActive.inc();
    try {
      await handleErrors(ctx, next);
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (measured) {
        metrics.httpActive.dec();
        metrics.observeRequest(ctx, ms / 1000);
      }
      // The level is checked first: at warn (the benches) a request builds no log object at all.
      if (
        accessLogger.isLevelEnabled('info') &&
        ctx.path !== '/healthz' &&
        ctx.path !== '/readyz' &&
        ctx.path !== '/metrics'
      ) {
        accessLogger.info(
          {
            method: ctx.method,
            path: ctx.path,
            route: ctx.state.routeTemplate,
            status: ctx.status,
            durationMs: Math.round(ms * 100) / 100,
            ...ctx.state.logFields,
          },
          'request',
        );
      }
    }
  };
}

/** JSON bodies only: a body of another type is a 415, a malformed one a 400, an over-large one a 413. */
export function jsonBodyMiddleware(limit = '100kb') {
  const parse = bodyParser({ enableTypes: ['json'], jsonLimit: limit, encoding: 'utf-8' } as any);
  return async function jsonBody(ctx: Context, next: Next): Promise<void> {
    // The body parser reads POST, PUT and PATCH only (parsedMethods), so a read never waits for it.
    if (ctx.method === 'GET' || ctx.method === 'HEAD') return next();
    const hasBody =
      ['POST', 'PUT', 'PATCH', 'DELETE'].includes(ctx.method) &&
      (Number(ctx.get('content-length') || 0) > 0 || !!ctx.get('transfer-encoding'));
    if (hasBody && !ctx.is('application/json', 'application/*+json')) {
      throw new HttpProblem(
        415,
        'unsupported-media-type',
        'Unsupported media type',
        'Send the body as application/json',
      );
    }
    try {
      await parse(ctx, async () => undefined);
    } catch (err) {
      const e = err as { status?: number; type?: string };
      if (e.status === 413)
        throw new HttpProblem(413, 'payload-too-large', 'Payload too large', `The body exceeds ${limit}`);
      throw problems.badRequest('The body is not valid JSON', 'malformed-json');
    }
    await next();
  };
}

/** The shared pipeline; the service adds its routers after it. */
export function createServiceApp(opts: ServiceAppOptions): Koa {
  const app = new Koa();
  app.proxy = true;
  app.silent = true;
  // Layers, outermost first: request id (and its trace context); access log, RED metrics and problem+json
  // errors (one layer); health, /metrics, identity and the JSON body (one layer); the contract. Each layer costs
  // every request a promise and a hop, so steps that only pick a branch share one.
  app.use(requestIdMiddleware());
  app.use(observedRequestMiddleware({ accessLogger: opts.logger, errorLogger: opts.logger, metrics: opts.metrics }));
  const health = healthMiddleware(opts.readiness ?? {});
  // Who is calling is settled before the body is read or validated: a forged identity is refused first.
  const identity = identityMiddleware({ audience: opts.service, secret: opts.internalTokenSecret });
  const jsonBody = jsonBodyMiddleware(opts.jsonLimit);
  app.use((ctx: Context, next: Next) => {
    const path = ctx.path;
    const method = ctx.method;
    const read = method === 'GET' || method === 'HEAD';
    if (read && (path === '/healthz' || path === '/readyz')) return health(ctx, next);
    if (path === '/metrics' && method === 'GET') return opts.metrics.handler(ctx);
    // a read has no body to parse (jsonBody passes GET and HEAD straight on)
    return identity(ctx, read ? next : () => jsonBody(ctx, next));
  });
  if (opts.contract) app.use(opts.contract.middleware);
  return app;
}

/** Lets long-lived handlers (SSE, consumers) notice that the process is shutting down. */
export interface Lifecycle {
  signal: AbortSignal;
  shutdown: () => void;
}
export function createLifecycle(): Lifecycle {
  const controller = new AbortController();
  return { signal: controller.signal, shutdown: () => controller.abort() };
}

export interface RunningServer {
  server: http.Server;
  port: number;
  url: string;
  /** Stop accepting, drain in-flight requests (bounded by timeoutMs), then resolve. */
  close: (timeoutMs?: number) => Promise<void>;
}

export async function listen(handler: http.RequestListener, port: number, host = '127.0.0.1'): Promise<RunningServer> {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 65_000;
  // A request Node cannot parse (431 headers too large, 400 malformed) answers problem+json too.
  server.on('clientError', problemClientErrorHandler);
  // While draining, responses say Connection: close, so keep-alive clients (fetch, the gateway's pool) let go
  // of their sockets as soon as their request is answered instead of holding the server until the timeout.
  let draining = false;
  const inFlight = new Set<http.ServerResponse>();
  server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    if (draining && !res.headersSent) res.setHeader('connection', 'close');
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = host === '0.0.0.0' ? '127.0.0.1' : host;
  let closing: Promise<void> | undefined;
  const close = (timeoutMs = 10_000): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      draining = true;
      for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
      const timer = setTimeout(() => {
        server.closeAllConnections();
      }, timeoutMs);
      server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      server.closeIdleConnections();
    });
    return closing;
  };
  return { server, port: address.port, url: `http://${shownHost}:${address.port}`, close };
}

export interface RunOptions {
  service: string;
  logger: Logger;
  app: Koa;
  port: number;
  host?: string;
  lifecycle?: Lifecycle;
  /** Closed in order after the server has drained (consumers, DB, Redis...). */
  closers?: Array<() => Promise<unknown> | unknown>;
  shutdownTimeoutMs?: number;
  exit?: (code: number) => void;
  /** One memory-reducing garbage collection this long after listening, then again when the service has been
   *  idle a minute and grown by 8 MiB (start-up-memory.ts); false: none. Default 5000 ms: after the other services
   *  of `npm start` are ready too (each collection is ~100-250 ms of CPU). */
  startUpCollectionDelayMs?: number | false;
}

/** Writes what the logger still buffers (an asynchronous destination), so a fatal line is not lost at exit. */
function flushLogger(logger: Logger): void {
  try {
    (logger as unknown as Record<symbol, { flushSync?: () => void } | undefined>)[symbols.streamSym]?.flushSync?.();
  } catch {
    /* nothing more can be done on the way out */
  }
}

/** Last resort: an error nothing handled leaves the process in an unknown state, so it is logged (fatal, with
 *  the error) and the process exits 1 at once, for the orchestrator to restart it. */
function installCrashHandlers(logger: Logger, exit: (code: number) => void): void {
  let crashed = false;
  const crash = (what: string) => (err: unknown) => {
    if (crashed) return;
    crashed = true;
    try {
      logger.fatal({ err }, `${what}: exiting`);
    } finally {
      flushLogger(logger);
      exit(1);
    }
  };
  process.on('unhandledRejection', crash('unhandled rejection'));
  process.on('uncaughtException', crash('uncaught exception'));
}

/** main.ts entry: serve, and on SIGTERM/SIGINT drain and close everything, then exit 0. An unhandled
 *  rejection or uncaught exception is logged as fatal and exits 1. */
export async function runService(opts: RunOptions): Promise<RunningServer> {
  installCrashHandlers(opts.logger, opts.exit ?? process.exit);
  const running = await listen(opts.app.callback(), opts.port, opts.host ?? '0.0.0.0');
  const cancelCollection =
    opts.startUpCollectionDelayMs === false
      ? undefined
      : scheduleStartUpCollection(opts.logger, { delayMs: opts.startUpCollectionDelayMs, server: running.server });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    cancelCollection?.();
    opts.logger.info({ signal }, 'shutting down');
    opts.lifecycle?.shutdown();
    let code = 0;
    const timeoutMs = opts.shutdownTimeoutMs ?? 10_000;
    await running.close(timeoutMs);
    // Every closer runs even if one before it fails or hangs: a stuck consumer must not keep the database
    // pool open. Each gets the shutdown timeout; a failure makes the exit code 1.
    for (const closer of opts.closers ?? []) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(closer),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`a closer did not finish within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
      } catch (err) {
        opts.logger.error({ err }, 'error during shutdown');
        code = 1;
      } finally {
        clearTimeout(timer);
      }
    }
    opts.logger.info('stopped');
    (opts.exit ?? process.exit)(code);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  // Announced only once the handlers are in place: whoever waits for this line (a test, the stack runner)
  // may signal at once, and before the handlers a SIGTERM would kill the process outright.
  opts.logger.info({ url: running.url }, `${opts.service} listening`);
  return running;
}
