// Inter-service HTTP client: JSON over global fetch with a per-call timeout, retries with exponential backoff
// and jitter for idempotent calls only, and the caller's trace context and request id passed on. With
// `internalToken`, every call carries an internal token for the upstream: the service itself (svc:<issuer>), or
// the user it acts for (`as`).
import { context, trace, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { currentRequestId } from './context.ts';
import { HttpProblem, problems } from './errors.ts';
import type { Identity } from './identity.ts';
import { createInternalTokenSigner, type InternalTokenSigner } from './internal-token.ts';
import type { Logger } from './logger.ts';
import { prom } from './metrics.ts';
import { traceHeaders, tracer } from './tracing.ts';

export type UpstreamErrorKind = 'timeout' | 'unavailable' | 'http';

/**
 * A call to another service failed. `kind` says how: no answer in time, no connection (refused, reset, DNS),
 * or an HTTP error status (then `upstreamStatus` and the upstream problem body are set).
 * `status` is what this service should answer if it does not handle the error (504 / 503 / 502), so an
 * uncaught UpstreamError renders as a gateway problem through the platform error middleware.
 */
export class UpstreamError extends Error {
  readonly service: string;
  readonly kind: UpstreamErrorKind;
  readonly method: string;
  readonly path: string;
  readonly attempts: number;
  readonly upstreamStatus?: number;
  /** The upstream's response body (normally its problem+json), when there was one. */
  readonly problem?: unknown;
  readonly status: number;
  readonly expose = false;

  constructor(init: {
    service: string;
    kind: UpstreamErrorKind;
    method: string;
    path: string;
    attempts: number;
    upstreamStatus?: number;
    problem?: unknown;
    cause?: unknown;
  }) {
    const what =
      init.kind === 'http'
        ? `answered ${init.upstreamStatus}`
        : init.kind === 'timeout'
          ? 'timed out'
          : 'is unavailable';
    super(
      `${init.service} ${what} (${init.method} ${init.path}, ${init.attempts} attempt${init.attempts === 1 ? '' : 's'})`,
      { cause: init.cause },
    );
    this.name = 'UpstreamError';
    this.service = init.service;
    this.kind = init.kind;
    this.method = init.method;
    this.path = init.path;
    this.attempts = init.attempts;
    this.upstreamStatus = init.upstreamStatus;
    this.problem = init.problem;
    this.status =
      init.kind === 'timeout' ? 504 : init.kind === 'unavailable' || init.upstreamStatus === 503 ? 503 : 502;
  }

  /** The upstream problem's type, when its body was problem+json. */
  get problemType(): string | undefined {
    const type = (this.problem as { type?: unknown } | undefined)?.type;
    return typeof type === 'string' ? type : undefined;
  }

  /**
   * The problem to answer with: an upstream 4xx problem+json passes through unchanged (e.g. seats-unavailable
   * from inventory reaches the buyer); anything else becomes 502/503/504 without upstream internals.
   */
  toHttpProblem(): HttpProblem {
    const body = this.problem as { type?: string; title?: string; detail?: string; [k: string]: unknown } | undefined;
    if (this.kind === 'http' && this.upstreamStatus! < 500 && body && typeof body.type === 'string') {
      const { type, title, status: _status, detail, instance: _instance, requestId: _requestId, ...extensions } = body;
      const slug = type.split('/').pop() || 'upstream-error';
      return new HttpProblem(this.upstreamStatus!, slug, title ?? 'Upstream rejected the request', detail, extensions);
    }
    if (this.kind === 'timeout') return problems.gatewayTimeout(`${this.service} did not answer in time`);
    if (this.status === 503) return problems.unavailable(`${this.service} is unavailable`);
    return problems.badGateway(`${this.service} failed`);
  }
}

export interface ServiceClientOptions {
  /** Upstream service name, used in errors, logs and span names. */
  name: string;
  baseUrl: string;
  /** Per-attempt timeout. Default 5000 ms. */
  timeoutMs?: number;
  /** Extra attempts for retryable failures of idempotent calls. Default 2. */
  retries?: number;
  logger?: Logger;
  /** First backoff delay; doubles per attempt, with jitter. Default 100 ms. */
  backoffMs?: number;
  /** Largest backoff delay (also caps Retry-After). Default 2000 ms. */
  maxBackoffMs?: number;
  /** The service's metrics registry: outbound calls are recorded in http_client_request_duration_seconds. */
  registry?: prom.Registry;
  /** Sign every call for the upstream (audience: `name`) with INTERNAL_TOKEN_SECRET, as `issuer` (this service).
   *  Without it calls carry no identity (the upstream treats them as anonymous). */
  internalToken?: { secret: string; issuer: string };
}

export interface RequestOptions {
  /** JSON-serialised into the request body. */
  body?: unknown;
  headers?: Record<string, string>;
  query?: Record<string, string | number | boolean | undefined>;
  /** Sent as Idempotency-Key; makes any method retryable. */
  idempotencyKey?: string;
  timeoutMs?: number;
  retries?: number;
  /** Statuses returned instead of thrown (e.g. [404] to test for existence). */
  allowStatuses?: number[];
  /** Caller cancellation (e.g. the service is shutting down). */
  signal?: AbortSignal;
  /** Act for this user (forward the identity a request came with: ctx.state.identity); default: the service
   *  itself (subject svc:<issuer>). Needs the client's `internalToken`. */
  as?: Identity;
}

export interface ServiceResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

export interface ServiceClient {
  readonly name: string;
  readonly baseUrl: string;
  request<T = unknown>(method: string, path: string, options?: RequestOptions): Promise<ServiceResponse<T>>;
}

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
const RETRYABLE_STATUSES = new Set([502, 503, 504]);

export function isRetryableCall(method: string, idempotencyKey?: string): boolean {
  return IDEMPOTENT_METHODS.has(method.toUpperCase()) || !!idempotencyKey;
}

/** Exponential backoff with "equal jitter": half fixed, half random, so retries of many callers spread out. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  const exp = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
  return exp / 2 + Math.random() * (exp / 2);
}

function retryAfterMs(headers: Headers): number | undefined {
  const value = headers.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

async function readBody(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!text) return undefined;
  if (/\bjson\b/i.test(res.headers.get('content-type') ?? '')) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** One histogram per registry, shared by every client of the service (labelled by upstream). */
function clientHistogram(registry: prom.Registry): prom.Histogram<'upstream' | 'method' | 'outcome'> {
  const name = 'http_client_request_duration_seconds';
  const existing = registry.getSingleMetric(name) as prom.Histogram<'upstream' | 'method' | 'outcome'> | undefined;
  return (
    existing ??
    new prom.Histogram({
      name,
      help: 'Duration of calls to other services, per attempt; outcome is the status code, timeout or unavailable',
      labelNames: ['upstream', 'method', 'outcome'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    })
  );
}

type AttemptResult =
  | { ok: true; response: ServiceResponse<unknown> }
  | { ok: false; error: UpstreamError; retryable: boolean; retryAfter?: number };

export function createServiceClient(opts: ServiceClientOptions): ServiceClient {
  const baseUrl = opts.baseUrl.replace(/\/+$/, '');
  const defaultTimeout = opts.timeoutMs ?? 5000;
  const defaultRetries = opts.retries ?? 2;
  const backoffMs = opts.backoffMs ?? 100;
  const maxBackoffMs = opts.maxBackoffMs ?? 2000;
  const duration = opts.registry ? clientHistogram(opts.registry) : undefined;
  const signer: InternalTokenSigner | undefined = opts.internalToken
    ? createInternalTokenSigner(opts.internalToken)
    : undefined;

  function buildUrl(path: string, query?: RequestOptions['query']): string {
    const url = new URL(baseUrl + (path.startsWith('/') ? path : `/${path}`));
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    return url.toString();
  }

  /** One attempt, in its own CLIENT span whose context is what the upstream sees as parent. */
  async function attempt(
    method: string,
    url: string,
    path: string,
    options: RequestOptions,
    attemptNo: number,
  ): Promise<AttemptResult> {
    const target = new URL(url);
    const span = tracer().startSpan(`${method} ${opts.name}`, {
      kind: SpanKind.CLIENT,
      attributes: {
        'http.request.method': method,
        'url.full': url,
        'server.address': target.hostname,
        'server.port': Number(target.port) || (target.protocol === 'https:' ? 443 : 80),
        'peer.service': opts.name,
        ...(attemptNo > 1 ? { 'http.request.resend_count': attemptNo - 1 } : {}),
      },
    });
    const spanContext = trace.setSpan(context.active(), span);
    const headers: Record<string, string> = {
      accept: 'application/json, application/problem+json',
      ...traceHeaders(spanContext),
      ...options.headers,
      // signed per attempt: a retry after a back-off still carries a fresh token
      ...signer?.headers(opts.name, options.as),
    };
    const requestId = currentRequestId();
    if (requestId && !headers['x-request-id']) headers['x-request-id'] = requestId;
    if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const timeout = AbortSignal.timeout(options.timeoutMs ?? defaultTimeout);
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
    const endTimer = duration?.startTimer({ upstream: opts.name, method });
    let outcome = 'unavailable';
    const fail = (
      init: Omit<ConstructorParameters<typeof UpstreamError>[0], 'service' | 'method' | 'path' | 'attempts'>,
    ) => new UpstreamError({ service: opts.name, method, path, attempts: attemptNo, ...init });
    try {
      const res = await fetch(url, { method, headers, body, signal });
      const parsed = await readBody(res);
      outcome = String(res.status);
      span.setAttribute('http.response.status_code', res.status);
      if (res.status < 400 || options.allowStatuses?.includes(res.status)) {
        return { ok: true, response: { status: res.status, headers: res.headers, body: parsed } };
      }
      span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${res.status}` });
      return {
        ok: false,
        error: fail({ kind: 'http', upstreamStatus: res.status, problem: parsed }),
        retryable: RETRYABLE_STATUSES.has(res.status),
        retryAfter: retryAfterMs(res.headers),
      };
    } catch (err) {
      if (options.signal?.aborted) {
        outcome = 'aborted';
        throw options.signal.reason;
      }
      const timedOut = timeout.aborted;
      outcome = timedOut ? 'timeout' : 'unavailable';
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: timedOut ? 'timeout' : (err as Error).message });
      // A timed-out call may have been applied upstream and already cost the caller its budget: not retried.
      return {
        ok: false,
        error: fail({ kind: timedOut ? 'timeout' : 'unavailable', cause: err }),
        retryable: !timedOut,
      };
    } finally {
      endTimer?.({ outcome });
      span.end();
    }
  }

  async function request<T = unknown>(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<ServiceResponse<T>> {
    if (options.as && !signer) throw new Error(`client ${opts.name}: acting for a user needs internalToken`);
    const verb = method.toUpperCase();
    const url = buildUrl(path, options.query);
    const maxAttempts =
      1 + (isRetryableCall(verb, options.idempotencyKey) ? Math.max(0, options.retries ?? defaultRetries) : 0);
    for (let n = 1; ; n++) {
      const result = await attempt(verb, url, path, options, n);
      if (result.ok) return result.response as ServiceResponse<T>;
      if (!result.retryable || n >= maxAttempts) {
        opts.logger?.warn(
          {
            upstream: opts.name,
            method: verb,
            path,
            kind: result.error.kind,
            upstreamStatus: result.error.upstreamStatus,
            attempts: n,
          },
          'upstream call failed',
        );
        throw result.error;
      }
      const delay = Math.min(maxBackoffMs, result.retryAfter ?? backoffDelay(n, backoffMs, maxBackoffMs));
      opts.logger?.warn(
        {
          upstream: opts.name,
          method: verb,
          path,
          kind: result.error.kind,
          upstreamStatus: result.error.upstreamStatus,
          attempt: n,
          delayMs: Math.round(delay),
        },
        'retrying upstream call',
      );
      await sleep(delay, options.signal);
    }
  }

  return { name: opts.name, baseUrl, request };
}
