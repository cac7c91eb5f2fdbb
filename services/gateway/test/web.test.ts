import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Koa from 'koa';
import { PROBLEM_BASE, createContract, listen, type Contract } from '@eventtickets/platform';
import { CONTRACT_FILE } from '../src/app.ts';
import { startFakeUpstream, type FakeUpstream } from '@eventtickets/platform/testing';
import { startGateway, unusedUrl, type RunningGateway } from './helpers.ts';
import { danglingRefs, openApiErrors } from './openapi-validity.ts';

const APP_ORIGIN = 'https://app.example.com';

describe('gateway/web: CORS, security headers, frontend, docs and the merged contract', () => {
  let dir: string;
  let catalog: FakeUpstream;
  let inventoryContract: { url: string; close: () => Promise<void> };
  let gw: RunningGateway;
  let contract: Contract;

  before(async () => {
    contract = await createContract(CONTRACT_FILE);
    dir = mkdtempSync(join(tmpdir(), 'gw-frontend-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(
      join(dir, 'index.html'),
      '<!doctype html><title>EventTickets app</title><script type="module" src="/assets/index-AbCd1234.js"></script>',
    );
    writeFileSync(join(dir, 'assets', 'index-AbCd1234.js'), 'console.log("app")');
    writeFileSync(join(dir, 'manifest.json'), '{"name":"EventTickets"}');
    catalog = await startFakeUpstream('catalog', (ctx) => {
      if (ctx.path !== '/openapi.json') return false;
      ctx.body = {
        openapi: '3.0.3',
        info: { title: 'EventTickets catalog', version: '0.1.0' },
        paths: {
          '/api/events/{id}': {
            get: {
              operationId: 'getEvent',
              responses: {
                200: {
                  description: 'ok',
                  content: { 'application/json': { schema: { $ref: '#/components/schemas/Event' } } },
                },
              },
            },
          },
          '/api/events/{id}/availability': {
            get: { operationId: 'notMine', responses: { 200: { description: 'ok' } } },
          },
          '/internal/reindex': { post: { responses: { 204: { description: 'ok' } } } },
        },
        components: {
          schemas: {
            Event: { type: 'object', properties: { venue: { $ref: '#/components/schemas/Venue' } } },
            Venue: { type: 'object' },
          },
        },
      };
      return true;
    });
    // An inventory that serves its contract with a real Koa app.
    const inv = new Koa();
    inv.use((ctx) => {
      ctx.body = {
        openapi: '3.1.0',
        info: { title: 'EventTickets inventory', version: '0.1.0' },
        paths: { '/api/events/{id}/availability': { get: { responses: { 200: { description: 'ok' } } } } },
      };
    });
    const invServer = await listen(inv.callback(), 0);
    inventoryContract = { url: invServer.url, close: () => invServer.close(100) };
    gw = await startGateway({
      CATALOG_URL: catalog.url,
      INVENTORY_URL: inventoryContract.url,
      ORDERS_URL: await unusedUrl(),
      CORS_ORIGINS: `${APP_ORIGIN}, https://admin.example.com`,
      FRONTEND_DIR: dir,
      OPENAPI_CACHE_MS: '0',
    });
  });
  after(async () => {
    await gw?.close();
    await catalog?.close();
    await inventoryContract?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers a CORS preflight from an allowed origin without touching the upstream', async () => {
    const before = catalog.seen.length;
    const res = await fetch(`${gw.url}/api/events`, {
      method: 'OPTIONS',
      headers: {
        origin: APP_ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type, idempotency-key',
      },
    });
    expect(res.status).to.equal(204);
    expect(res.headers.get('access-control-allow-origin')).to.equal(APP_ORIGIN);
    expect(res.headers.get('access-control-allow-methods')).to.include('POST');
    expect(res.headers.get('access-control-allow-headers')!.toLowerCase())
      .to.include('authorization')
      .and.include('idempotency-key');
    expect(res.headers.get('access-control-max-age')).to.equal('600');
    expect(catalog.seen.length).to.equal(before);
  });

  it('gives no CORS grant to another origin, and exposes the rate-limit headers to allowed ones', async () => {
    const evil = await fetch(`${gw.url}/api/events`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' },
    });
    expect(evil.headers.get('access-control-allow-origin')).to.equal(null);
    const ok = await fetch(`${gw.url}/api/events/e1`, { headers: { origin: APP_ORIGIN } });
    expect(ok.status).to.equal(200);
    expect(ok.headers.get('access-control-allow-origin')).to.equal(APP_ORIGIN);
    expect(ok.headers.get('access-control-expose-headers'))
      .to.include('RateLimit-Remaining')
      .and.include('Retry-After');
  });

  it('sets security headers with a CSP that allows only our own scripts', async () => {
    const res = await fetch(`${gw.url}/`);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).to.include("script-src 'self'").and.include("default-src 'self'").and.include("frame-ancestors 'none'");
    expect(csp).not.to.include('unsafe-eval');
    expect(csp).not.to.match(/script-src[^;]*unsafe-inline/);
    expect(res.headers.get('x-content-type-options')).to.equal('nosniff');
  });

  it('serves the built app with cache headers: hashed assets immutable, the rest revalidated', async () => {
    const index = await fetch(`${gw.url}/`);
    expect(index.status).to.equal(200);
    expect(index.headers.get('cache-control')).to.equal('no-cache');
    expect(await index.text()).to.include('EventTickets app');
    const asset = await fetch(`${gw.url}/assets/index-AbCd1234.js`);
    expect(asset.status).to.equal(200);
    expect(asset.headers.get('cache-control')).to.equal('public, max-age=31536000, immutable');
    const manifest = await fetch(`${gw.url}/manifest.json`);
    expect(manifest.headers.get('cache-control')).to.equal('no-cache');
    // the not-built page's stylesheet belongs to that page only; a built app owns every path
    expect((await fetch(`${gw.url}/not-built.css`, { headers: { accept: 'text/css' } })).status).to.equal(404);
  });

  it('falls back to index.html for client-side routes that accept HTML, and nowhere else', async () => {
    const page = await fetch(`${gw.url}/events/42/seats`, {
      headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' },
    });
    expect(page.status).to.equal(200);
    expect(page.headers.get('content-type')).to.match(/^text\/html/);
    expect(page.headers.get('cache-control')).to.equal('no-cache');
    expect(await page.text()).to.include('EventTickets app');
    const missingAsset = await fetch(`${gw.url}/assets/missing-Zz991122.js`, { headers: { accept: '*/*' } });
    expect(missingAsset.status).to.equal(404);
    expect(missingAsset.headers.get('content-type')).to.match(/^application\/problem\+json/);
    const api = await fetch(`${gw.url}/api/nope`, { headers: { accept: 'text/html' } });
    expect(api.status).to.equal(404);
    expect((await api.json()).type).to.equal(`${PROBLEM_BASE}not-found`);
    const traversal = await fetch(`${gw.url}/..%2f..%2fetc/passwd`, { headers: { accept: '*/*' } });
    expect(traversal.status).to.be.oneOf([400, 404]);
  });

  it('says honestly that the app is not built when FRONTEND_DIR has no index.html', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'gw-empty-'));
    const bare = await startGateway({ FRONTEND_DIR: empty });
    try {
      const res = await fetch(`${bare.url}/`);
      expect(res.status).to.equal(200);
      const html = await res.text();
      expect(html).to.match(/not built yet/i);
      expect(html).to.include('href="/docs"').and.include('href="/api/events"');
      // styled by a stylesheet the gateway serves itself: no inline style for the CSP to refuse
      expect(html).not.to.match(/<style|\sstyle=/i);
      expect(html).to.include('<link rel="stylesheet" href="/not-built.css">');
      const css = await fetch(`${bare.url}/not-built.css`);
      expect(css.status).to.equal(200);
      expect(css.headers.get('content-type')).to.match(/^text\/css/);
      expect(css.headers.get('content-security-policy')).to.include("style-src 'self'");
      expect(await css.text()).to.include('font:');
    } finally {
      await bare.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('serves Swagger UI from the package with our own initializer and no inline script', async () => {
    const page = await fetch(`${gw.url}/docs`);
    expect(page.status).to.equal(200);
    const html = await page.text();
    expect(html).to.include('/docs/swagger-ui-bundle.js').and.include('/docs/init.js');
    expect(html).not.to.match(/<script>(?!<\/script>)|<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.to.match(/https?:\/\//);
    const init = await fetch(`${gw.url}/docs/init.js`);
    expect(await init.text()).to.include("url: '/api/openapi.json'");
    const bundle = await fetch(`${gw.url}/docs/swagger-ui-bundle.js`);
    expect(bundle.status).to.equal(200);
    expect(bundle.headers.get('content-type')).to.match(/javascript/);
    expect((await fetch(`${gw.url}/docs/swagger-initializer.js`)).status).to.equal(404); // the petstore one is never served
  });

  it("merges the configured services' contracts, keeping only what the table routes to each, and names the missing", async () => {
    const res = await fetch(`${gw.url}/api/openapi.json`);
    expect(res.status).to.equal(200);
    const doc = await res.json();
    expect(contract.responseErrors('GET', '/api/openapi.json', 200, doc)).to.deep.equal([]);
    // valid OpenAPI 3.0 although inventory's contract is written in 3.1
    expect(doc.openapi).to.equal('3.0.3');
    expect(await openApiErrors(doc)).to.equal('');
    expect(danglingRefs(doc)).to.deep.equal([]);
    expect(doc.tags.map((t: { name: string }) => t.name)).to.deep.equal(['catalog', 'inventory', 'gateway']);
    expect(doc['x-missing-services']).to.deep.equal(['notifications', 'orders', 'payments', 'users']);
    expect(doc.paths['/api/events/{id}'].get.operationId).to.equal('getEvent');
    expect(doc.paths['/api/events/{id}'].get.tags).to.deep.equal(['catalog']);
    // catalog's availability operation is not what the gateway routes there; inventory's is
    expect(doc.paths['/api/events/{id}/availability'].get.operationId).to.equal(undefined);
    expect(doc.paths['/api/events/{id}/availability'].get.tags).to.deep.equal(['inventory']);
    expect(doc.paths).not.to.have.property('/internal/reindex');
    expect(doc.paths).to.have.property('/api/openapi.json');
    // component names are prefixed and refs follow them
    expect(doc.components.schemas).to.have.property('catalog.Event');
    expect(doc.components.schemas['catalog.Event'].properties.venue.$ref).to.equal(
      '#/components/schemas/catalog.Venue',
    );
    expect(doc.paths['/api/events/{id}'].get.responses['200'].content['application/json'].schema.$ref).to.equal(
      '#/components/schemas/catalog.Event',
    );
  });

  it('serves its own contract, health and readiness', async () => {
    const own = await (await fetch(`${gw.url}/openapi.json`)).json();
    expect(own.info.title).to.equal('EventTickets gateway');
    const health = await fetch(`${gw.url}/healthz`);
    expect(contract.responseErrors('GET', '/healthz', 200, await health.json())).to.deep.equal([]);
    const ready = await fetch(`${gw.url}/readyz`);
    expect(ready.status).to.equal(200);
    expect(contract.responseErrors('GET', '/readyz', 200, await ready.json())).to.deep.equal([]);
    const problem = await (await fetch(`${gw.url}/docs/nope.js`)).json();
    expect(contract.responseErrors('GET', '/docs/nope.js', 404, problem)).to.deep.equal([]);
  });
});
