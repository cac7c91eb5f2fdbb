// The streaming reverse proxy (undici): request bodies are piped through untouched, responses are
// streamed back chunk by chunk (SSE included), every failure becomes a quick problem+json, and a client
// that goes away cancels the upstream request.
import { Transform } from 'node:stream';
import type { Context } from 'koa';
import type { Dispatcher } from 'undici';
import type { Identity, InternalTokenSigner } from '@eventtickets/platform';
import { HttpProblem, problems } from '@eventtickets/platform/errors';
import type { Route } from '../domain/routing.ts';
import { clientResponseHeaders, upstreamRequestHeaders } from '../domain/headers.ts';
import { outgoingTraceHeaders } from '../domain/trace.ts';
import {
  createMicroCache,
  mayUseMicroCache,
  notModified,
  varyValues,
  wantsRevalidation,
  type CachedResponse,
  type MicroCache,
} from './micro-cache.ts';

export interface ProxyOptions {
  upstreams: Partial<Record<string, string>>;
  defaultTimeoutMs: number;
  bodyLimit: number;
  trustProxy: boolean;
  /** Signs the verified identity for the route's service (INTERNAL_TOKEN_SECRET; issuer gateway). */
  signer: InternalTokenSigner;
  /** Connection pools to the upstreams for request/response calls (owned and closed by the caller). */
  dispatcher: Dispatcher;
  /** The pools for `stream` routes (long-lived responses), so they never hold a request/response connection. */
  streamDispatcher?: Dispatcher;
  /** Longest a public response is answered from the gateway's memory (micro-cache.ts); 0 or absent: never. */
  microCacheMs?: number;
  /** Called when a proxied request gets no answer from its service (the gateway's metrics). */
  onFailure?: (service: string, reason: 'unconfigured' | 'unreachable' | 'timeout') => void;
}

export interface Proxy {
  forward: (ctx: Context, route: Route, opts: { identity?: Identity; body?: Buffer }) => Promise<void>;
  /** The micro-cache, when configured (tests and metrics read its size). */
  microCache?: MicroCache;
}

/** Response headers a stored answer never repeats: the original request's id and the time it was made. */
const NOT_REPLAYED = new Set(['x-request-id', 'date', 'age']);

/** Answers from the micro-cache: the stored headers with an Age, 304 when the client has the ETag. */
function serveCached(ctx: Context, entry: CachedResponse): void {
  const res = ctx.res;
  const unchanged = notModified(entry, ctx.req.headers);
  ctx.status = unchanged ? 304 : 200; // for the access log and metrics
  for (const [name, value] of entry.headers) res.setHeader(name, value);
  res.setHeader('age', String(Math.floor((Date.now() - entry.storedAt) / 1000)));
  ctx.respond = false;
  if (unchanged) {
    res.removeHeader('content-length');
    res.removeHeader('content-type');
    res.writeHead(304);
    res.end();
    return;
  }
  res.writeHead(200);
  res.end(entry.body);
}

export function payloadTooLarge(limit: number): HttpProblem {
  return new HttpProblem(413, 'payload-too-large', 'Payload too large', `The request body exceeds ${limit} bytes`);
}

/** Passes a chunked body through while counting; past the limit it fails the upload instead of buffering. */
function limitedBody(limit: number, onExceeded: () => void): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > limit) {
        onExceeded();
        done(new Error('request body too large'));
        return;
      }
      done(null, chunk);
    },
  });
}

function hasBody(ctx: Context): boolean {
  const length = ctx.get('content-length');
  return (length !== '' && length !== '0') || ctx.get('transfer-encoding') !== '';
}

function errorCode(err: unknown): string | undefined {
  const e = err as { code?: string; cause?: { code?: string } } | null;
  return e?.code ?? e?.cause?.code;
}

export function createProxy(opts: ProxyOptions): Proxy {
  const bases = new Map<string, URL>();
  for (const [service, url] of Object.entries(opts.upstreams)) if (url) bases.set(service, new URL(url));
  const micro = opts.microCacheMs && opts.microCacheMs > 0 ? createMicroCache({ maxMs: opts.microCacheMs }) : undefined;

  async function forward(
    ctx: Context,
    route: Route,
    { identity, body }: { identity?: Identity; body?: Buffer },
  ): Promise<void> {
    const base = bases.get(route.service);
    if (!base) {
      opts.onFailure?.(route.service, 'unconfigured');
      throw problems.unavailable(`The ${route.service} service is not configured on this gateway`);
    }

    // Anonymous reads of public routes may be answered from the micro-cache (rules in micro-cache.ts); any
    // other method drops the service's copies, before and after the upstream answers.
    const cacheKey =
      micro &&
      route.auth === 'public' &&
      !identity &&
      !route.stream &&
      !body &&
      mayUseMicroCache(ctx.method, ctx.req.headers)
        ? `${route.service} ${ctx.url}`
        : undefined;
    if (cacheKey !== undefined && !wantsRevalidation(ctx.req.headers)) {
      const hit = micro!.lookup(cacheKey, ctx.req.headers);
      if (hit) return serveCached(ctx, hit);
    }
    const writes = micro !== undefined && ctx.method !== 'GET' && ctx.method !== 'HEAD' && ctx.method !== 'OPTIONS';
    if (writes) micro.dropService(route.service);

    const declared = Number(ctx.get('content-length') || 0);
    if (declared > opts.bodyLimit) throw payloadTooLarge(opts.bodyLimit);

    let failure: 'timeout' | 'client-gone' | 'too-large' | undefined;
    const controller = new AbortController();
    const timeoutMs = route.timeoutMs ?? opts.defaultTimeoutMs;
    const timer = setTimeout(() => {
      failure ??= 'timeout';
      controller.abort();
    }, timeoutMs);
    const onClientClose = () => {
      if (!ctx.res.writableFinished) {
        failure ??= 'client-gone';
        controller.abort();
      }
    };
    ctx.res.once('close', onClientClose);

    let requestBody: Dispatcher.DispatchOptions['body'];
    if (body) requestBody = body;
    else if (hasBody(ctx)) {
      requestBody = ctx.get('content-length')
        ? ctx.req // Node's parser already enforces the declared length
        : ctx.req.pipe(
            limitedBody(opts.bodyLimit, () => {
              failure ??= 'too-large';
              controller.abort();
            }),
          );
    }

    const trace = outgoingTraceHeaders(ctx.get('traceparent') || undefined, ctx.get('tracestate') || undefined);
    // The access line carries the trace, so a slow or failed request can be found in Jaeger.
    ctx.state.logFields = { trace_id: trace.traceId, span_id: trace.spanId };
    const forwardedFor = opts.trustProxy ? ctx.get('x-forwarded-for') || undefined : undefined;
    const headers = upstreamRequestHeaders(ctx.req.headers, {
      identityHeaders: identity ? opts.signer.headers(route.service, identity) : undefined,
      requestId: ctx.state.requestId,
      traceparent: trace.traceparent,
      tracestate: trace.tracestate,
      clientIp: ctx.req.socket.remoteAddress ?? 'unknown',
      forwardedFor,
      proto: ctx.protocol,
      host: ctx.host,
      noCompression: route.stream,
    });
    if (body) headers['content-length'] = String(body.length);

    const basePath = base.pathname.replace(/\/$/, '');
    let response: Dispatcher.ResponseData;
    try {
      const dispatcher = route.stream ? (opts.streamDispatcher ?? opts.dispatcher) : opts.dispatcher;
      response = await dispatcher.request({
        origin: base.origin,
        path: basePath + ctx.url,
        method: ctx.method as Dispatcher.HttpMethod,
        headers,
        body: requestBody,
        signal: controller.signal,
        headersTimeout: timeoutMs + 1_000, // our own timer fires first; this is a backstop
        bodyTimeout: route.stream ? 0 : timeoutMs,
      });
    } catch (err) {
      clearTimeout(timer);
      ctx.res.off('close', onClientClose);
      if (failure === 'too-large') throw payloadTooLarge(opts.bodyLimit);
      if (failure === 'timeout') {
        opts.onFailure?.(route.service, 'timeout');
        throw problems.gatewayTimeout(`The ${route.service} service did not answer within ${timeoutMs} ms`);
      }
      if (failure === 'client-gone') {
        ctx.status = 499; // nobody reads the answer; the status is for the access log and metrics
        throw new HttpProblem(
          499,
          'client-closed-request',
          'Client closed request',
          'The client went away before the upstream answered',
        );
      }
      const code = errorCode(err);
      if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT') {
        opts.onFailure?.(route.service, 'timeout');
        throw problems.gatewayTimeout(`The ${route.service} service did not answer in time`);
      }
      opts.onFailure?.(route.service, 'unreachable');
      throw problems.badGateway(`The ${route.service} service could not be reached (${code ?? 'connection failed'})`);
    }
    clearTimeout(timer);
    if (writes) micro.dropService(route.service);

    ctx.status = response.statusCode; // for the access log and metrics
    const res = ctx.res;
    const answerHeaders = clientResponseHeaders(response.headers);
    for (const [name, value] of answerHeaders) res.setHeader(name, value);
    const eventStream = route.stream || /^text\/event-stream/i.test(String(response.headers['content-type'] ?? ''));
    if (eventStream) {
      // Tell any buffering reverse proxy in front of us (nginx) to pass chunks straight through.
      res.setHeader('X-Accel-Buffering', 'no');
      res.setHeader('Cache-Control', 'no-cache, no-transform');
      ctx.req.socket.setTimeout(0);
      ctx.req.socket.setNoDelay(true);
    }
    const upstreamBody = response.body;
    // Koa owns the body for bookkeeping (it destroys it, and with it the upstream request, when the
    // client connection closes) but the bytes are piped here: each chunk is written as it arrives and
    // Koa's generic stream responder is skipped on this hot path.
    ctx.body = upstreamBody;
    if (response.headers['content-type'] === undefined) res.removeHeader('content-type'); // Koa's default; not the upstream's
    ctx.respond = false;
    res.writeHead(response.statusCode);
    if (eventStream) res.flushHeaders();
    upstreamBody.once('error', () => res.destroy()); // a mid-stream upstream failure cuts the client response short
    const freshMs =
      cacheKey !== undefined && !eventStream ? micro!.freshnessMs(response.statusCode, response.headers) : 0;
    if (freshMs > 0) {
      // kept as it passes through; stored only when the whole declared body arrived
      const chunks: Buffer[] = [];
      upstreamBody.on('data', (chunk: Buffer) => chunks.push(chunk));
      upstreamBody.once('end', () => {
        const bytes = Buffer.concat(chunks);
        if (bytes.length !== Number(response.headers['content-length'])) return;
        const etag = response.headers.etag;
        micro!.store(
          cacheKey!,
          {
            service: route.service,
            headers: answerHeaders.filter(([name]) => !NOT_REPLAYED.has(name)),
            body: bytes,
            etag: typeof etag === 'string' ? etag : undefined,
            vary: varyValues(response.headers.vary, ctx.req.headers),
          },
          freshMs,
        );
      });
    }
    upstreamBody.pipe(res);
  }

  return { forward, microCache: micro };
}
