import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { PROBLEM_BASE, listen, verifyInternalToken } from '@eventtickets/platform';
import { createMetricsApp } from '../src/metrics.ts';
import { compileTable } from '../src/domain/routing.ts';
import { loadRoutingTable } from '../src/routing/table.ts';
import { startFakeUpstream, TEST_INTERNAL_TOKEN_SECRET, type FakeUpstream } from '@eventtickets/platform/testing';
import {
  newSigningKey,
  rawRequest,
  signToken,
  startGateway,
  startUsersWithJwks,
  type RunningGateway,
  type SigningKey,
} from './helpers.ts';

describe('gateway/routing table (pure)', () => {
  const table = loadRoutingTable();
  const owner = (method: string, path: string) => {
    const m = table.match(method, path);
    return m?.kind === 'route' ? m.route.service : m?.kind;
  };

  it('sends the most specific path to its owner', () => {
    expect(owner('GET', '/api/events/42/availability')).to.equal('inventory');
    expect(owner('GET', '/api/events/42/availability/stream')).to.equal('inventory');
    expect(owner('GET', '/api/events/42/sales')).to.equal('orders');
    expect(owner('GET', '/api/events/42')).to.equal('catalog');
    expect(owner('POST', '/api/events/42/publish')).to.equal('catalog');
    expect(owner('POST', '/api/payments/webhooks/sim')).to.equal('payments');
    expect(owner('GET', '/api/payments/methods')).to.equal('payments');
  });

  it('prefers literal over {param} over /** at the first differing segment, whatever the file order', () => {
    const t = compileTable({
      routes: [
        { path: '/api/things/**', methods: ['GET'], service: 'catalog', auth: 'user' },
        { path: '/api/things/{id}', methods: ['GET'], service: 'orders', auth: 'user' },
        { path: '/api/things/special', methods: ['GET'], service: 'users', auth: 'public' },
      ],
    });
    const svc = (p: string) => {
      const m = t.match('GET', p);
      return m?.kind === 'route' ? m.route.service : undefined;
    };
    expect(svc('/api/things/special')).to.equal('users');
    expect(svc('/api/things/7')).to.equal('orders');
    expect(svc('/api/things/7/parts')).to.equal('catalog');
    expect(svc('/api/things')).to.equal(undefined);
  });

  it('reports 405 with the allowed methods of the winning path, and HEAD follows GET', () => {
    const m = table.match('DELETE', '/api/events');
    expect(m).to.deep.include({ kind: 'method-not-allowed', template: '/api/events' });
    expect((m as { allow: string[] }).allow).to.include.members(['GET', 'POST']);
    expect(table.match('HEAD', '/api/events/1')?.kind).to.equal('route');
  });

  it('falls back to a less specific path that has the method before answering 405', () => {
    const t = compileTable({
      routes: [
        { path: '/api/things/**', methods: ['GET', 'POST'], service: 'catalog', auth: 'user' },
        { path: '/api/things/hooks/{provider}', methods: ['POST'], service: 'payments', auth: 'public' },
      ],
    });
    const m = t.match('GET', '/api/things/hooks/psp');
    expect(m?.kind === 'route' && m.route.template).to.equal('/api/things/**');
    expect(t.match('POST', '/api/things/hooks/psp')).to.deep.include({ kind: 'route' });
    expect((t.match('POST', '/api/things/hooks/psp') as { route: { auth: string } }).route.auth).to.equal('public');
  });

  it('refuses a malformed table at load time', () => {
    expect(() =>
      compileTable({ routes: [{ path: '/api/x', methods: ['GET'], service: 'nope', auth: 'public' }] }),
    ).to.throw();
    expect(() =>
      compileTable({ routes: [{ path: 'api/x', methods: ['GET'], service: 'users', auth: 'public' }] }),
    ).to.throw();
    expect(() =>
      compileTable({ routes: [{ path: '/api/x', methods: ['GET'], service: 'users', auth: 'public', extra: 1 }] }),
    ).to.throw();
    expect(() =>
      compileTable({
        routes: [
          { path: '/api/x', methods: ['GET'], service: 'users', auth: 'public' },
          { path: '/api/x', methods: ['GET'], service: 'orders', auth: 'public' },
        ],
      }),
    ).to.throw(/listed twice/);
  });
});

describe('gateway/routing through real upstreams', () => {
  const names = ['catalog', 'inventory', 'orders', 'payments', 'notifications'] as const;
  const upstreams: Record<string, FakeUpstream> = {};
  let users: Awaited<ReturnType<typeof startUsersWithJwks>>;
  let key: SigningKey;
  let gw: RunningGateway;
  let buyer: string;
  let organizer: string;

  before(async () => {
    key = await newSigningKey('k1');
    users = await startUsersWithJwks([key]);
    for (const name of names) upstreams[name] = await startFakeUpstream(name);
    upstreams.users = users;
    gw = await startGateway({
      USERS_URL: users.url,
      CATALOG_URL: upstreams.catalog.url,
      INVENTORY_URL: upstreams.inventory.url,
      ORDERS_URL: upstreams.orders.url,
      PAYMENTS_URL: upstreams.payments.url,
      NOTIFICATIONS_URL: upstreams.notifications.url,
    });
    buyer = await signToken(key, { sub: 'buyer-1', role: 'buyer', email: 'buyer@example.com' });
    organizer = await signToken(key, { sub: 'org-1', role: 'organizer', email: 'organizer@example.com' });
  });
  after(async () => {
    await gw?.close();
    await Promise.all(Object.values(upstreams).map((u) => u.close()));
  });

  const cases: Array<[method: string, path: string, service: string, who: 'anon' | 'buyer' | 'organizer']> = [
    ['POST', '/api/auth/login', 'users', 'anon'],
    ['GET', '/api/me', 'users', 'buyer'],
    ['GET', '/api/events?q=jazz&cursor=abc', 'catalog', 'anon'],
    ['GET', '/api/events/ev-1', 'catalog', 'anon'],
    ['GET', '/api/venues/v-1', 'catalog', 'anon'],
    ['GET', '/api/events/ev-1/availability', 'inventory', 'anon'],
    ['POST', '/api/holds', 'inventory', 'buyer'],
    ['GET', '/api/events/ev-1/sales', 'orders', 'organizer'],
    ['GET', '/api/tickets/t-1/qr.svg', 'orders', 'buyer'],
    ['POST', '/api/payments/webhooks/sim', 'payments', 'anon'],
    ['GET', '/api/notifications', 'notifications', 'buyer'],
  ];
  for (const [method, path, service, who] of cases) {
    it(`${method} ${path} reaches ${service} with the path unchanged`, async () => {
      const token = who === 'buyer' ? buyer : who === 'organizer' ? organizer : undefined;
      const res = await fetch(gw.url + path, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
        },
        body: method === 'POST' ? '{"email":"a@example.com"}' : undefined,
      });
      expect(res.status).to.equal(200);
      expect(res.headers.get('x-served-by')).to.equal(service);
      expect(await res.json()).to.deep.equal({ service, method, url: path });
    });
  }

  it('passes the request body through byte for byte, without re-parsing', async () => {
    const body = Buffer.from('{ "seats" : ["A1",  "A2"],\n"note":"\\u00e9t\u00e9" }  ');
    const before = upstreams.inventory.seen.length;
    const res = await fetch(`${gw.url}/api/holds`, {
      method: 'POST',
      headers: { authorization: `Bearer ${buyer}`, 'content-type': 'application/json' },
      body,
    });
    expect(res.status).to.equal(200);
    const seen = upstreams.inventory.seen[before];
    expect(seen.bodyLength).to.equal(body.length);
    expect(seen.bodySha256).to.equal(createHash('sha256').update(body).digest('hex'));
    expect(seen.headers['content-type']).to.equal('application/json');
  });

  it('forwards the verified identity, request id and a continued trace; strips hop-by-hop headers', async () => {
    const before = upstreams.orders.seen.length;
    const incomingTrace = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const res = await rawRequest(gw.url, '/api/orders', {
      headers: {
        authorization: `Bearer ${buyer}`,
        'x-request-id': 'req-abc-123',
        traceparent: incomingTrace,
        connection: 'keep-alive, x-hop-secret',
        'x-hop-secret': 'do-not-forward',
        te: 'trailers',
      },
    });
    expect(res.status).to.equal(200);
    expect(res.headers['x-request-id']).to.equal('req-abc-123');
    const h = upstreams.orders.seen[before].headers;
    // the identity travels as an internal token signed for orders (the service verifies it), with the headers it proves
    const claims = verifyInternalToken(String(h['x-internal-token']), TEST_INTERNAL_TOKEN_SECRET, {
      audience: 'orders',
    });
    expect(claims).to.include({
      sub: 'buyer-1',
      role: 'buyer',
      email: 'buyer@example.com',
      iss: 'gateway',
      aud: 'orders',
    });
    expect(claims.exp - claims.iat).to.equal(60);
    expect(h['x-user-id']).to.equal('buyer-1');
    expect(h['x-user-role']).to.equal('buyer');
    expect(h['x-user-email']).to.equal('buyer@example.com');
    expect(h['x-request-id']).to.equal('req-abc-123');
    const [version, traceId, parentId, flags] = String(h.traceparent).split('-');
    expect([version, traceId, flags]).to.deep.equal(['00', '4bf92f3577b34da6a3ce929d0e0e4736', '01']);
    expect(parentId)
      .to.match(/^[0-9a-f]{16}$/)
      .and.not.equal('00f067aa0ba902b7');
    expect(h).not.to.have.property('x-hop-secret');
    expect(h).not.to.have.property('te');
    expect(h['x-forwarded-proto']).to.equal('http');
  });

  it('starts a trace and a request id when the caller sent none', async () => {
    const before = upstreams.catalog.seen.length;
    const res = await fetch(`${gw.url}/api/events`);
    const h = upstreams.catalog.seen[before].headers;
    expect(String(h.traceparent)).to.match(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(h['x-request-id']).to.be.a('string').and.equal(res.headers.get('x-request-id'));
  });

  it('ignores spoofed identity headers on every route', async () => {
    // a client's own internal token (say, one stolen from a log) is dropped like the identity headers
    const stolen = (await fetch(`${gw.url}/api/me`, { headers: { authorization: `Bearer ${buyer}` } })).ok
      ? String(upstreams.users.seen.at(-1)!.headers['x-internal-token'])
      : '';
    expect(stolen).to.match(/^ey/);
    const spoof = {
      'x-user-id': 'admin-1',
      'x-user-role': 'admin',
      'x-user-email': 'root@example.com',
      'x-internal-token': stolen,
    };
    // public route, anonymous: nothing arrives
    let before = upstreams.catalog.seen.length;
    expect((await fetch(`${gw.url}/api/events/e1`, { headers: spoof })).status).to.equal(200);
    for (const name of Object.keys(spoof)) expect(upstreams.catalog.seen[before].headers).not.to.have.property(name);
    // authenticated route: the token's identity wins, in a token the gateway signed itself
    before = upstreams.users.seen.length;
    expect(
      (await fetch(`${gw.url}/api/me`, { headers: { ...spoof, authorization: `Bearer ${buyer}` } })).status,
    ).to.equal(200);
    const seen = upstreams.users.seen[before].headers;
    expect(seen).to.include({ 'x-user-id': 'buyer-1', 'x-user-role': 'buyer', 'x-user-email': 'buyer@example.com' });
    expect(
      verifyInternalToken(String(seen['x-internal-token']), TEST_INTERNAL_TOKEN_SECRET, { audience: 'users' }),
    ).to.include({ sub: 'buyer-1', role: 'buyer' });
    // admin-only route with a spoofed admin role and no token: refused
    const admin = await fetch(`${gw.url}/api/users`, { headers: spoof });
    expect(admin.status).to.equal(401);
  });

  it('answers unknown API paths, wrong methods and ambiguous paths with problems, without calling upstreams', async () => {
    const counts = () => Object.values(upstreams).reduce((n, u) => n + u.seen.length, 0);
    const before = counts();
    const unknown = await fetch(`${gw.url}/api/nothing-here`);
    expect(unknown.status).to.equal(404);
    expect(unknown.headers.get('content-type')).to.match(/^application\/problem\+json/);
    const wrong = await fetch(`${gw.url}/api/events`, { method: 'DELETE' });
    expect(wrong.status).to.equal(405);
    expect(wrong.headers.get('allow')).to.include('GET').and.include('POST');
    expect((await wrong.json()).type).to.equal(`${PROBLEM_BASE}method-not-allowed`);
    for (const path of [
      '/api/events/x/..%2fsales',
      '/api/events/%2e%2e/me',
      '/api//me',
      '/api/events/',
      '/api/holds/',
    ]) {
      const res = await rawRequest(gw.url, path, { headers: { authorization: `Bearer ${buyer}` } });
      expect(res.status, path).to.equal(400);
      expect(JSON.parse(res.body).type).to.equal(`${PROBLEM_BASE}ambiguous-path`);
    }
    expect(counts()).to.equal(before);
  });

  it('answers 503 problem+json for a route whose service has no URL configured', async () => {
    const partial = await startGateway({ CATALOG_URL: upstreams.catalog.url });
    try {
      const res = await fetch(`${partial.url}/api/events/e1/availability`);
      expect(res.status).to.equal(503);
      const body = await res.json();
      expect(body.type).to.equal(`${PROBLEM_BASE}unavailable`);
      expect(body.detail).to.match(/inventory/);
      expect((await fetch(`${partial.url}/api/events/e1`)).status).to.equal(200);
    } finally {
      await partial.close();
    }
  });

  it('records RED metrics by route template', async () => {
    await fetch(`${gw.url}/api/events/some-event-id`);
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    expect(text).to.match(/http_server_request_duration_seconds_count\{[^}]*route="\/api\/events\/\{id\}"[^}]*\} \d+/);
    expect(text).not.to.include('some-event-id');
  });

  it('with METRICS_PORT, /metrics is only on the metrics app: the public port answers 404', async () => {
    const split = await startGateway({ CATALOG_URL: upstreams.catalog.url, METRICS_PORT: '9464' });
    const metricsServer = await listen(createMetricsApp(split.metrics).callback(), 0);
    try {
      await (await fetch(`${split.url}/api/events/e7`)).arrayBuffer();
      const publicMetrics = await fetch(`${split.url}/metrics`);
      expect(publicMetrics.status).to.equal(404);
      expect(publicMetrics.headers.get('content-type')).to.match(/^application\/problem\+json/);
      const text = await (await fetch(`${metricsServer.url}/metrics`)).text();
      expect(text).to.match(
        /http_server_request_duration_seconds_count\{[^}]*route="\/api\/events\/\{id\}"[^}]*\} \d+/,
      );
      expect((await fetch(`${metricsServer.url}/api/events/e7`)).status).to.equal(404);
    } finally {
      await metricsServer.close(1000);
      await split.close();
    }
  });
});
