// OpenTelemetry bootstrap, loaded before the service with
//   node --import /abs/path/services/platform/src/tracing-register.ts services/<svc>/src/main.ts
// It must run before any instrumented module (http, koa, pg, ioredis) is imported: under ESM they are patched by
// import-in-the-middle's loader hook, registered here before the service's own imports run.
//
// Only the pieces a service uses are loaded (issue 19: NodeSDK carried every exporter and protocol of the SDK
// bundle, metrics and logs SDKs, gRPC and protobuf: ~1,600 modules and ~90 MiB per process): the trace SDK, the
// W3C propagators, the AsyncLocalStorage context manager, the four instrumentations, and the OTLP/HTTP exporter
// only when an endpoint is set. The loader hook runs in-thread (module.registerHooks) and intercepts only the
// modules those instrumentations patch, instead of a loader thread that saw every module.
//
// Environment:
//   OTEL_SERVICE_NAME (fallback SERVICE_NAME)  service.name of every span
//   OTEL_EXPORTER_OTLP_ENDPOINT                 export spans over OTLP/HTTP (JSON) to <endpoint>/v1/traces;
//                                               unset: spans are not recorded (sampled out), yet their ids
//                                               exist: logs carry them and traceparent is propagated
//   OTEL_TRACES_EXPORTER=console                (without an endpoint) one readable line per ended span on stderr:
//                                               trace id, span id, parent, service, name, duration, status
//   OTEL_BSP_SCHEDULE_DELAY etc.                batch processor tuning (standard OTel variables)
//   OTEL_FLUSH_TIMEOUT_MS                       longest a final flush may delay exit (default 5000)
//   OTEL_SDK_DISABLED=true                      no SDK at all (the helpers in tracing.ts become no-ops)
import { register } from 'node:module';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import type { ReadableSpan, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace';
import { registerTracingSdk } from './tracing.ts';

const disabled = process.env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true';
const serviceName = process.env.OTEL_SERVICE_NAME || process.env.SERVICE_NAME || 'eventtickets';
const endpoint = process.env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || undefined;
/** Spans are recorded only when something reads them: an OTLP endpoint or the console exporter. */
const recording = !!endpoint || process.env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === 'console';

/** Probe and scrape traffic would otherwise be most of the traces. */
const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

const sdk = disabled ? undefined : await startSdk();

async function startSdk(): Promise<{ shutdown: () => Promise<void>; exporting: boolean }> {
  const [
    { context, propagation, trace },
    { CompositePropagator, W3CTraceContextPropagator, W3CBaggagePropagator },
    { TracerProvider, AlwaysOffSampler, BatchSpanProcessor, NoopSpanProcessor, SimpleSpanProcessor },
    { AsyncLocalStorageContextManager },
    resources,
    { registerInstrumentations },
  ] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/core'),
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/instrumentation'),
  ]);

  // Instrumentations only when spans are recorded (an exporter): without one, the http instrumentation's server
  // span, attributes and emitter binding, and a koa span per middleware layer and a pg/ioredis span per command,
  // were made for nobody (~20 % of catalog's CPU per cached read, load/RESULTS.md "Browsing, second pass").
  // A request's trace context then comes from the platform's request-id middleware (requestTraceContext in
  // tracing.ts): the caller's trace goes on under a new span id, logs carry the ids, calls propagate them.
  const instrumentations: Instrumentation[] = [];
  if (recording) {
    const [{ HttpInstrumentation }, { KoaInstrumentation }, { PgInstrumentation }, { IORedisInstrumentation }] =
      await Promise.all([
        import('@opentelemetry/instrumentation-http'),
        import('@opentelemetry/instrumentation-koa'),
        import('@opentelemetry/instrumentation-pg'),
        import('@opentelemetry/instrumentation-ioredis'),
      ]);
    instrumentations.push(
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => QUIET_PATHS.has((req.url ?? '').split('?')[0]),
      }),
      new KoaInstrumentation(),
      // Polling loops (outbox relay, expiry sweeps) would flood the backend with root spans; work that matters
      // runs inside a request or a withSpan() and is traced.
      new PgInstrumentation({ requireParentSpan: true }),
      new IORedisInstrumentation({ requireParentSpan: true }),
    );
  }
  // The ESM loader hook, limited to the modules these instrumentations patch (koa, pg, pg-pool, ioredis, http,
  // https): in-thread where Node supports it (24.11.1+), else the loader thread as before. None without them.
  const include = [
    ...new Set(
      instrumentations.flatMap((i) =>
        (i as unknown as { getModuleDefinitions(): { name: string }[] }).getModuleDefinitions().map((d) => d.name),
      ),
    ),
  ];
  if (include.length) {
    const hooks = (await import('import-in-the-middle/register-hooks.mjs' as string)) as {
      register: (options: { include: string[] }) => void;
      supportsSyncHooks: () => boolean;
    };
    if (hooks.supportsSyncHooks()) hooks.register({ include });
    else register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, { data: { include } });
  }

  // The http/json exporter: Jaeger and the OpenTelemetry collector accept it, and it needs no protobuf runtime.
  const traceExporter = endpoint
    ? new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter()
    : undefined;

  /** OTEL_TRACES_EXPORTER=console: a trace of a purchase read in the terminal, one line per span (the SDK's own
   *  console exporter prints a multi-line object per span). */
  const consoleExporter: SpanExporter | undefined =
    !traceExporter && process.env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === 'console'
      ? {
          export(spans: ReadableSpan[], done: (result: { code: number }) => void) {
            for (const s of spans) {
              const { traceId, spanId } = s.spanContext();
              const ms = (s.duration[0] * 1e3 + s.duration[1] / 1e6).toFixed(1);
              process.stderr.write(
                `span ${traceId} ${spanId} parent=${s.parentSpanContext?.spanId ?? '-'} ${serviceName} "${s.name}" ${ms}ms${s.status.code === 2 ? ' ERROR' : ''}\n`,
              );
            }
            done({ code: 0 });
          },
          shutdown: async () => undefined,
        }
      : undefined;

  /** OTEL_BSP_* as NodeSDK read them (unset or invalid: the SDK's default). */
  const bsp = (name: string): number | undefined => {
    const raw = process.env[name]?.trim();
    const value = Number(raw);
    return raw && Number.isFinite(value) && value >= 0 ? value : undefined;
  };
  // With an exporter a BatchSpanProcessor; without one a no-op processor keeps a real TracerProvider, so ids
  // exist, logs carry them and traceparent is propagated (the spans themselves are sampled out, below).
  const processor: SpanProcessor = traceExporter
    ? new BatchSpanProcessor({
        exporter: traceExporter,
        maxQueueSize: bsp('OTEL_BSP_MAX_QUEUE_SIZE'),
        scheduledDelayMillis: bsp('OTEL_BSP_SCHEDULE_DELAY'),
        exportTimeoutMillis: bsp('OTEL_BSP_EXPORT_TIMEOUT'),
        maxExportBatchSize: bsp('OTEL_BSP_MAX_EXPORT_BATCH_SIZE'),
      })
    : consoleExporter
      ? new SimpleSpanProcessor({ exporter: consoleExporter })
      : new NoopSpanProcessor();

  // The resource NodeSDK built: defaults, the same detectors (OTEL_RESOURCE_ATTRIBUTES included), service.name.
  const resource = resources
    .defaultResource()
    .merge(
      resources.detectResources({
        detectors: [
          resources.serviceInstanceIdDetector,
          resources.processDetector,
          resources.hostDetector,
          resources.osDetector,
          resources.envDetector,
        ],
      }),
    )
    .merge(resources.resourceFromAttributes({ 'service.name': serviceName }));
  // Nothing reads the spans when nothing exports them: spans are then sampled out, so each one is a non-recording
  // span that still has its ids (logs carry trace_id/span_id, traceparent goes on with the unsampled flag) but
  // records no attributes, events or timings. Recording them for a no-op processor was ~13% of inventory's CPU
  // per hold in the on-sale profile (load/RESULTS.md). With an exporter the SDK's default sampler applies
  // (parent-based, always on; OTEL_TRACES_SAMPLER can change it).
  const sampler = traceExporter || consoleExporter ? undefined : new AlwaysOffSampler();
  const provider = new TracerProvider({ resource, spanProcessors: [processor], ...(sampler ? { sampler } : {}) });

  const contextManager = new AsyncLocalStorageContextManager();
  contextManager.enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  trace.setGlobalTracerProvider(provider);
  // Metrics are prom-client's job and logs go to stdout: no meter or logger provider is started.
  if (instrumentations.length) registerInstrumentations({ instrumentations, tracerProvider: provider });
  return { shutdown: () => provider.shutdown(), exporting: !!traceExporter };
}

let stopped: Promise<void> | undefined;
const shutdown = (): Promise<void> => {
  stopped ??= (sdk?.shutdown() ?? Promise.resolve()).catch((err: unknown) => {
    process.stderr.write(`tracing: shutdown failed: ${(err as Error).message}\n`);
  });
  return stopped;
};
if (sdk) registerTracingSdk({ serviceName, exporting: sdk.exporting, recording, shutdown });

/** Upper bound on how long a flush may delay the exit of a terminating process. */
const FLUSH_TIMEOUT_MS = Number(process.env.OTEL_FLUSH_TIMEOUT_MS || 5000);

function flushBounded(): Promise<void> {
  return Promise.race([shutdown(), new Promise<void>((resolve) => setTimeout(resolve, FLUSH_TIMEOUT_MS).unref())]);
}

// Flush on SIGTERM/SIGINT. A service run by runService drains its requests first and then calls process.exit:
// spans of the drained requests end during that drain, so the flush belongs at that exit, which is deferred
// until the flush is done. A process without its own handler would die on the signal; it is flushed and then
// re-signalled so it still terminates the way the signal says.
function onSignal(signal: NodeJS.Signals): void {
  const othersListen = process.listenerCount(signal) > 0;
  if (!othersListen) {
    void flushBounded().then(() => process.kill(process.pid, signal));
    return;
  }
  const exit = process.exit.bind(process);
  let exiting = false;
  process.exit = ((code?: number | string | null) => {
    if (exiting) return undefined as never;
    exiting = true;
    void flushBounded().then(() => exit(code ?? process.exitCode));
    return undefined as never;
  }) as typeof process.exit;
}
if (!disabled) {
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
