// The streaming reverse proxy, on undici's dispatch(): request bodies are passed through untouched, the
// upstream's answer is written to the client's response chunk by chunk as undici parses it (SSE included; no
// Readable, no pipe, no AbortController per request), every failure becomes a quick problem+json, and a client
// that goes away cancels the upstream request.
import { Transform } from 'node:stream';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
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

type Failure = 'timeout' | 'client-gone' | 'too-large';

/** Where one forwarded request is: waiting for the upstream's status line, answering the client, or given up. */
const WAITING = 0;
const ANSWERING = 1;
const GAVE_UP = 2;

/** The reason undici gets when the gateway cancels an upstream request itself. */
class Cancelled extends Error {
  constructor(why: Failure) {
    super(`cancelled by the gateway: ${why}`);
    this.name = 'AbortError';
  }
}

function onTimer(call: ProxiedCall): void {
  call.giveUp('timeout');
}

/**
 * One forwarded request as undici's dispatch handler: the upstream's status and headers go to the client's
 * response as they arrive, each body chunk is written as it is parsed (the upstream is paused while the client's
 * socket is full), and forward()'s promise settles once: resolved when the answer starts, rejected with the
 * problem to answer when there is none (unreachable, timed out, client gone, body too large).
 */
class ProxiedCall implements Dispatcher.DispatchHandler {
  state = WAITING;
  /** The upstream request ended (completed or failed): nothing left to cancel. */
  done = false;
  controller: Dispatcher.DispatchController | undefined;
  /** Set when the gateway cancelled before undici started the request (it was waiting for a connection). */
  cancelOnStart: Error | undefined;
  timer: NodeJS.Timeout | undefined;
  resolve!: () => void;
  reject!: (err: unknown) => void;
  /** Bytes the upstream declared (content-length), -1 when it did not; the last chunk waits for res.end(). */
  length = -1;
  received = 0;
  last: Buffer | undefined;
  /** A cacheable answer's chunks as they pass through (stored when the whole declared body arrived). */
  chunks: Buffer[] | undefined;
  freshMs = 0;
  answerHeaders: Array<[string, string | string[]]> | undefined;
  upstreamHeaders: IncomingHttpHeaders | undefined;
  onDrain: (() => void) | undefined;
  readonly ctx: Context;
  readonly res: ServerResponse;
  readonly route: Route;
  readonly opts: ProxyOptions;
  readonly micro: MicroCache | undefined;
  readonly cacheKey: string | undefined;
  readonly writes: boolean;
  readonly timeoutMs: number;
  readonly onClientClose: () => void;

  constructor(
    ctx: Context,
    route: Route,
    opts: ProxyOptions,
    micro: MicroCache | undefined,
    cacheKey: string | undefined,
    writes: boolean,
    timeoutMs: number,
  ) {
    this.ctx = ctx;
    this.res = ctx.res;
    this.route = route;
    this.opts = opts;
    this.micro = micro;
    this.cacheKey = cacheKey;
    this.writes = writes;
    this.timeoutMs = timeoutMs;
    this.onClientClose = () => {
      // the client's connection closed: before the answer ended, the upstream request has no reader left
      if (this.done || this.res.writableFinished) return;
      if (this.state === WAITING) this.giveUp('client-gone');
      else this.cancel(new Cancelled('client-gone'));
    };
  }

  start(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions): Promise<void> {
    const settled = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // Our own timer covers the wait for a pooled connection too; undici's headersTimeout is a backstop.
    this.timer = setTimeout(onTimer, this.timeoutMs, this);
    this.res.once('close', this.onClientClose);
    try {
      dispatcher.dispatch(options, this);
    } catch (err) {
      this.onResponseError(undefined, err as Error);
    }
    return settled;
  }

  cancel(reason: Error): void {
    if (this.done) return;
    if (this.controller) this.controller.abort(reason);
    else this.cancelOnStart ??= reason;
  }

  /** No answer will come in time (or nobody waits for it): cancel the upstream request, answer the problem. */
  giveUp(why: Failure): void {
    if (this.state !== WAITING) return;
    this.state = GAVE_UP;
    clearTimeout(this.timer);
    this.cancel(new Cancelled(why));
    const { opts, route } = this;
    if (why === 'too-large') this.reject(payloadTooLarge(opts.bodyLimit));
    else if (why === 'timeout') {
      opts.onFailure?.(route.service, 'timeout');
      this.reject(problems.gatewayTimeout(`The ${route.service} service did not answer within ${this.timeoutMs} ms`));
    } else {
      this.ctx.status = 499; // nobody reads the answer; the status is for the access log and metrics
      this.reject(
        new HttpProblem(
          499,
          'client-closed-request',
          'Client closed request',
          'The client went away before the upstream answered',
        ),
      );
    }
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    // cancelled while it waited for a connection: undici stops it before anything is written
    if (this.cancelOnStart) controller.abort(this.cancelOnStart);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return; // 1xx: informational, the real answer follows
    if (this.state !== WAITING) {
      controller.abort(new Cancelled('client-gone'));
      return;
    }
    this.state = ANSWERING;
    clearTimeout(this.timer);
    const { ctx, res, route, micro } = this;
    if (this.writes) micro!.dropService(route.service);
    try {
      ctx.status = statusCode; // for the access log and metrics
      const answerHeaders = clientResponseHeaders(headers);
      for (let i = 0; i < answerHeaders.length; i++) res.setHeader(answerHeaders[i][0], answerHeaders[i][1]);
      const contentType = headers['content-type'];
      const eventStream = route.stream || (typeof contentType === 'string' && /^text\/event-stream/i.test(contentType));
      if (eventStream) {
        // Tell any buffering reverse proxy in front of us (nginx) to pass chunks straight through.
        res.setHeader('X-Accel-Buffering', 'no');
        res.setHeader('Cache-Control', 'no-cache, no-transform');
        ctx.req.socket.setTimeout(0);
        ctx.req.socket.setNoDelay(true);
      } else {
        const declared = headers['content-length'];
        if (typeof declared === 'string' && ctx.method !== 'HEAD') this.length = Number(declared);
      }
      ctx.respond = false;
      res.writeHead(statusCode);
      if (eventStream) res.flushHeaders();
      const freshMs = this.cacheKey !== undefined && !eventStream ? micro!.freshnessMs(statusCode, headers) : 0;
      if (freshMs > 0) {
        // kept as it passes through; stored only when the whole declared body arrived
        this.freshMs = freshMs;
        this.chunks = [];
        this.answerHeaders = answerHeaders;
        this.upstreamHeaders = headers;
      }
    } catch (err) {
      // headers the client's response refuses (Node validates them): no answer was sent, the error is
      this.state = GAVE_UP;
      controller.abort(err as Error);
      this.reject(err);
      return;
    }
    this.resolve();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.state !== ANSWERING) return;
    this.chunks?.push(chunk);
    this.received += chunk.length;
    if (this.received === this.length && this.last === undefined) {
      // the declared body is complete: it goes with res.end() in onResponseEnd, which follows at once
      this.last = chunk;
      return;
    }
    if (this.last !== undefined) {
      // more than declared: undici fails the request; pass what there is as it was
      const last = this.last;
      this.last = undefined;
      this.res.write(last);
    }
    if (!this.res.write(chunk) && !this.res.destroyed) {
      controller.pause(); // the client's socket is full: stop reading the upstream until it drains
      this.onDrain ??= () => controller.resume();
      this.res.once('drain', this.onDrain);
    }
  }

  onResponseEnd(): void {
    this.done = true;
    if (this.state !== ANSWERING) return;
    const last = this.last;
    this.last = undefined;
    if (last) this.res.end(last);
    else this.res.end();
    if (this.chunks) this.store(this.chunks);
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    this.done = true;
    if (this.state === ANSWERING) {
      this.res.destroy(); // a mid-stream upstream failure cuts the client response short
      return;
    }
    if (this.state !== WAITING) return; // already answered with the problem (timeout, client gone, too large)
    this.state = GAVE_UP;
    clearTimeout(this.timer);
    const { opts, route } = this;
    const code = errorCode(err);
    if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT') {
      opts.onFailure?.(route.service, 'timeout');
      this.reject(problems.gatewayTimeout(`The ${route.service} service did not answer in time`));
      return;
    }
    opts.onFailure?.(route.service, 'unreachable');
    this.reject(
      problems.badGateway(`The ${route.service} service could not be reached (${code ?? 'connection failed'})`),
    );
  }

  store(chunks: Buffer[]): void {
    const headers = this.upstreamHeaders!;
    const bytes = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    if (bytes.length !== Number(headers['content-length'])) return;
    const etag = headers.etag;
    this.micro!.store(
      this.cacheKey!,
      {
        service: this.route.service,
        headers: this.answerHeaders!.filter(([name]) => !NOT_REPLAYED.has(name)),
        body: bytes,
        etag: typeof etag === 'string' ? etag : undefined,
        vary: varyValues(headers.vary, this.ctx.req.headers),
      },
      this.freshMs,
    );
  }
}

export function createProxy(opts: ProxyOptions): Proxy {
  const bases = new Map<string, { origin: string; basePath: string }>();
  for (const [service, url] of Object.entries(opts.upstreams)) {
    if (!url) continue;
    const base = new URL(url);
    bases.set(service, { origin: base.origin, basePath: base.pathname.replace(/\/$/, '') });
  }
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

    const timeoutMs = route.timeoutMs ?? opts.defaultTimeoutMs;
    const call = new ProxiedCall(ctx, route, opts, micro, cacheKey, writes, timeoutMs);

    let requestBody: Dispatcher.DispatchOptions['body'];
    if (body) requestBody = body;
    else if (hasBody(ctx)) {
      requestBody = ctx.get('content-length')
        ? ctx.req // Node's parser already enforces the declared length
        : ctx.req.pipe(limitedBody(opts.bodyLimit, () => call.giveUp('too-large')));
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

    const dispatcher = route.stream ? (opts.streamDispatcher ?? opts.dispatcher) : opts.dispatcher;
    return call.start(dispatcher, {
      origin: base.origin,
      path: base.basePath + ctx.url,
      method: ctx.method as Dispatcher.HttpMethod,
      headers,
      body: requestBody,
      headersTimeout: timeoutMs + 1_000, // our own timer fires first; this is a backstop
      bodyTimeout: route.stream ? 0 : timeoutMs,
    });
  }

  return { forward, microCache: micro };
}
