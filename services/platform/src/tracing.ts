// Tracing helpers for service code. They only use @opentelemetry/api, so they are cheap to import and safe
// without the SDK: when a service runs without `--import tracing-register.ts` they degrade to no-ops.
// The SDK itself (NodeSDK, instrumentations, exporter, ESM loader hook) lives in tracing-register.ts.
import {
  ROOT_CONTEXT,
  context,
  propagation,
  trace,
  SpanStatusCode,
  TraceFlags,
  isSpanContextValid,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanKind,
} from '@opentelemetry/api';
import { randomBytes } from 'node:crypto';

export type { Span };

/** Instrumentation scope of spans the platform and services create by hand. */
export const TRACER_NAME = 'eventtickets';

/** Set on globalThis by tracing-register.ts so code that never imports the SDK can flush it. */
const SDK_HOOK = Symbol.for('eventtickets.tracing.sdk');

export interface TracingSdkHook {
  serviceName: string;
  exporting: boolean;
  /** Spans are recorded (an exporter, or the console one); false: sampled out, no instrumentation registered. */
  recording?: boolean;
  shutdown: () => Promise<void>;
}

export function tracer() {
  return trace.getTracer(TRACER_NAME);
}

/** True when tracing-register.ts started the SDK in this process. */
export function tracingEnabled(): boolean {
  return (globalThis as Record<symbol, unknown>)[SDK_HOOK] !== undefined;
}

/** Called once by tracing-register.ts. */
export function registerTracingSdk(hook: TracingSdkHook): void {
  (globalThis as Record<symbol, unknown>)[SDK_HOOK] = hook;
}

/**
 * The trace context of an incoming request when the SDK records nothing (no exporter): tracing-register then
 * registers no http instrumentation, and this continues the caller's traceparent (or starts a trace) under a
 * new, non-recording server span, so logs carry trace and span ids and calls made while handling the request
 * propagate them (unsampled), as the instrumentation did, without its per-request cost. Undefined when the SDK
 * records (its http instrumentation makes the span) or is not started, or a span is already active.
 */
export function requestTraceContext(headers: Record<string, string | string[] | undefined>): Context | undefined {
  const hook = (globalThis as Record<symbol, unknown>)[SDK_HOOK] as TracingSdkHook | undefined;
  if (!hook || hook.recording !== false || trace.getSpan(context.active())) return undefined;
  const parent = propagation.extract(ROOT_CONTEXT, headers);
  // What the SDK's tracer makes of a sampled-out span (the caller's trace id or a new one, a new span id, the
  // unsampled flag), without the tracer's per-span work: nothing about this span is ever recorded.
  const caller = trace.getSpanContext(parent);
  const continued = caller !== undefined && isSpanContextValid(caller);
  return trace.setSpan(
    parent,
    trace.wrapSpanContext({
      traceId: continued ? caller.traceId : randomHex(16),
      spanId: randomHex(8),
      traceFlags: TraceFlags.NONE,
      traceState: continued ? caller.traceState : undefined,
    }),
  );
}

/** Random ids for requestTraceContext, from a pooled CSPRNG buffer (never all zeros: invalid in W3C). */
let idPool = Buffer.alloc(0);
let idAt = 0;
function randomHex(bytes: number): string {
  for (;;) {
    if (idAt + bytes > idPool.length) {
      idPool = randomBytes(4096);
      idAt = 0;
    }
    const hex = idPool.toString('hex', idAt, idAt + bytes);
    idAt += bytes;
    if (!/^0+$/.test(hex)) return hex;
  }
}

/** Runs fn inside the request's trace context (requestTraceContext), or as is. */
export function inRequestTrace<T>(headers: Record<string, string | string[] | undefined>, fn: () => T): T {
  const traced = requestTraceContext(headers);
  return traced ? context.with(traced, fn) : fn();
}

/** Flushes and stops the SDK (if one was started); safe to call more than once or without tracing. */
export async function shutdownTracing(): Promise<void> {
  const hook = (globalThis as Record<symbol, unknown>)[SDK_HOOK] as TracingSdkHook | undefined;
  await hook?.shutdown();
}

/**
 * Runs fn inside a new active span (child of the current one). The span records a thrown error, is marked
 * as failed, and always ends. Use it for background work (relay polls, expiry sweeps, consumers) so their
 * database and Redis calls are grouped under one named operation.
 */
export async function withSpan<T>(
  name: string,
  fn: (span: Span) => Promise<T> | T,
  options: { attributes?: Attributes; kind?: SpanKind; parent?: Context; links?: Link[] } = {},
): Promise<T> {
  const parent = options.parent ?? context.active();
  return tracer().startActiveSpan(
    name,
    { attributes: options.attributes, kind: options.kind, links: options.links },
    parent,
    async (span) => {
      try {
        return await fn(span);
      } catch (err) {
        span.recordException(err as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
        throw err;
      } finally {
        span.end();
      }
    },
  );
}

/** Trace and span id of the active span, when there is a valid one. */
export function currentTraceIds(
  ctx: Context = context.active(),
): { traceId: string; spanId: string; sampled: boolean } | undefined {
  const sc = trace.getSpanContext(ctx);
  if (!sc || !trace.isSpanContextValid(sc)) return undefined;
  return { traceId: sc.traceId, spanId: sc.spanId, sampled: (sc.traceFlags & 1) === 1 };
}

/**
 * The W3C traceparent of the active span (`00-<trace>-<span>-<flags>`). Formatted directly from the span
 * context, so it works even where no propagator is registered (e.g. the gateway run without the SDK).
 */
export function currentTraceparent(ctx: Context = context.active()): string | undefined {
  const sc = trace.getSpanContext(ctx);
  if (!sc || !trace.isSpanContextValid(sc)) return undefined;
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** Headers that carry the given context to another process: traceparent, tracestate and baggage. */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  if (!carrier.traceparent) {
    const traceparent = currentTraceparent(ctx);
    if (traceparent) carrier.traceparent = traceparent;
  }
  return carrier;
}

/** The context described by incoming headers (HTTP or a stream message's `headers`), to run work under. */
export function contextFromHeaders(
  headers: Record<string, string | string[] | undefined>,
  base: Context = context.active(),
): Context {
  const extracted = propagation.extract(base, headers, {
    get: (carrier, key) => {
      const value = carrier[key] ?? carrier[key.toLowerCase()];
      return Array.isArray(value) ? value[0] : value;
    },
    keys: (carrier) => Object.keys(carrier),
  });
  if (trace.getSpanContext(extracted) !== trace.getSpanContext(base)) return extracted;
  // No propagator registered (no SDK): read the W3C traceparent itself, so a message still names its trace.
  const raw = headers.traceparent ?? headers.Traceparent;
  const match = TRACEPARENT.exec(String(Array.isArray(raw) ? raw[0] : (raw ?? '')));
  if (!match) return extracted;
  const sc = { traceId: match[1]!, spanId: match[2]!, traceFlags: parseInt(match[3]!, 16), isRemote: true };
  return trace.isSpanContextValid(sc) ? trace.setSpanContext(base, sc) : extracted;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Span links to the traces of several messages (a consumer or relay handling a batch at once): the batch's
 *  own span is linked to each message's producer, so every purchase's trace shows the step it joined. Messages
 *  without a valid trace context are left out. */
export function linksFromHeaders(headersList: Array<Record<string, string | string[] | undefined>>): Link[] {
  const links: Link[] = [];
  for (const headers of headersList) {
    const sc = trace.getSpanContext(contextFromHeaders(headers, ROOT_CONTEXT));
    if (sc && trace.isSpanContextValid(sc)) links.push({ context: sc });
  }
  return links;
}

/**
 * Runs fn in a span for work on a batch of messages, linked to the trace of each (see linksFromHeaders).
 * A batch of one is simply the child of its message's context: its trace continues without a link.
 */
export async function withBatchSpan<T>(
  name: string,
  headersList: Array<Record<string, string | string[] | undefined>>,
  fn: (span: Span) => Promise<T> | T,
  options: { attributes?: Attributes; kind?: SpanKind } = {},
): Promise<T> {
  if (headersList.length === 1)
    return withSpan(name, fn, { ...options, parent: contextFromHeaders(headersList[0]!, ROOT_CONTEXT) });
  return withSpan(name, fn, {
    ...options,
    parent: ROOT_CONTEXT,
    links: linksFromHeaders(headersList),
    attributes: { 'messaging.batch.message_count': headersList.length, ...options.attributes },
  });
}
