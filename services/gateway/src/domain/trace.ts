// W3C trace context at the edge. When OpenTelemetry has an active span (platform tracing installed),
// its propagator writes the headers; otherwise the gateway continues the caller's trace (new parent id)
// or starts a new one, so every request reaching a service carries a valid traceparent.
import { context, propagation, trace } from '@opentelemetry/api';
import { randomHex } from './random-hex.ts';

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export interface TraceHeaders {
  traceparent: string;
  tracestate?: string;
  traceId: string;
  /** The parent id sent upstream: the gateway's own hop in the trace. */
  spanId: string;
}

export function parseTraceparent(value: string | undefined): { traceId: string; flags: string } | undefined {
  const m = TRACEPARENT.exec((value ?? '').trim());
  if (!m || m[1] === 'ff' || /^0+$/.test(m[2]) || /^0+$/.test(m[3])) return undefined;
  return { traceId: m[2], flags: m[4] };
}

export function outgoingTraceHeaders(
  incomingTraceparent: string | undefined,
  incomingTracestate: string | undefined,
): TraceHeaders {
  if (trace.getActiveSpan()) {
    const carrier: Record<string, string> = {};
    propagation.inject(context.active(), carrier);
    const parsed = parseTraceparent(carrier.traceparent);
    if (parsed)
      return {
        traceparent: carrier.traceparent,
        tracestate: carrier.tracestate,
        traceId: parsed.traceId,
        spanId: carrier.traceparent.slice(36, 52),
      };
  }
  const spanId = randomHex(8);
  const parent = parseTraceparent(incomingTraceparent);
  if (parent)
    return {
      traceparent: `00-${parent.traceId}-${spanId}-${parent.flags}`,
      tracestate: incomingTracestate,
      traceId: parent.traceId,
      spanId,
    };
  const traceId = randomHex(16);
  return { traceparent: `00-${traceId}-${spanId}-01`, traceId, spanId };
}
