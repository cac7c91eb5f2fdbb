import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { createTestDatabase, dropTestDatabase, requireRedis, uniqueSuffix } from '../src/testing/harness.ts';
import { currentTraceparent, currentTraceIds, traceHeaders, withSpan, tracingEnabled } from '../src/tracing.ts';
import { fixture, startChild, tracingRegister, type RunningChild } from './fixtures/child.ts';

/** A minimal OTLP/HTTP receiver: keeps every JSON export request it gets on /v1/traces. */
async function startOtlpReceiver() {
  const bodies: any[] = [];
  const contentTypes: string[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8').on('data', (c) => (raw += c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') {
        contentTypes.push(String(req.headers['content-type']));
        bodies.push(JSON.parse(raw));
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  /** Every exported span with its resource and instrumentation scope. */
  const spans = () =>
    bodies.flatMap((b) =>
      b.resourceSpans.flatMap((rs: any) =>
        rs.scopeSpans.flatMap((ss: any) =>
          ss.spans.map((s: any) => ({
            ...s,
            scope: ss.scope.name,
            service: rs.resource.attributes.find((a: any) => a.key === 'service.name')?.value.stringValue,
          })),
        ),
      ),
    );
  return { url, spans, contentTypes, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

describe('platform/tracing: tracing-register under ESM (child processes, real Postgres + Redis)', function () {
  let dbUrl: string;
  let redisUrl: string;
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  const children: RunningChild[] = [];

  before(async function () {
    redisUrl = requireRedis(this)[0];
    dbUrl = await createTestDatabase(this, 'tracing');
    receiver = await startOtlpReceiver();
  });
  after(async () => {
    for (const c of children) c.kill();
    await receiver?.close();
    if (dbUrl) await dropTestDatabase(dbUrl);
  });

  function startApp(extraEnv: Record<string, string>) {
    const app = startChild(['--import', tracingRegister, fixture('traced-app.ts')], {
      DATABASE_URL: dbUrl,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: `et:tracing:${uniqueSuffix()}:`,
      OTEL_SERVICE_NAME: 'traced-app',
      ...extraEnv,
    });
    children.push(app);
    return app;
  }

  it('exports http, koa, pg, ioredis and client spans of one trace, continued from the incoming traceparent, and logs carry the ids', async () => {
    // A batch delay far beyond the test: spans can only arrive through the flush on SIGTERM.
    const app = startApp({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '600000',
    });
    const { url } = await app.waitForRecord((r) => r.msg === 'traced-app listening', 'listening log');
    const traceId = hex(16);
    const callerSpanId = hex(8);
    const res = await fetch(`${url}/work`, {
      headers: { traceparent: `00-${traceId}-${callerSpanId}-01`, 'x-request-id': 'trace-test-1' },
    });
    expect(res.status).to.equal(200);
    const body = await res.json();
    expect(body.tracing).to.equal(true);
    expect(body.answer).to.equal(42);
    expect(body.cached).to.equal('done');
    expect(body.traceparent).to.match(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    // The service client passed the trace and the request id to the next hop.
    expect(body.inner.traceparent).to.match(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(body.inner.requestId).to.equal('trace-test-1');

    expect(receiver.spans().filter((s) => s.traceId === traceId)).to.have.length(0);
    app.child.kill('SIGTERM');
    expect(await app.exited).to.deep.equal({ code: 0, signal: null });

    const spans = receiver.spans().filter((s) => s.traceId === traceId);
    expect(receiver.contentTypes.every((t) => t.startsWith('application/json'))).to.equal(true);
    const scopes = new Set(spans.map((s) => s.scope));
    for (const scope of [
      '@opentelemetry/instrumentation-http',
      '@opentelemetry/instrumentation-koa',
      '@opentelemetry/instrumentation-pg',
      '@opentelemetry/instrumentation-ioredis',
      'eventtickets',
    ]) {
      expect(scopes, `spans from ${scope}`).to.include(scope);
    }
    expect(spans.every((s) => s.service === 'traced-app')).to.equal(true);

    // The incoming request's server span is the child of the caller's span.
    const servers = spans.filter((s) => s.scope === '@opentelemetry/instrumentation-http' && s.kind === 2);
    const outer = servers.find((s) => s.parentSpanId === callerSpanId);
    expect(outer, 'server span for /work').to.exist;
    // The /inner server span is the child of the client span that called it.
    const client = spans.find((s) => s.scope === 'eventtickets' && s.kind === 3);
    expect(client.name).to.equal('GET traced-app');
    expect(
      servers.find((s) => s.parentSpanId === client.spanId),
      'server span for /inner',
    ).to.exist;
    expect(
      spans.some(
        (s) => s.scope === '@opentelemetry/instrumentation-pg' && /SELECT/.test(s.name + JSON.stringify(s.attributes)),
      ),
    ).to.equal(true);
    expect(spans.some((s) => s.scope === '@opentelemetry/instrumentation-ioredis' && s.name === 'set')).to.equal(true);

    const access = app.records().find((r) => r.msg === 'request' && r.path === '/work');
    expect(access).to.include({ service: 'traced-app', trace_id: traceId, request_id: 'trace-test-1' });
    expect(access.span_id).to.match(/^[0-9a-f]{16}$/);
    expect(spans.map((s) => s.spanId)).to.include(access.span_id);
    const work = app.records().find((r) => r.msg === 'work done');
    expect(work).to.include({ trace_id: traceId });
  });

  it('without OTEL_EXPORTER_OTLP_ENDPOINT still creates span ids and propagates context, records nothing (sampled out) and exports nothing', async () => {
    const before = receiver.spans().length;
    const app = startApp({});
    const { url } = await app.waitForRecord((r) => r.msg === 'traced-app listening', 'listening log');
    const traceId = hex(16);
    const res = await fetch(`${url}/work`, { headers: { traceparent: `00-${traceId}-${hex(8)}-01` } });
    const body = await res.json();
    expect(body.traceparent.split('-')[1]).to.equal(traceId);
    expect(body.inner.traceparent.split('-')[1]).to.equal(traceId);
    expect(body.inner.traceparent).not.to.equal(body.traceparent);
    // Nothing exports, so nothing records: the trace goes on with the unsampled flag.
    expect(body.inner.traceparent).to.match(/-00$/);
    app.child.kill('SIGTERM');
    expect((await app.exited).code).to.equal(0);
    expect(
      app
        .records()
        .filter((r) => r.msg === 'request')
        .map((r) => r.trace_id),
    ).to.deep.equal([traceId, traceId]);
    expect(receiver.spans().length).to.equal(before);
  });

  it('a process without its own SIGTERM handler flushes its spans and still dies by the signal', async () => {
    const proc = startChild(['--import', tracingRegister, fixture('plain-traced.ts')], {
      OTEL_SERVICE_NAME: 'plain-traced',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '600000',
    });
    children.push(proc);
    const ready = await proc.waitForRecord((r) => r.ready, 'ready line');
    expect(ready.traceId).to.match(/^[0-9a-f]{32}$/);
    proc.child.kill('SIGTERM');
    expect(await proc.exited).to.deep.equal({ code: null, signal: 'SIGTERM' });
    const span = receiver.spans().find((s) => s.traceId === ready.traceId);
    expect(span).to.include({ name: 'plain-work', service: 'plain-traced', spanId: ready.spanId });
  });
});

describe('platform/tracing helpers without the SDK', () => {
  it('degrade to no-ops: no ids, no traceparent, withSpan still runs and rethrows', async () => {
    expect(tracingEnabled()).to.equal(false);
    expect(currentTraceparent()).to.equal(undefined);
    expect(currentTraceIds()).to.equal(undefined);
    expect(traceHeaders()).to.deep.equal({});
    expect(await withSpan('x', () => 7)).to.equal(7);
    let caught: unknown;
    try {
      await withSpan('y', () => {
        throw new Error('boom');
      });
    } catch (err) {
      caught = err;
    }
    expect((caught as Error).message).to.equal('boom');
  });
});
