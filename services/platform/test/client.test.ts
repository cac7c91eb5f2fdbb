import { expect } from 'chai';
import http from 'node:http';
import { AsyncLocalStorage } from 'node:async_hooks';
import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { context, propagation, trace, ROOT_CONTEXT, type Context, type ContextManager } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { createServiceClient, UpstreamError } from '../src/client.ts';
import { requestContext } from '../src/context.ts';
import { createLogger } from '../src/logger.ts';
import { createMetrics } from '../src/metrics.ts';
import { createServiceApp, listen } from '../src/http.ts';
import { PROBLEM_BASE } from '../src/errors.ts';
import { freePort } from '../src/testing/processes.ts';
import { withSpan } from '../src/tracing.ts';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A real upstream whose behaviour per path is scripted by the test; it records every request it gets. */
async function startUpstream(handle: (req: Seen, n: number, res: http.ServerResponse) => void) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c) => (body += c));
    req.on('end', () => {
      const r = { method: req.method!, url: req.url!, headers: req.headers, body };
      seen.push(r);
      handle(r, seen.filter((s) => s.url === r.url).length, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen: (path?: string) => seen.filter((s) => !path || s.url === path),
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function json(res: http.ServerResponse, status: number, body: unknown, type = 'application/json') {
  res.writeHead(status, { 'content-type': type }).end(JSON.stringify(body));
}
const problem = (status: number, slug: string, extra: Record<string, unknown> = {}) => ({
  type: `${PROBLEM_BASE}${slug}`,
  title: slug,
  status,
  detail: `upstream says ${slug}`,
  ...extra,
});

async function rejection(promise: Promise<unknown>): Promise<UpstreamError> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(UpstreamError);
    return err as UpstreamError;
  }
  throw new Error('expected the call to fail');
}

/** Captures log records written by a platform logger. */
function capturingLogger() {
  const records: any[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      records.push(JSON.parse(String(chunk)));
      cb();
    },
  });
  return { logger: createLogger('caller', { destination, level: 'debug' }), records };
}

/** A minimal AsyncLocalStorage context manager, so the test registers tracing without the full SDK. */
class AlsContextManager implements ContextManager {
  private als = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.als.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    ctx: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.als.run(ctx, () => fn.apply(thisArg, args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.als.disable();
    return this;
  }
}

describe('platform/client: inter-service HTTP client against real servers', () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  const hanging: http.ServerResponse[] = [];

  before(async () => {
    upstream = await startUpstream((req, n, res) => {
      const path = req.url.split('?')[0];
      if (path === '/hang') return void hanging.push(res); // never answers
      if (path === '/flaky')
        return n === 1
          ? json(res, 503, problem(503, 'unavailable'), 'application/problem+json')
          : json(res, 200, { ok: true, attempt: n });
      if (path === '/down') return json(res, 503, problem(503, 'unavailable'), 'application/problem+json');
      if (path === '/bad-gateway-then-ok')
        return n < 3
          ? json(res, 502, problem(502, 'bad-gateway'), 'application/problem+json')
          : json(res, 200, { attempt: n });
      if (path === '/conflict')
        return json(res, 409, problem(409, 'seats-unavailable', { seats: ['A1'] }), 'application/problem+json');
      if (path === '/echo')
        return json(res, 201, {
          method: req.method,
          url: req.url,
          body: req.body ? JSON.parse(req.body) : null,
          contentType: req.headers['content-type'],
        });
      if (path === '/missing') return json(res, 404, problem(404, 'not-found'), 'application/problem+json');
      if (path === '/headers')
        return json(res, 200, {
          traceparent: req.headers.traceparent ?? null,
          requestId: req.headers['x-request-id'] ?? null,
        });
      json(res, 500, problem(500, 'internal'));
    });
  });
  after(async () => {
    for (const res of hanging) res.destroy();
    await upstream.close();
  });

  it('sends JSON with query parameters and returns status, headers and the parsed body', async () => {
    const client = createServiceClient({ name: 'echo', baseUrl: `${upstream.url}/` });
    const res = await client.request<{ method: string; url: string; body: unknown; contentType: string }>(
      'POST',
      '/echo',
      { body: { seats: ['A1'] }, query: { eventId: 'e1', limit: 5, skip: undefined } },
    );
    expect(res.status).to.equal(201);
    expect(res.headers.get('content-type')).to.equal('application/json');
    expect(res.body).to.deep.equal({
      method: 'POST',
      url: '/echo?eventId=e1&limit=5',
      body: { seats: ['A1'] },
      contentType: 'application/json',
    });
  });

  it('a call that does not answer in time fails with kind timeout (504) and is not retried', async () => {
    const client = createServiceClient({
      name: 'slow',
      baseUrl: upstream.url,
      timeoutMs: 5000,
      retries: 3,
      backoffMs: 1,
    });
    const err = await rejection(client.request('GET', '/hang', { timeoutMs: 150 }));
    expect(err).to.include({ kind: 'timeout', service: 'slow', status: 504, attempts: 1 });
    expect(upstream.seen('/hang')).to.have.length(1);
    expect(err.toHttpProblem().type).to.equal(`${PROBLEM_BASE}gateway-timeout`);
  });

  it('retries a GET on 503 with backoff and returns the later success, recording each attempt', async () => {
    const { logger, records } = capturingLogger();
    const metrics = createMetrics('caller', { collectDefault: false });
    const client = createServiceClient({
      name: 'flaky',
      baseUrl: upstream.url,
      retries: 2,
      backoffMs: 1,
      logger,
      registry: metrics.registry,
    });
    const res = await client.request('GET', '/flaky');
    expect(res).to.deep.include({ status: 200, body: { ok: true, attempt: 2 } });
    expect(upstream.seen('/flaky')).to.have.length(2);
    expect(records.filter((r) => r.msg === 'retrying upstream call')).to.have.length(1);
    expect(records[0]).to.include({ upstream: 'flaky', upstreamStatus: 503, attempt: 1 });
    const counts = (
      await metrics.registry.getSingleMetric('http_client_request_duration_seconds')!.get()
    ).values.filter((v: any) => v.metricName === 'http_client_request_duration_seconds_count');
    expect(counts.map((v) => [v.labels.outcome, v.value])).to.have.deep.members([
      ['503', 1],
      ['200', 1],
    ]);
    expect(counts.every((v) => v.labels.upstream === 'flaky' && v.labels.method === 'GET')).to.equal(true);
    // A second client of the same service shares the histogram instead of failing to register it again.
    createServiceClient({ name: 'other', baseUrl: upstream.url, registry: metrics.registry });
  });

  it('gives up after the configured retries with kind http and the upstream problem body', async () => {
    const client = createServiceClient({ name: 'down', baseUrl: upstream.url, retries: 2, backoffMs: 1 });
    const err = await rejection(client.request('DELETE', '/down'));
    expect(err).to.include({ kind: 'http', upstreamStatus: 503, attempts: 3, status: 503 });
    expect((err.problem as any).type).to.equal(`${PROBLEM_BASE}unavailable`);
    expect(upstream.seen('/down')).to.have.length(3);
  });

  it('never retries a POST without an Idempotency-Key', async () => {
    const client = createServiceClient({ name: 'orders', baseUrl: upstream.url, retries: 3, backoffMs: 1 });
    const before = upstream.seen('/bad-gateway-then-ok').length;
    const err = await rejection(client.request('POST', '/bad-gateway-then-ok', { body: { a: 1 } }));
    expect(err).to.include({ kind: 'http', upstreamStatus: 502, attempts: 1, status: 502 });
    expect(upstream.seen('/bad-gateway-then-ok').length - before).to.equal(1);
  });

  it('retries a POST that carries an Idempotency-Key, sending the same key each time', async () => {
    const client = createServiceClient({ name: 'orders', baseUrl: upstream.url, retries: 3, backoffMs: 1 });
    const before = upstream.seen('/bad-gateway-then-ok').length; // 1 from the previous test
    const res = await client.request('POST', '/bad-gateway-then-ok', { body: { a: 1 }, idempotencyKey: 'key-123' });
    expect(res.status).to.equal(200);
    const calls = upstream.seen('/bad-gateway-then-ok').slice(before);
    expect(calls).to.have.length(2);
    expect(calls.map((c) => c.headers['idempotency-key'])).to.deep.equal(['key-123', 'key-123']);
    expect(calls.map((c) => JSON.parse(c.body))).to.deep.equal([{ a: 1 }, { a: 1 }]);
  });

  it('does not retry a 4xx, and passes an upstream 4xx problem through toHttpProblem', async () => {
    const client = createServiceClient({ name: 'inventory', baseUrl: upstream.url, retries: 3, backoffMs: 1 });
    const err = await rejection(client.request('GET', '/conflict'));
    expect(err).to.include({
      kind: 'http',
      upstreamStatus: 409,
      attempts: 1,
      problemType: `${PROBLEM_BASE}seats-unavailable`,
    });
    const p = err.toHttpProblem();
    expect(p.toBody()).to.deep.equal({
      type: `${PROBLEM_BASE}seats-unavailable`,
      title: 'seats-unavailable',
      status: 409,
      detail: 'upstream says seats-unavailable',
      seats: ['A1'],
    });
    expect(upstream.seen('/conflict')).to.have.length(1);
  });

  it('returns allowed error statuses instead of throwing', async () => {
    const client = createServiceClient({ name: 'catalog', baseUrl: upstream.url });
    const res = await client.request('GET', '/missing', { allowStatuses: [404] });
    expect(res.status).to.equal(404);
    expect((res.body as any).type).to.equal(`${PROBLEM_BASE}not-found`);
  });

  it('a refused connection is kind unavailable (503), retried for idempotent calls', async () => {
    const { logger, records } = capturingLogger();
    const client = createServiceClient({
      name: 'gone',
      baseUrl: `http://127.0.0.1:${await freePort()}`,
      retries: 2,
      backoffMs: 1,
      logger,
    });
    const err = await rejection(client.request('GET', '/anything'));
    expect(err).to.include({ kind: 'unavailable', status: 503, attempts: 3 });
    expect(records.filter((r) => r.msg === 'retrying upstream call')).to.have.length(2);
    expect(records.at(-1)).to.include({ msg: 'upstream call failed', kind: 'unavailable', attempts: 3 });
  });

  it('an unhandled UpstreamError in a route renders as a gateway problem', async () => {
    const logger = createLogger('caller', { level: 'silent' });
    const client = createServiceClient({ name: 'slow', baseUrl: upstream.url, timeoutMs: 100 });
    const app = createServiceApp({
      service: 'caller',
      logger,
      metrics: createMetrics('caller', { collectDefault: false }),
    });
    app.use(async (ctx) => {
      ctx.body = (await client.request('GET', '/hang')).body;
    });
    const server = await listen(app.callback(), 0);
    try {
      const res = await fetch(`${server.url}/x`);
      expect(res.status).to.equal(504);
      expect(res.headers.get('content-type')).to.match(/problem\+json/);
      expect((await res.json()).type).to.equal(`${PROBLEM_BASE}gateway-timeout`);
    } finally {
      await server.close(1000);
    }
  });

  describe('with tracing registered in this process', () => {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    before(() => {
      context.setGlobalContextManager(new AlsContextManager());
      propagation.setGlobalPropagator(new W3CTraceContextPropagator());
      trace.setGlobalTracerProvider(provider);
    });
    after(() => {
      trace.disable();
      propagation.disable();
      context.disable();
    });

    it('forwards the W3C traceparent of its client span and the x-request-id of the current request', async () => {
      const client = createServiceClient({ name: 'peer', baseUrl: upstream.url });
      const { res, callerTraceId, callerSpanId } = await requestContext.run({ requestId: 'req-abc-1' }, () =>
        withSpan('caller-operation', async (span) => ({
          res: await client.request<{ traceparent: string; requestId: string }>('GET', '/headers'),
          callerTraceId: span.spanContext().traceId,
          callerSpanId: span.spanContext().spanId,
        })),
      );
      expect(res.body.requestId).to.equal('req-abc-1');
      const [, traceId, parentId, flags] = res.body.traceparent.split('-');
      expect(traceId).to.equal(callerTraceId);
      expect(flags).to.equal('01');
      await provider.forceFlush();
      const clientSpan = exporter.getFinishedSpans().find((s) => s.name === 'GET peer')!;
      expect(clientSpan.spanContext().spanId).to.equal(parentId);
      expect(clientSpan.parentSpanContext?.spanId).to.equal(callerSpanId);
      expect(clientSpan.attributes['http.response.status_code']).to.equal(200);
    });
  });
});
