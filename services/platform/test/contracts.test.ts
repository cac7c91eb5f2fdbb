import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../src/logger.ts';
import { createMetrics } from '../src/metrics.ts';
import { createContract, type Contract } from '../src/contracts.ts';
import { createServiceApp, listen, type RunningServer } from '../src/http.ts';
import { PROBLEM_BASE } from '../src/errors.ts';

const file = fileURLToPath(new URL('./fixtures/items.openapi.yaml', import.meta.url));

describe('platform/contracts: OpenAPI validation, /openapi.json and response checks', () => {
  let contract: Contract;
  let server: RunningServer;
  const created: unknown[] = [];

  before(async () => {
    contract = await createContract(file);
    const app = createServiceApp({
      service: 'items',
      logger: createLogger('items', { level: 'silent' }),
      metrics: createMetrics('items', { collectDefault: false }),
      contract,
    });
    app.use((ctx) => {
      if (ctx.method === 'POST' && ctx.path === '/api/items') {
        const item = { id: `item-${created.length + 1}`, ...(ctx.request as any).body };
        created.push(item);
        ctx.status = 201;
        ctx.body = item;
      } else if (ctx.method === 'GET' && ctx.path.startsWith('/api/items/')) {
        ctx.body = { id: ctx.path.split('/').pop(), name: 'lamp', quantity: 2 };
      }
    });
    server = await listen(app.callback(), 0);
  });
  after(() => server?.close(1000));

  const post = (body: unknown) =>
    fetch(`${server.url}/api/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('rejects a body that violates the contract with 400 problem+json listing every bad field, and changes nothing', async () => {
    const res = await post({ name: '', quantity: 50, colour: 'red', tags: ['a', 'b', 'c', 'd'] });
    expect(res.status).to.equal(400);
    expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
    const body = await res.json();
    expect(body).to.include({ type: `${PROBLEM_BASE}validation-error`, status: 400, title: 'Invalid request' });
    // Fields are named by where they are: requestBody.<field>, path.<param>, query.<param>.
    const fields = body.errors.map((e: { field: string }) => e.field);
    expect(fields).to.have.members([
      'requestBody.name',
      'requestBody.quantity',
      'requestBody.colour',
      'requestBody.tags',
    ]);
    expect(body.errors.find((e: { field: string }) => e.field === 'requestBody.colour').message).to.equal(
      'is not allowed',
    );
    expect(body.errors.find((e: { field: string }) => e.field === 'requestBody.quantity').message).to.equal(
      'must be <= 10',
    );
    expect(contract.responseErrors('POST', '/api/items', 400, body)).to.deep.equal([]);
    expect(created).to.have.length(0);
  });

  it('refuses a route the contract does not declare before any handler runs: 404, or 405 for another method', async () => {
    const unknown = await fetch(`${server.url}/api/secret-admin`);
    expect(unknown.status).to.equal(404);
    expect(unknown.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect((await unknown.json()).type).to.equal(`${PROBLEM_BASE}not-found`);
    const wrongMethod = await fetch(`${server.url}/api/items`, { method: 'DELETE' });
    expect(wrongMethod.status).to.equal(405);
    expect((await wrongMethod.json()).type).to.equal(`${PROBLEM_BASE}method-not-allowed`);
    expect(created).to.have.length(0);
  });

  it("passes undeclared routes on unvalidated only when asked to (the gateway's own pages)", async () => {
    const lenient = await createContract(file, { unknownRoutes: 'pass' });
    const app = createServiceApp({
      service: 'items',
      logger: createLogger('items', { level: 'silent' }),
      metrics: createMetrics('items', { collectDefault: false }),
      contract: lenient,
    });
    app.use((ctx) => {
      ctx.body = { page: ctx.path };
    });
    const other = await listen(app.callback(), 0);
    try {
      const res = await fetch(`${other.url}/events/42`);
      expect([res.status, await res.json()]).to.deep.equal([200, { page: '/events/42' }]);
      expect((await fetch(`${other.url}/api/items/x1?verbose=yes`)).status).to.equal(400); // declared routes are still validated
    } finally {
      await other.close(1000);
    }
  });

  it('names missing required fields and rejects a bad path or query parameter', async () => {
    const missing = await (await post({ tags: [] })).json();
    expect(missing.errors).to.deep.include.members([
      { field: 'requestBody.name', message: "must have required property 'name'" },
      { field: 'requestBody.quantity', message: "must have required property 'quantity'" },
    ]);
    const badPath = await fetch(`${server.url}/api/items/NOT%20OK`);
    expect(badPath.status).to.equal(400);
    expect((await badPath.json()).errors.map((e: { field: string }) => e.field)).to.deep.equal(['path.id']);
    const badQuery = await fetch(`${server.url}/api/items/abc?expand=perhaps`);
    expect(badQuery.status).to.equal(400);
    expect((await badQuery.json()).errors).to.deep.equal([{ field: 'query.expand', message: 'must be boolean' }]);
    expect(created).to.have.length(0);
  });

  it('passes a valid request to the handler, whose response matches the contract', async () => {
    const res = await post({ name: 'lamp', quantity: 2, tags: ['home'] });
    expect(res.status).to.equal(201);
    const body = await res.json();
    expect(body).to.deep.equal({ id: 'item-1', name: 'lamp', quantity: 2, tags: ['home'] });
    expect(contract.responseErrors('POST', '/api/items', 201, body)).to.deep.equal([]);
    const got = await fetch(`${server.url}/api/items/item-1?expand=true`);
    expect(got.status).to.equal(200);
    expect(contract.responseErrors('GET', '/api/items/item-1', 200, await got.json())).to.deep.equal([]);
  });

  it('a GET that passed is remembered by its URL and declared header values only: a repeat that differs is validated', async () => {
    const url = `${server.url}/api/items/remembered?expand=true`;
    expect((await fetch(url, { headers: { 'x-item-version': '7' } })).status).to.equal(200);
    expect((await fetch(url, { headers: { 'x-item-version': '7' } })).status).to.equal(200);
    // the same URL with a declared header the contract refuses, and another query value
    const badHeader = await fetch(url, { headers: { 'x-item-version': 'seven' } });
    expect(badHeader.status).to.equal(400);
    expect((await badHeader.json()).errors.map((e: { field: string }) => e.field)).to.deep.equal([
      'header.x-item-version',
    ]);
    expect((await fetch(`${server.url}/api/items/remembered?expand=maybe`)).status).to.equal(400);
    expect((await fetch(`${server.url}/api/items/remembered?expand=%00`)).status).to.equal(400);
  });

  it('serves the contract at /openapi.json', async () => {
    const res = await fetch(`${server.url}/openapi.json`);
    expect(res.status).to.equal(200);
    const doc = await res.json();
    expect(doc.info.title).to.equal('items (platform test fixture)');
    expect(Object.keys(doc.paths)).to.deep.equal(['/api/items', '/api/items/{id}']);
  });

  it('responseErrors() catches a response that breaks the contract', () => {
    expect(contract.responseErrors('GET', '/api/items/x', 200, { id: 'x', name: 'lamp' }).join(' ')).to.include(
      'quantity',
    );
    expect(
      contract.responseErrors('GET', '/api/items/x', 200, { id: 'x', name: 'lamp', quantity: 0 }).join(' '),
    ).to.include('quantity');
    expect(
      contract
        .responseErrors('GET', '/api/items/x', 200, { id: 'x', name: 'lamp', quantity: 1, secret: 'y' })
        .join(' '),
    ).to.include('secret is not allowed');
    // Error responses are application/problem+json: they are checked too.
    expect(contract.responseErrors('GET', '/api/items/x', 404, { title: 'Not found', status: 404 })).to.deep.equal([
      "type must have required property 'type'",
    ]);
    expect(
      contract.responseErrors('GET', '/api/items/x', 404, {
        type: `${PROBLEM_BASE}not-found`,
        title: 'Not found',
        status: 404,
      }),
    ).to.deep.equal([]);
    expect(contract.responseErrors('GET', '/api/items/x', 500, {})).to.deep.equal([
      'status 500 is not declared for GET /api/items/{id}',
    ]);
    expect(contract.responseErrors('DELETE', '/api/items/x', 204, undefined)).to.deep.equal([
      'no operation in the contract for DELETE /api/items/x',
    ]);
  });
});
