import { expect } from 'chai';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { PROBLEM_BASE } from '@eventtickets/platform';
import { compileTable } from '../src/domain/routing.ts';
import { DEFAULT_TABLE_FILE } from '../src/routing/table.ts';
import { startFakeUpstream, waitFor, type FakeUpstream } from '@eventtickets/platform/testing';
import { counterValue, rawRequest, startGateway, unusedUrl, type RunningGateway } from './helpers.ts';

/** The real routing table with fan-out off: these tests are about the plain streaming proxy (a `stream` route
 *  passed through connection by connection); the shared availability streams are tested in fanout.test.ts. */
const passThroughTable = compileTable({
  routes: (parse(readFileSync(DEFAULT_TABLE_FILE, 'utf8')) as { routes: object[] }).routes.map((r) => ({
    ...r,
    fanout: false,
  })),
});

/** A deferred: a promise the test resolves by hand. */
interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}
function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('gateway/proxy: streaming, failures and limits', () => {
  let inventory: FakeUpstream;
  let catalog: FakeUpstream;
  let payments: FakeUpstream;
  let gw: RunningGateway;
  // What the fake upstreams signal to the test (and the test to them), fresh for every test: each test
  // passes alone and in any order.
  let signals: { secondEvent: Deferred; streamOpened: Deferred; streamClosed: Deferred; slowClosed: Deferred };
  /** The large answer's upstream side: bytes written so far, and whether its socket is full (waiting for drain). */
  const big = { total: 64 * 1024 * 1024, written: 0, full: false };

  before(async () => {
    inventory = await startFakeUpstream('inventory', async (ctx) => {
      const { secondEvent, streamOpened, streamClosed } = signals;
      if (ctx.path === '/api/events/e1/availability/stream') {
        // SSE written by hand: one event now, the next only when the test says so.
        ctx.respond = false;
        ctx.res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        ctx.res.write('event: snapshot\ndata: {"seq":1}\n\n');
        void secondEvent.promise.then(() => ctx.res.end('event: seat\ndata: {"seq":2}\n\n'));
        return true;
      }
      if (ctx.path === '/api/events/e2/availability/stream') {
        ctx.respond = false;
        ctx.res.writeHead(200, { 'content-type': 'text/event-stream' });
        ctx.res.write('data: hello\n\n');
        ctx.req.on('close', () => streamClosed.resolve());
        streamOpened.resolve();
        return true;
      }
      return false;
    });
    catalog = await startFakeUpstream('catalog', async (ctx) => {
      if (ctx.path === '/api/events/big') {
        // 64 MiB in 64 KiB chunks, written only as fast as the connection to the gateway takes them.
        ctx.respond = false;
        const res = ctx.res;
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const chunk = Buffer.alloc(64 * 1024, 0x63);
        big.written = 0;
        const more = () => {
          while (big.written < big.total) {
            big.written += chunk.length;
            if (!res.write(chunk)) {
              big.full = true;
              res.once('drain', () => {
                big.full = false;
                more();
              });
              return;
            }
          }
          res.end();
        };
        more();
        return true;
      }
      if (ctx.path === '/api/events/slow') {
        const { slowClosed } = signals;
        // Never answers on its own; ends only when the gateway gives up and closes the connection.
        await new Promise<void>((resolve) => ctx.req.on('close', () => resolve()));
        slowClosed.resolve();
        ctx.respond = false;
        return true;
      }
      return false;
    });
    payments = await startFakeUpstream('payments');
    gw = await startGateway(
      {
        INVENTORY_URL: inventory.url,
        CATALOG_URL: catalog.url,
        PAYMENTS_URL: payments.url,
        UPSTREAM_TIMEOUT_MS: '400',
        BODY_LIMIT: '1kb',
      },
      { table: passThroughTable },
    );
  });
  beforeEach(() => {
    signals = { secondEvent: deferred(), streamOpened: deferred(), streamClosed: deferred(), slowClosed: deferred() };
  });
  afterEach(() => {
    signals.secondEvent.resolve(); // a stream a failed test left open ends
  });
  after(async () => {
    await gw?.close();
    await Promise.all([inventory, catalog, payments].map((u) => u?.close()));
  });

  it('passes SSE through event by event, unbuffered', async () => {
    const res = await fetch(`${gw.url}/api/events/e1/availability/stream`, {
      headers: { accept: 'text/event-stream' },
    });
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/event-stream/);
    expect(res.headers.get('x-accel-buffering')).to.equal('no');
    expect(res.headers.get('content-encoding')).to.equal(null);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('\n\n')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    // The first event arrived while the upstream is still holding back the second one.
    expect(text).to.equal('event: snapshot\ndata: {"seq":1}\n\n');
    signals.secondEvent.resolve();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    expect(text).to.equal('event: snapshot\ndata: {"seq":1}\n\nevent: seat\ndata: {"seq":2}\n\n');
  });

  it('cancels the upstream request when the client goes away', async () => {
    const controller = new AbortController();
    const res = await fetch(`${gw.url}/api/events/e2/availability/stream`, { signal: controller.signal });
    expect(res.status).to.equal(200);
    await signals.streamOpened.promise;
    controller.abort();
    await signals.streamClosed.promise; // resolves only if the gateway closed its upstream request
  });

  it("holds the upstream back while the client's socket is full (backpressure), then passes every byte", async () => {
    const { hostname, port } = new URL(gw.url);
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get({ hostname, port, path: '/api/events/big' }, resolve).on('error', reject);
    });
    res.pause(); // the client reads nothing for now
    expect(res.statusCode).to.equal(200);
    // The upstream stops where the sockets' buffers are full: the gateway does not read its whole answer into memory.
    let last = -1;
    await waitFor(
      'the upstream to be held back by the paused client',
      () => {
        const stalled = big.full && big.written === last;
        last = big.written;
        return stalled;
      },
      { intervalMs: 200 },
    );
    expect(big.written).to.be.below(big.total);
    let received = 0;
    res.on('data', (c: Buffer) => {
      received += c.length;
    });
    res.resume();
    await new Promise((resolve) => res.on('end', resolve));
    expect(received).to.equal(big.total);
  });

  it('turns an unreachable upstream into a 502 problem, and counts it', async () => {
    // A refused connection is a 502 at once, never the 504 of the route timeout.
    const down = await startGateway({ CATALOG_URL: await unusedUrl(), UPSTREAM_TIMEOUT_MS: '20000' });
    try {
      const res = await fetch(`${down.url}/api/events/e1`);
      expect(res.status).to.equal(502);
      expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
      const body = await res.json();
      expect(body.type).to.equal(`${PROBLEM_BASE}bad-gateway`);
      expect(body.detail).to.match(/catalog/);
      const metrics = await (await fetch(`${down.url}/metrics`)).text();
      expect(metrics).to.match(
        /^gateway_upstream_failures_total\{(?=[^}]*upstream="catalog")(?=[^}]*reason="unreachable")[^}]*\} 1$/m,
      );
    } finally {
      await down.close();
    }
  });

  it("a route's own timeoutMs overrides the default: the slow route gives up at its 150 ms, others keep theirs", async () => {
    const table = compileTable({
      routes: [
        { path: '/api/events/slow', methods: ['GET'], service: 'catalog', auth: 'public', timeoutMs: 150 },
        { path: '/api/events/{id}', methods: ['GET'], service: 'catalog', auth: 'public' },
      ],
    });
    const own = await startGateway({ CATALOG_URL: catalog.url, UPSTREAM_TIMEOUT_MS: '20000' }, { table });
    try {
      const res = await fetch(`${own.url}/api/events/slow`);
      expect(res.status).to.equal(504);
      expect((await res.json()).detail).to.match(/within 150 ms/);
      await signals.slowClosed.promise;
      expect((await fetch(`${own.url}/api/events/e1`)).status).to.equal(200);
    } finally {
      await own.close();
    }
  });

  it('turns a slow upstream into a 504 problem at the route timeout, counts it and releases the upstream', async () => {
    const timeouts = () =>
      counterValue(gw, 'gateway_upstream_failures_total', { upstream: 'catalog', reason: 'timeout' });
    const before = await timeouts();
    const res = await fetch(`${gw.url}/api/events/slow`);
    expect(res.status).to.equal(504);
    const body = await res.json();
    expect(body.type).to.equal(`${PROBLEM_BASE}gateway-timeout`);
    expect(body.detail).to.match(/400 ms/);
    expect(await timeouts()).to.equal(before + 1);
    await signals.slowClosed.promise;
  });

  it('refuses a body over the limit with 413 before the upstream sees anything (declared length)', async () => {
    const before = payments.seen.length;
    const res = await rawRequest(gw.url, '/api/payments/webhooks/sim', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': '2048' },
      body: Buffer.alloc(2048, 0x61),
    });
    expect(res.status).to.equal(413);
    expect(JSON.parse(res.body).type).to.equal(`${PROBLEM_BASE}payload-too-large`);
    expect(payments.seen.length).to.equal(before);
    // just under the limit passes
    const ok = await rawRequest(gw.url, '/api/payments/webhooks/sim', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.alloc(1000, 0x61),
    });
    expect(ok.status).to.equal(200);
    expect(payments.seen.length).to.equal(before + 1);
  });

  it('refuses a chunked body that grows past the limit with 413, and the upstream never gets it whole', async () => {
    const before = payments.seen.length;
    const { hostname, port } = new URL(gw.url);
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        {
          hostname,
          port,
          path: '/api/payments/webhooks/sim',
          method: 'POST',
          headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        },
        (r) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        },
      );
      req.on('error', reject);
      for (let i = 0; i < 8; i++) req.write(Buffer.alloc(512, 0x62));
      req.end();
    });
    expect(res.status).to.equal(413);
    expect(JSON.parse(res.body).type).to.equal(`${PROBLEM_BASE}payload-too-large`);
    expect(payments.seen.length).to.equal(before);
  });
});
