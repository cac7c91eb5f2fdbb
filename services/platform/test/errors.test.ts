import { expect } from 'chai';
import Router from '@koa/router';
import { createLogger } from '../src/logger.ts';
import { createMetrics } from '../src/metrics.ts';
import { createServiceApp, listen } from '../src/http.ts';
import { HttpProblem, problems, PROBLEM_BASE } from '../src/errors.ts';

describe('platform/errors: problem+json', () => {
  const logger = createLogger('test', { level: 'silent' });
  let url: string;
  let close: () => Promise<void>;

  before(async () => {
    const app = createServiceApp({
      service: 'test',
      logger,
      metrics: createMetrics('test', { collectDefault: false }),
    });
    const router = new Router();
    router.get('/seats', (ctx) => {
      ctx.body = { seats: [] };
    });
    app.use(router.routes()).use(router.allowedMethods());
    app.use(async (ctx) => {
      if (ctx.path === '/conflict') throw problems.conflict('Seats taken', 'seats-unavailable', { seats: ['A1'] });
      if (ctx.path === '/boom') throw new Error('database password is hunter2');
      if (ctx.path === '/koa') ctx.throw(403, 'nope');
      if (ctx.path === '/lib')
        throw Object.assign(new Error('relation "users" does not exist at 10.0.0.7:5432'), { status: 400 });
      if (ctx.path === '/echo') ctx.body = { got: (ctx.request as any).body };
    });
    const s = await listen(app.callback(), 0);
    url = s.url;
    close = s.close;
  });
  after(() => close());

  it('renders an HttpProblem with its stable type and extensions', async () => {
    const res = await fetch(`${url}/conflict`);
    expect(res.status).to.equal(409);
    expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
    const body = await res.json();
    expect(body).to.include({
      type: `${PROBLEM_BASE}seats-unavailable`,
      title: 'Conflict',
      status: 409,
      detail: 'Seats taken',
      instance: '/conflict',
    });
    expect(body.seats).to.deep.equal(['A1']);
    expect(body.requestId).to.be.a('string');
  });

  it('turns an unexpected error into a 500 without leaking internals', async () => {
    const res = await fetch(`${url}/boom`);
    expect(res.status).to.equal(500);
    const text = await res.text();
    expect(text).not.to.include('hunter2');
    expect(JSON.parse(text).type).to.equal(`${PROBLEM_BASE}internal`);
  });

  it('maps koa http errors and unknown routes', async () => {
    const koa = await (await fetch(`${url}/koa`)).json();
    expect(koa).to.include({ type: `${PROBLEM_BASE}forbidden`, detail: 'nope' }); // ctx.throw marks its message as public
    // a library error that only carries a status keeps its message (SQL, hosts) to the logs
    const lib = await fetch(`${url}/lib`);
    expect(lib.status).to.equal(400);
    const libText = await lib.text();
    expect(libText).not.to.include('relation').and.not.to.include('10.0.0.7');
    expect(JSON.parse(libText).type).to.equal(`${PROBLEM_BASE}bad-request`);
    const res = await fetch(`${url}/missing`);
    expect(res.status).to.equal(404);
    expect((await res.json()).type).to.equal(`${PROBLEM_BASE}not-found`);
  });

  it("answers the router's 405 (wrong method) and 501 (unknown method) as problem+json, keeping Allow", async () => {
    const res = await fetch(`${url}/seats`, { method: 'DELETE' });
    expect(res.status).to.equal(405);
    expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(res.headers.get('allow')).to.include('GET');
    const body = await res.json();
    expect(body).to.include({ type: `${PROBLEM_BASE}method-not-allowed`, status: 405, instance: '/seats' });
    expect(body.detail).to.include('DELETE');
    const unknown = await fetch(`${url}/seats`, { method: 'PROPFIND' });
    expect(unknown.status).to.equal(501);
    expect(unknown.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect((await unknown.json()).type).to.equal(`${PROBLEM_BASE}not-implemented`);
    expect(await (await fetch(`${url}/seats`)).json()).to.deep.equal({ seats: [] });
  });

  it('rejects malformed JSON (400), a non-JSON body (415) and an over-large body (413)', async () => {
    const bad = await fetch(`${url}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":',
    });
    expect(bad.status).to.equal(400);
    expect((await bad.json()).type).to.equal(`${PROBLEM_BASE}malformed-json`);
    const text = await fetch(`${url}/echo`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' });
    expect(text.status).to.equal(415);
    const big = await fetch(`${url}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ a: 'x'.repeat(200_000) }),
    });
    expect(big.status).to.equal(413);
    const ok = await fetch(`${url}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    expect(await ok.json()).to.deep.equal({ got: { a: 1 } });
  });

  it('HttpProblem exposes headers such as Retry-After', () => {
    const p = problems.tooManyRequests(7);
    expect(p).to.be.instanceOf(HttpProblem);
    expect(p.headers['Retry-After']).to.equal('7');
  });
});
