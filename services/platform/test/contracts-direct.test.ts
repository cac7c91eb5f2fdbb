// The contract middleware's direct request validation against openapi-backend's validateRequest (the path it
// replaced): thousands of generated requests, right and wrong, through both, must get the same answers.
import { expect } from 'chai';
import Koa from 'koa';
import { readdirSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createContract, type Contract } from '../src/contracts.ts';
import { HttpProblem } from '../src/errors.ts';

const fixture = fileURLToPath(new URL('./fixtures/validation.openapi.yaml', import.meta.url));
const servicesDir = fileURLToPath(new URL('../../', import.meta.url));
const serviceContracts = readdirSync(servicesDir)
  .map((name) => `${servicesDir}${name}/openapi.yaml`)
  .filter((file) => existsSync(file));

const koa = new Koa();

/** A Koa context as the pipeline hands it to the contract middleware (node lower-cases header names). */
function contextOf(method: string, url: string, headers: Record<string, string | string[]>, body: unknown) {
  const req = { method, url, headers, socket: {} } as any;
  const ctx = koa.createContext(req, {} as any);
  if (body !== undefined) (ctx.request as any).body = body;
  return ctx;
}

type Outcome =
  | { passed: true; query?: unknown; body?: unknown }
  | { status: number; type: string; detail?: unknown; errors?: unknown };

async function outcome(contract: Contract, method: string, url: string, headers: Record<string, any>, body: unknown) {
  const ctx = contextOf(method, url, structuredClone(headers), structuredClone(body));
  try {
    let passed = false;
    await contract.middleware(ctx, async () => {
      passed = true;
    });
    // what the handler would see must not have been changed by the validation (coercion works on copies)
    if (passed) return { passed, query: { ...ctx.query }, body: (ctx.request as any).body } as Outcome;
    return { passed: false } as unknown as Outcome;
  } catch (err) {
    if (!(err instanceof HttpProblem)) return { status: 500, type: String(err) };
    return { status: err.status, type: err.slug, detail: err.detail, errors: err.extensions.errors } as Outcome;
  }
}

/** A small deterministic random source (mulberry32). */
function randomSource(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
  return { next, pick, chance: (p: number) => next() < p };
}
type Random = ReturnType<typeof randomSource>;

const WORDS = [
  '1',
  '0',
  '-5',
  '42',
  '101',
  '1.5',
  '1e3',
  'abc',
  'true',
  'false',
  '',
  ' ',
  'date',
  '-date',
  'red',
  'blue',
  'null',
  '2026-12-02T06:31:00Z',
  '2026-13-40T99:00:00Z',
  'a@b.io',
  'not an email',
  '9f1c1c3e-8d8e-4f7a-9c53-2d7d6f7f1a01',
  'A-1',
  'AB-12',
  'x'.repeat(40),
  'é',
  'e\u0301',
  'tab\there',
  'Zürich',
  '[1,2]',
  '{"w":1}',
  '{"w":"x"}',
  '{bad',
  'red,blue',
  '__proto__',
];
const PATH_WORDS = [
  'abc',
  '42',
  '0',
  '-1',
  '1.5',
  'true',
  'A-1',
  'ab%20c',
  '%F0%9F%8E%AB',
  'x'.repeat(300),
  '9f1c1c3e-8d8e-4f7a-9c53-2d7d6f7f1a01',
  'é',
  'e%CC%81',
  'UPPER',
  'a.b',
  '~',
  "it's",
];

/** A value for a schema: usually a right one, sometimes a near miss. */
function sample(schema: any, r: Random, depth = 0): unknown {
  if (!schema || depth > 6) return r.pick([1, 'x', null, true]);
  if (r.chance(0.06)) return r.pick([null, 7, 'seven', true, [], {}, 'x'.repeat(300), -1, 1.5]);
  if ((schema.oneOf || schema.anyOf) && !schema.properties)
    return sample(r.pick(schema.oneOf ?? schema.anyOf), r, depth + 1);
  if (schema.allOf) return sample(schema.allOf[0], r, depth + 1);
  if (schema.enum) return r.chance(0.9) ? r.pick(schema.enum) : 'not-in-enum';
  switch (schema.type) {
    case 'integer':
      return r.pick([schema.minimum ?? 0, schema.maximum ?? 5, 1, 3, 0, -1, 1000, 2.5]);
    case 'number':
      return r.pick([0, 0.5, 12.25, -3, 1e9]);
    case 'boolean':
      return r.chance(0.5);
    case 'array': {
      const n = r.pick([0, 1, 2, 3, 5]);
      return Array.from({ length: n }, () => sample(schema.items, r, depth + 1));
    }
    case 'object':
    case undefined: {
      if (!schema.properties && schema.type === undefined) return r.pick(WORDS);
      const out: Record<string, unknown> = {};
      for (const [name, sub] of Object.entries<any>(schema.properties ?? {})) {
        const required = (schema.required ?? []).includes(name);
        if (required ? r.chance(0.95) : r.chance(0.6)) out[name] = sample(sub, r, depth + 1);
      }
      if (r.chance(0.08)) out[r.pick(['extra', 'constructor', '__proto__', 'toString'])] = 'x';
      return out;
    }
    default:
      if (schema.format === 'uuid') return r.pick([WORDS[21], 'not-a-uuid']);
      if (schema.format === 'date-time') return r.pick([WORDS[17], WORDS[18], '2026-12-02T06:31:00+01:00']);
      if (schema.format === 'email') return r.pick([WORDS[19], WORDS[20]]);
      if (schema.pattern && r.chance(0.5)) return r.pick(['AB-12', 'abc', 'A', '12345', 'tab\there', 'Zürich']);
      return r.pick(WORDS);
  }
}

/** A query value as it travels in a URL: a sampled value, or any word. */
function queryText(schema: any, r: Random): string | string[] {
  if (schema?.type === 'array') {
    const items = Array.from({ length: r.pick([1, 1, 2, 4]) }, () => String(sample(schema.items, r)));
    return items.length === 1 ? items[0]! : items;
  }
  const v = r.chance(0.7) ? sample(schema, r) : r.pick(WORDS);
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

interface GeneratedRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[]>;
  body: unknown;
}

function requestsFor(document: any, count: number, r: Random): GeneratedRequest[] {
  const out: GeneratedRequest[] = [];
  const operations: Array<{ template: string; method: string; op: any; shared: any[] }> = [];
  for (const [template, item] of Object.entries<any>(document.paths ?? {}))
    for (const method of ['get', 'put', 'post', 'patch', 'delete'])
      if (item[method]) operations.push({ template, method, op: item[method], shared: item.parameters ?? [] });
  const resolve = (p: any) =>
    p?.$ref
      ? p.$ref
          .split('/')
          .slice(1)
          .reduce((o: any, k: string) => o?.[k], document)
      : p;
  for (const { template, method, op, shared } of operations) {
    const parameters = [...(op.parameters ?? []), ...shared].map(resolve);
    for (let n = 0; n < count; n++) {
      let path = template.replace(/\{([^}]+)\}/g, (_, name) => {
        const declared = parameters.find((p: any) => p.in === 'path' && p.name === name);
        const value = declared && r.chance(0.6) ? sample(declared.schema, r) : r.pick(PATH_WORDS);
        return r.chance(0.9) ? encodeURIComponent(String(value)).replace(/%25/g, '%') : String(r.pick(PATH_WORDS));
      });
      if (r.chance(0.05)) path += '/';
      const search = new URLSearchParams();
      for (const p of parameters.filter((p: any) => p.in === 'query')) {
        if (!(p.required ? r.chance(0.93) : r.chance(0.5))) continue;
        const schema = p.schema ?? p.content?.['application/json']?.schema;
        const value = p.content ? JSON.stringify(sample(schema, r)) : queryText(schema, r);
        for (const v of [value].flat()) search.append(p.name, r.chance(0.03) ? `${v}\u0000` : v);
      }
      if (r.chance(0.1)) search.append(r.pick(['unknown', 'LIMIT', 'limit', 'ids', '__proto__', 'q']), r.pick(WORDS));
      const headers: Record<string, string | string[]> = {
        host: 'localhost',
        'user-agent': 'differential',
        accept: 'application/json',
        'x-request-id': `req-${n}`,
      };
      for (const p of parameters.filter((p: any) => p.in === 'header')) {
        if (!(p.required ? r.chance(0.9) : r.chance(0.5))) continue;
        const v = sample(p.schema, r);
        headers[String(p.name).toLowerCase()] = typeof v === 'object' ? JSON.stringify(v) : String(v);
      }
      if (r.chance(0.1)) headers.cookie = r.pick(['session=abc', 'session=abcdef; other=1', 'x', '']);
      let body: unknown;
      const content = op.requestBody?.content;
      if (content && r.chance(0.9)) {
        const schema = resolve(content['application/json']?.schema);
        body = r.chance(0.85) ? sample(schema, r) : r.pick([{}, [], null, { extra: 1 }, undefined]);
        headers['content-type'] = r.pick([
          'application/json',
          'application/json; charset=utf-8',
          'APPLICATION/JSON',
          'application/merge-patch+json',
        ]);
      } else if (r.chance(0.15)) {
        body = r.pick([{}, { name: 'x' }, undefined, null, []]);
        if (r.chance(0.5)) headers['content-type'] = r.pick(['application/json', 'text/plain']);
      }
      const qs = search.toString();
      out.push({ method: method.toUpperCase(), url: qs ? `${path}?${qs}` : path, headers, body });
    }
  }
  return out;
}

async function compare(file: string, perOperation: number, seed: number) {
  const direct = await createContract(file);
  const reference = await createContract(file, { requestValidation: 'openapi-backend' });
  let fallbacks = 0;
  const validateRequest = direct.api.validateRequest.bind(direct.api);
  direct.api.validateRequest = ((...args: Parameters<typeof validateRequest>) => {
    fallbacks++;
    return validateRequest(...args);
  }) as typeof validateRequest;
  const requests = requestsFor(direct.document, perOperation, randomSource(seed));
  // a body that is not a JSON object or array (never from the JSON body parser) is left to openapi-backend
  const scalarBodies = requests.filter((r) => r.body !== undefined && typeof r.body !== 'object').length;
  const tally = { passed: 0, refused: 0, fallbacks: 0, scalarBodies, requests: requests.length };
  for (const { method, url, headers, body } of requests) {
    const a = await outcome(direct, method, url, headers, body);
    const b = await outcome(reference, method, url, headers, body);
    expect(a, `${method} ${url} ${JSON.stringify(headers)} ${JSON.stringify(body)}`).to.deep.equal(b);
    if ('passed' in a) tally.passed++;
    else tally.refused++;
  }
  tally.fallbacks = fallbacks;
  return tally;
}

describe('platform/contracts: direct request validation answers as openapi-backend does', () => {
  it('the fixture with every kind of parameter and body: same answers, exotic ones left to openapi-backend', async () => {
    const tally = await compare(fixture, 400, 1);
    // both outcomes are well represented, and only the exotic operations fell back
    expect(tally.passed).to.be.greaterThan(tally.requests * 0.1);
    expect(tally.refused).to.be.greaterThan(tally.requests * 0.3);
    expect(tally.fallbacks).to.be.greaterThan(tally.scalarBodies);
    expect(tally.fallbacks).to.be.lessThan(tally.requests * 0.45);
  });

  for (const file of serviceContracts) {
    const service = file.split('/').at(-2);
    it(`${service}'s contract: same answers for generated requests, none left to openapi-backend but scalar bodies`, async () => {
      const tally = await compare(file, 60, 7);
      expect(tally.requests).to.be.greaterThan(0);
      expect(tally.passed + tally.refused).to.equal(tally.requests);
      expect(tally.fallbacks).to.equal(tally.scalarBodies);
    });
  }

  it('a single value of an array query parameter is validated as a list of one, coerced on a copy only', async () => {
    const contract = await createContract(fixture);
    const ok = await outcome(contract, 'GET', '/api/shelves/3/boxes/abc?ids=7&limit=5', {}, undefined);
    expect(ok).to.deep.equal({ passed: true, query: { ids: '7', limit: '5' }, body: undefined });
    const bad = await outcome(contract, 'GET', '/api/shelves/3/boxes/abc?ids=x&ids=2&extra=1', {}, undefined);
    expect(bad).to.deep.include({ status: 400 });
    expect((bad as any).errors.map((e: any) => e.field)).to.have.members(['query.ids.0', 'query.extra']);
  });
});
