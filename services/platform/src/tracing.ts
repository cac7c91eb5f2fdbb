// Tracing helpers for service code. They only use @opentelemetry/api, so they are cheap to import and safe
// without the SDK: when a service runs without `--import tracing-register.ts` they degrade to no-ops.
// The SDK itself (NodeSDK, instrumentations, exporter, ESM loader hook) lives in tracing-register.ts.
import {
  context,
  propagation,
  trace,
  SpanStatusCode,
  type Attributes,
  type Context,
  type Span,
  type SpanKind,
} from '@opentelemetry/api';

export type { Span };

/** Instrumentation scope of spans the platform and services create by hand. */
export const TRACER_NAME = 'eventtickets';

/** Set on globalThis by tracing-register.ts so code that never imports the SDK can flush it. */
const SDK_HOOK = Symbol.for('eventtickets.tracing.sdk');

export interface TracingSdkHook {
  serviceName: string;
  exporting: boolean;
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
  options: { attributes?: Attributes; kind?: SpanKind; parent?: Context } = {},
): Promise<T> {
  const parent = options.parent ?? context.active();
  return tracer().startActiveSpan(
    name,
    { attributes: options.attributes, kind: options.kind },
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
  return propagation.extract(base, headers, {
    get: (carrier, key) => {
      const value = carrier[key] ?? carrier[key.toLowerCase()];
      return Array.isArray(value) ? value[0] : value;
    },
    keys: (carrier) => Object.keys(carrier),
  });
}
