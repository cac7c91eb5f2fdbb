// The routing table and the services' contracts agree: a path routes exactly the methods its owner's
// openapi.yaml has (so the gateway never forwards a method the service would refuse, and OPTIONS / 405 name
// only methods that work), and the gateway's own answers (OPTIONS, 405, its pages) say the same.
import { expect } from 'chai';
import { existsSync, readdirSync } from 'node:fs';
import { PROBLEM_BASE, loadOpenApiDocument } from '@eventtickets/platform';
import { startFakeUpstream, type FakeUpstream } from '@eventtickets/platform/testing';
import { loadRoutingTable } from '../src/routing/table.ts';
import { rawRequest, startGateway, type RunningGateway } from './helpers.ts';

const servicesDir = new URL('../../', import.meta.url);
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'];

/** `/api/events/{id}` and `/api/events/{eventId}` are one path. */
const shape = (template: string) => template.replace(/\{[^}]+\}/g, '{}');

/** Services (other than the gateway) with a contract in the repository, and its `METHOD /api/...` set. */
function contractOperations(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const dir of readdirSync(servicesDir)) {
    const file = new URL(`${dir}/openapi.yaml`, servicesDir);
    if (dir === 'gateway' || !existsSync(file)) continue;
    const document = loadOpenApiDocument(file.pathname);
    const ops = new Set<string>();
    for (const [path, item] of Object.entries(document.paths ?? {}) as Array<[string, any]>) {
      if (!path.startsWith('/api/')) continue; // /internal/... and /.well-known/... are not public
      for (const method of HTTP_METHODS) if (item?.[method]) ops.add(`${method.toUpperCase()} ${shape(path)}`);
    }
    out.set(dir, ops);
  }
  return out;
}

describe('gateway/routing table against the service contracts', () => {
  const table = loadRoutingTable();
  const contracts = contractOperations();

  it('finds the contracts of users, catalog and inventory', () => {
    expect([...contracts.keys()]).to.include.members(['users', 'catalog', 'inventory']);
  });

  for (const [service, operations] of contractOperations()) {
    it(`${service}: the table routes exactly the public operations of its openapi.yaml`, () => {
      const routed = new Set(
        table.routes
          .filter((r) => r.service === service)
          .flatMap((r) => r.methods.map((m) => `${m} ${shape(r.template)}`)),
      );
      expect([...routed].sort(), 'routed by the table but not in the contract').to.deep.equal(
        [...routed].filter((op) => operations.has(op)).sort(),
      );
      expect([...operations].sort(), 'in the contract but not routed by the table').to.deep.equal(
        [...operations].filter((op) => routed.has(op)).sort(),
      );
      // and each one reaches this service (no more specific path of another service shadows it)
      for (const op of operations) {
        const [method, template] = op.split(' ');
        const m = table.match(method, template.replace(/\{\}/g, 'x1'));
        expect(m?.kind === 'route' && m.route.service, op).to.equal(service);
      }
    });
  }
});

describe('gateway/OPTIONS and 405 name only what is routed', () => {
  const names = ['users', 'catalog', 'inventory'] as const;
  const upstreams: Record<string, FakeUpstream> = {};
  let gw: RunningGateway;

  before(async () => {
    for (const name of names) upstreams[name] = await startFakeUpstream(name);
    gw = await startGateway({
      USERS_URL: upstreams.users.url,
      CATALOG_URL: upstreams.catalog.url,
      INVENTORY_URL: upstreams.inventory.url,
    });
  });
  after(async () => {
    await gw?.close();
    await Promise.all(Object.values(upstreams).map((u) => u.close()));
  });
  const seen = () => Object.values(upstreams).reduce((n, u) => n + u.seen.length, 0);

  const allowCases: Array<[path: string, allow: string]> = [
    ['/api/holds', 'POST, OPTIONS'],
    ['/api/holds/3f1c0b7e-8a7e-4f55-9a55-2a3c3f4f3a10', 'GET, HEAD, DELETE, OPTIONS'],
    ['/api/events/3f1c0b7e-8a7e-4f55-9a55-2a3c3f4f3a10', 'GET, HEAD, PATCH, OPTIONS'],
    ['/api/venues/3f1c0b7e-8a7e-4f55-9a55-2a3c3f4f3a10', 'GET, HEAD, PATCH, OPTIONS'],
    ['/api/auth/keys', 'GET, HEAD, OPTIONS'],
    ['/api/auth/keys/rotate', 'POST, OPTIONS'], // the literal path shadows /api/auth/keys/{kid} (DELETE)
    ['/api/auth/keys/k-1', 'DELETE, OPTIONS'],
    ['/api/users/3f1c0b7e-8a7e-4f55-9a55-2a3c3f4f3a10/role', 'PATCH, OPTIONS'],
  ];
  for (const [path, allow] of allowCases) {
    it(`OPTIONS ${path} allows ${allow}`, async () => {
      const res = await fetch(gw.url + path, { method: 'OPTIONS' });
      expect(res.status).to.equal(204);
      expect(res.headers.get('allow')).to.equal(allow);
    });
  }

  const refused: Array<[method: string, path: string]> = [
    ['PUT', '/api/events/3f1c0b7e-8a7e-4f55-9a55-2a3c3f4f3a10'],
    ['DELETE', '/api/events/3f1c0b7e-8a7e-4f55-9a55-2a3c3f4f3a10'],
    ['PUT', '/api/venues/3f1c0b7e-8a7e-4f55-9a55-2a3c3f4f3a10'],
    ['PUT', '/api/users/3f1c0b7e-8a7e-4f55-9a55-2a3c3f4f3a10/role'],
    ['POST', '/api/auth/keys'],
    ['PUT', '/api/auth/keys/rotate'],
    ['DELETE', '/api/auth/keys/rotate'],
    ['GET', '/api/holds'],
  ];
  for (const [method, path] of refused) {
    it(`${method} ${path} is a 405 with Allow, not forwarded`, async () => {
      const before = seen();
      const res = await fetch(gw.url + path, { method });
      expect(res.status).to.equal(405);
      expect(res.headers.get('allow')).to.be.a('string').and.not.include(method);
      expect((await res.json()).type).to.equal(`${PROBLEM_BASE}method-not-allowed`);
      expect(seen()).to.equal(before);
    });
  }

  it("the gateway's own pages: another method is a 405 with Allow; a bad file name is a 400 it documents", async () => {
    const trace = await rawRequest(gw.url, '/docs', { method: 'TRACE' });
    expect(trace.status).to.equal(405);
    expect(trace.headers.allow).to.equal('GET, HEAD');
    expect(JSON.parse(trace.body).type).to.equal(`${PROBLEM_BASE}method-not-allowed`);
    const post = await rawRequest(gw.url, '/docs/init.js', { method: 'POST' });
    expect(post.status).to.equal(405);
    expect(post.headers.allow).to.equal('GET, HEAD');
    const merged = await rawRequest(gw.url, '/api/openapi.json', { method: 'TRACE' });
    expect(merged.status).to.equal(405);
    expect(merged.headers.allow).to.equal('GET, HEAD, OPTIONS');
    const head = await rawRequest(gw.url, '/docs', { method: 'HEAD' });
    expect(head.status).to.equal(200);

    const bad = await rawRequest(gw.url, '/docs/%ZZ');
    expect(bad.status).to.equal(400);
    expect(JSON.parse(bad.body).errors).to.deep.equal([
      { field: 'path.file', message: 'is not valid percent-encoded UTF-8' },
    ]);
    const contract = loadOpenApiDocument(new URL('../openapi.yaml', import.meta.url).pathname);
    expect(Object.keys(contract.paths['/docs/{file}'].get.responses)).to.include('400');
  });

  it('a URL or headers too large: 431 with a problem+json body, not forwarded', async () => {
    const before = seen();
    for (const [path, headers] of [
      [`/api/events?q=${'a'.repeat(20_000)}`, {}],
      ['/api/events', { 'x-padding': 'a'.repeat(20_000) }],
    ] as const) {
      const res = await rawRequest(gw.url, path, { headers });
      expect(res.status).to.equal(431);
      expect(res.headers['content-type']).to.equal('application/problem+json');
      expect(JSON.parse(res.body)).to.include({ type: `${PROBLEM_BASE}request-header-fields-too-large`, status: 431 });
    }
    expect(seen()).to.equal(before);
  });
});
