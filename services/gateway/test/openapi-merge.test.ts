import { expect } from 'chai';
import { loadOpenApiDocument } from '@eventtickets/platform';
import { CONTRACT_FILE } from '../src/app.ts';
import { BEARER_SCHEME, mergeDocuments } from '../src/docs/openapi-merge.ts';
import { documentTo30, schemaTo30 } from '../src/docs/openapi-30.ts';
import { loadRoutingTable } from '../src/routing/table.ts';
import { danglingRefs, openApiErrors } from './openapi-validity.ts';

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function operations(document: any): Array<{ path: string; method: string; op: any }> {
  return Object.entries(document.paths).flatMap(([path, item]: [string, any]) =>
    HTTP_METHODS.filter((m) => item[m]).map((method) => ({ path, method, op: item[method] })),
  );
}

const table = loadRoutingTable();
const gatewayDocument = loadOpenApiDocument(CONTRACT_FILE);

/** The contracts the services really serve at /openapi.json (their openapi.yaml as written). */
function realContracts(): Array<{ service: string; document: any }> {
  return ['users', 'catalog', 'inventory'].map((service) => ({
    service,
    document: loadOpenApiDocument(new URL(`../../${service}/openapi.yaml`, import.meta.url).pathname),
  }));
}

describe('gateway/openapi-merge: one valid OpenAPI 3.0 document for the whole public API', () => {
  // openapi-schema-validator's 3.0 schema does not check the `openapi` version string itself (the tests
  // below assert it), but it does check every object's shape, schema objects included.
  it('the validator is real: it rejects an operation without responses, and 3.1 schema keywords', async () => {
    const good = {
      openapi: '3.0.3',
      info: { title: 't', version: '1' },
      paths: {
        '/a': {
          get: {
            responses: { 200: { description: 'ok', content: { 'application/json': { schema: { type: 'string' } } } } },
          },
        },
      },
    };
    expect(await openApiErrors(good)).to.equal('');
    expect(await openApiErrors({ ...good, paths: { '/a': { get: { summary: 'no responses' } } } })).to.match(
      /not valid OpenAPI/,
    );
    expect(
      await openApiErrors({
        ...good,
        paths: {
          '/a': {
            get: {
              responses: {
                200: { description: 'ok', content: { 'application/json': { schema: { type: ['string', 'null'] } } } },
              },
            },
          },
        },
      }),
    ).to.match(/not valid OpenAPI/);
    expect(
      await openApiErrors({
        ...good,
        paths: {
          '/a': {
            get: {
              responses: { 200: { description: 'ok', content: { 'application/json': { schema: { const: 'x' } } } } },
            },
          },
        },
      }),
    ).to.match(/not valid OpenAPI/);
  });

  it("merges the real users, catalog and inventory contracts with the gateway's into a valid document", async () => {
    const doc = mergeDocuments({ table, gatewayDocument }, realContracts(), ['notifications', 'orders', 'payments']);
    expect(doc.openapi).to.equal('3.0.3');
    expect(await openApiErrors(doc)).to.equal('');
    expect(danglingRefs(doc)).to.deep.equal([]);
    const ops = operations(doc);
    expect(ops.length).to.be.greaterThan(20);
    const ids = ops.map(({ op }) => op.operationId).filter(Boolean);
    expect(new Set(ids).size).to.equal(ids.length);
    // Every service defines its own Problem: all kept, apart, each referenced under its own name.
    for (const service of ['users', 'catalog', 'inventory', 'gateway'])
      expect(doc.components.schemas).to.have.property(`${service}.Problem`);
    expect(JSON.stringify(doc)).not.to.match(/"#\/components\/schemas\/Problem"/);
  });

  it('groups every operation under a declared tag, declares no empty tag, and names the serving service', () => {
    const doc = mergeDocuments({ table, gatewayDocument }, realContracts(), []);
    const declared = doc.tags.map((t: any) => t.name);
    expect(new Set(declared).size).to.equal(declared.length);
    const used = new Set(operations(doc).flatMap(({ op }) => op.tags));
    for (const { path, method, op } of operations(doc)) {
      expect(op.tags, `${method} ${path}`).to.be.an('array').that.is.not.empty;
      for (const tag of op.tags) expect(declared, `${method} ${path}`).to.include(tag);
    }
    expect([...used].sort()).to.deep.equal([...declared].sort());
    expect(declared).not.to.include.members(['users', 'catalog', 'inventory']); // their operations carry their own tags
    expect(declared).not.to.include('internal'); // inventory's internal operations are not public
    // The services' own tags, in their contracts' order, services in the configured order, the gateway last.
    const expected = [
      ...realContracts().flatMap(({ document }) =>
        document.tags.map((t: any) => t.name).filter((t: string) => used.has(t)),
      ),
      'gateway',
    ];
    expect(declared).to.deep.equal(expected);
    expect(declared).to.include.members(['auth', 'me', 'events', 'venues', 'availability', 'holds']);
    expect(doc.tags.find((t: any) => t.name === 'holds').description).to.match(/inventory service/);
  });

  it('takes security from the routing table: required on user/organizer/admin routes, none on public ones', () => {
    const doc = mergeDocuments({ table, gatewayDocument }, realContracts(), []);
    expect(Object.keys(doc.components.securitySchemes)).to.deep.equal([BEARER_SCHEME]);
    expect(doc.paths['/api/holds'].post.security).to.deep.equal([{ [BEARER_SCHEME]: [] }]);
    expect(doc.paths['/api/events'].post.security).to.deep.equal([{ [BEARER_SCHEME]: [] }]);
    expect(doc.paths['/api/events'].post.description).to.match(/organizer or admin/);
    expect(doc.paths['/api/events'].get).not.to.have.property('security');
    expect(doc.paths['/api/auth/login'].post).not.to.have.property('security');
    expect(doc.paths['/api/me'].get.security).to.deep.equal([{ [BEARER_SCHEME]: [] }]);
    expect(doc.paths['/api/openapi.json'].get).not.to.have.property('security');
  });

  it('namespaces colliding component names, rewrites every reference, and keeps operationIds unique', async () => {
    const problem = (field: string) => ({
      type: 'object',
      required: [field],
      properties: { [field]: { type: 'string' } },
    });
    const a = {
      openapi: '3.0.3',
      info: { title: 'A', version: '1' },
      paths: {
        '/api/events/{id}': {
          parameters: [{ $ref: '#/components/parameters/Id' }],
          get: {
            operationId: 'get',
            responses: {
              200: {
                description: 'ok',
                content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } },
              },
              404: { $ref: '#/components/responses/Problem' },
            },
          },
        },
      },
      components: {
        parameters: { Id: { name: 'id', in: 'path', required: true, schema: { type: 'string' } } },
        schemas: {
          Thing: {
            oneOf: [{ $ref: '#/components/schemas/Cat' }, { $ref: '#/components/schemas/Dog' }],
            discriminator: { propertyName: 'kind', mapping: { cat: '#/components/schemas/Cat', dog: 'Dog' } },
          },
          Cat: { type: 'object', properties: { kind: { type: 'string' } } },
          Dog: { type: 'object', properties: { kind: { type: 'string' } } },
          Problem: problem('a'),
        },
        responses: {
          Problem: {
            description: 'problem',
            content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
          },
        },
      },
    };
    const b = {
      openapi: '3.0.3',
      info: { title: 'B', version: '1' },
      paths: {
        '/api/holds': {
          post: {
            operationId: 'get',
            responses: {
              409: {
                description: 'conflict',
                content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
              },
            },
          },
        },
      },
      components: { schemas: { Problem: problem('b') } },
    };
    const doc = mergeDocuments(
      { table, gatewayDocument },
      [
        { service: 'catalog', document: a },
        { service: 'inventory', document: b },
      ],
      [],
    );
    expect(await openApiErrors(doc)).to.equal('');
    expect(danglingRefs(doc)).to.deep.equal([]);
    expect(doc.components.schemas['catalog.Problem'].required).to.deep.equal(['a']);
    expect(doc.components.schemas['inventory.Problem'].required).to.deep.equal(['b']);
    const get = doc.paths['/api/events/{id}'].get;
    expect(get.responses['404'].$ref).to.equal('#/components/responses/catalog.Problem');
    expect(doc.components.responses['catalog.Problem'].content['application/problem+json'].schema.$ref).to.equal(
      '#/components/schemas/catalog.Problem',
    );
    expect(doc.paths['/api/holds'].post.responses['409'].content['application/problem+json'].schema.$ref).to.equal(
      '#/components/schemas/inventory.Problem',
    );
    expect(doc.components.schemas['catalog.Thing'].discriminator.mapping).to.deep.equal({
      cat: '#/components/schemas/catalog.Cat',
      dog: '#/components/schemas/catalog.Dog',
    });
    // the path-level parameter moved into the operation (another service may own other methods of a path)
    expect(doc.paths['/api/events/{id}']).not.to.have.property('parameters');
    expect(get.parameters).to.deep.equal([{ $ref: '#/components/parameters/catalog.Id' }]);
    expect([get.operationId, doc.paths['/api/holds'].post.operationId]).to.deep.equal(['get', 'inventory.get']);
    // untagged operations go under their service, which is then declared
    expect(doc.tags.map((t: any) => t.name)).to.deep.equal(['catalog', 'inventory', 'gateway']);
  });

  it('gives one tag used by two services one group that names both', () => {
    const contract = (path: string) => ({
      openapi: '3.0.3',
      info: { title: 'x', version: '1' },
      tags: [{ name: 'events', description: 'Events' }],
      paths: { [path]: { get: { tags: ['events'], responses: { 200: { description: 'ok' } } } } },
    });
    const doc = mergeDocuments(
      { table, gatewayDocument },
      [
        { service: 'catalog', document: contract('/api/events') },
        { service: 'orders', document: contract('/api/events/{id}/sales') },
      ],
      [],
    );
    expect(doc.tags[0]).to.deep.equal({ name: 'events', description: 'Events (catalog and orders services)' });
  });

  it('brings a contract written in OpenAPI 3.1 down to 3.0', async () => {
    expect(schemaTo30({ type: ['string', 'null'], enum: ['a', 'b'] })).to.deep.equal({
      type: 'string',
      nullable: true,
      enum: ['a', 'b', null],
    });
    // (3.0's boolean form; the validator's own 3.0 schema wrongly takes these from draft-07 as numbers,
    // so they are checked here by shape only)
    expect(schemaTo30({ type: 'integer', exclusiveMinimum: 0, exclusiveMaximum: 10 })).to.deep.equal({
      type: 'integer',
      minimum: 0,
      exclusiveMinimum: true,
      maximum: 10,
      exclusiveMaximum: true,
    });
    expect(schemaTo30({ const: 'x', examples: ['x'] })).to.deep.equal({ enum: ['x'], example: 'x' });
    expect(schemaTo30({ anyOf: [{ $ref: '#/components/schemas/A' }, { type: 'null' }] })).to.deep.equal({
      nullable: true,
      allOf: [{ $ref: '#/components/schemas/A' }],
    });
    expect(schemaTo30({ type: 'object', properties: { const: { type: ['number', 'string'] } } })).to.deep.equal({
      type: 'object',
      properties: { const: { oneOf: [{ type: 'number' }, { type: 'string' }] } },
    });
    const v31 = {
      openapi: '3.1.0',
      info: { title: 'x', version: '1', summary: 'only in 3.1' },
      paths: {
        '/api/holds/{id}': {
          get: {
            parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', examples: ['h1'] } }],
            responses: {
              200: {
                description: 'ok',
                content: {
                  'application/json': {
                    schema: { $ref: '#/components/schemas/Hold' },
                    example: { type: ['kept as data'] },
                  },
                },
              },
            },
          },
        },
      },
      components: {
        schemas: {
          Hold: {
            type: 'object',
            properties: {
              endedAt: { type: ['string', 'null'], format: 'date-time' },
              seats: { type: 'integer', const: 2 },
            },
          },
        },
      },
      webhooks: {},
    };
    const down = documentTo30(v31);
    expect(await openApiErrors(down)).to.equal('');
    expect(down.components.schemas.Hold.properties.endedAt).to.deep.equal({
      type: 'string',
      format: 'date-time',
      nullable: true,
    });
    expect(down.paths['/api/holds/{id}'].get.responses['200'].content['application/json'].example).to.deep.equal({
      type: ['kept as data'],
    });
    expect(await openApiErrors(v31)).to.match(/not valid OpenAPI/);
    const merged = mergeDocuments({ table, gatewayDocument }, [{ service: 'inventory', document: v31 }], []);
    expect(await openApiErrors(merged)).to.equal('');
  });
});
