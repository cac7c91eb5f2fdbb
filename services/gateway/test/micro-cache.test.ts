// The micro-cache of public responses (proxy/micro-cache.ts): anonymous GETs of public routes answered from
// the gateway's memory when the service said `public, max-age`, and never anything per-user. The bound here
// (MICROCACHE_MS) is a minute, so every fresh answer below comes from a rule, not from an expiry.
import { expect } from 'chai';
import { startFakeUpstream, type FakeUpstream } from '@eventtickets/platform/testing';
import {
  newSigningKey,
  rawRequest,
  signToken,
  startGateway,
  startUsersWithJwks,
  type RunningGateway,
} from './helpers.ts';

describe('gateway/micro-cache: public responses answered from memory, never per-user ones', () => {
  let users: Awaited<ReturnType<typeof startUsersWithJwks>>;
  let catalog: FakeUpstream;
  let gw: RunningGateway;
  let organizerToken: string;
  /** Upstream answers per path: the n-th answer of a path carries n. */
  const served = new Map<string, number>();
  const countOf = (path: string) => served.get(path) ?? 0;

  before(async () => {
    const key = await newSigningKey('k1');
    users = await startUsersWithJwks([key]);
    organizerToken = await signToken(key, { sub: 'org-1', role: 'organizer', email: 'org@example.com' });
    catalog = await startFakeUpstream('catalog', (ctx) => {
      const n = countOf(ctx.path) + 1;
      served.set(ctx.path, n);
      if (ctx.method === 'PATCH') {
        ctx.body = { n };
        return true;
      }
      const who = ctx.get('x-user-id') || 'anonymous';
      ctx.set('ETag', `W/"${ctx.path}-${n}"`);
      ctx.set('Vary', 'x-user-id');
      if (ctx.path.endsWith('/private')) ctx.set('Cache-Control', 'private, no-cache');
      else if (ctx.path.endsWith('/cookie')) {
        ctx.set('Cache-Control', 'public, max-age=5');
        ctx.set('Set-Cookie', 'a=b');
      } else ctx.set('Cache-Control', who === 'anonymous' ? 'public, max-age=5' : 'private, no-cache');
      ctx.body = { path: ctx.path, n, who };
      return true;
    });
    gw = await startGateway({ USERS_URL: users.url, CATALOG_URL: catalog.url, MICROCACHE_MS: '60000' });
  });
  after(async () => {
    await gw?.close();
    await catalog?.close();
    await users?.close();
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${gw.url}${path}`, { headers });

  it('answers the same anonymous GET from memory, with an Age and its own request id', async () => {
    const first = await get('/api/events/e1');
    expect(first.status).to.equal(200);
    expect(await first.json()).to.deep.equal({ path: '/api/events/e1', n: 1, who: 'anonymous' });
    expect(first.headers.get('age')).to.equal(null);
    const second = await get('/api/events/e1');
    expect(second.status).to.equal(200);
    expect(await second.json()).to.deep.equal({ path: '/api/events/e1', n: 1, who: 'anonymous' });
    expect(second.headers.get('age')).to.match(/^\d+$/);
    expect(second.headers.get('etag')).to.equal('W/"/api/events/e1-1"');
    expect(second.headers.get('cache-control')).to.equal('public, max-age=5');
    expect(second.headers.get('x-request-id')).to.be.a('string').and.not.equal(first.headers.get('x-request-id'));
    expect(countOf('/api/events/e1')).to.equal(1);
    // another query string is another resource
    expect(((await (await get('/api/events/e1?x=1')).json()) as { n: number }).n).to.equal(2);
  });

  it('answers 304 from memory when the client has the ETag', async () => {
    // node:http, not fetch: fetch turns a request with If-None-Match into Cache-Control: no-cache (the fetch
    // standard's cache mode), which rightly goes to the service
    const first = await rawRequest(gw.url, '/api/events/e304');
    const etag = String(first.headers.etag);
    const again = await rawRequest(gw.url, '/api/events/e304', { headers: { 'if-none-match': etag } });
    expect(again.status).to.equal(304);
    expect(again.headers.etag).to.equal(etag);
    expect(again.headers.age).to.match(/^\d+$/);
    expect(again.body).to.equal('');
    expect(countOf('/api/events/e304')).to.equal(1);
  });

  it('never answers or fills from memory for a request with a token', async () => {
    const auth = { authorization: `Bearer ${organizerToken}` };
    await (await get('/api/events/e2')).text(); // anonymous: stored
    const mine = await get('/api/events/e2', auth);
    expect(((await mine.json()) as { who: string }).who).to.equal('org-1');
    expect(mine.headers.get('age')).to.equal(null);
    expect(((await (await get('/api/events/e2', auth)).json()) as { n: number }).n).to.equal(3);
    // and the anonymous copy is still the anonymous one
    expect(await (await get('/api/events/e2')).json()).to.deep.equal({
      path: '/api/events/e2',
      n: 1,
      who: 'anonymous',
    });
  });

  it('keeps nothing the service did not mark public, nor a response setting a cookie', async () => {
    await (await get('/api/events/private')).text();
    await (await get('/api/events/private')).text();
    expect(countOf('/api/events/private')).to.equal(2);
    await (await get('/api/events/cookie')).text();
    await (await get('/api/events/cookie')).text();
    expect(countOf('/api/events/cookie')).to.equal(2);
  });

  it('a write forwarded to the service drops its copies', async () => {
    await (await get('/api/events/e3')).text();
    const patched = await fetch(`${gw.url}/api/events/e3`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${organizerToken}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(patched.status).to.equal(200);
    const after = await get('/api/events/e3');
    expect(((await after.json()) as { n: number }).n).to.equal(3); // 1: first GET, 2: the PATCH, 3: this GET
    expect(after.headers.get('age')).to.equal(null);
  });

  it("a client's Cache-Control: no-cache goes to the service and refreshes the copy", async () => {
    await (await get('/api/events/e4')).text();
    const fresh = await get('/api/events/e4', { 'cache-control': 'no-cache' });
    expect(((await fresh.json()) as { n: number }).n).to.equal(2);
    expect(((await (await get('/api/events/e4')).json()) as { n: number }).n).to.equal(2);
  });

  it('MICROCACHE_MS=0 turns it off', async () => {
    const off = await startGateway({ USERS_URL: users.url, CATALOG_URL: catalog.url, MICROCACHE_MS: '0' });
    try {
      await (await fetch(`${off.url}/api/events/e5`)).text();
      await (await fetch(`${off.url}/api/events/e5`)).text();
      expect(countOf('/api/events/e5')).to.equal(2);
    } finally {
      await off.close();
    }
  });
});
