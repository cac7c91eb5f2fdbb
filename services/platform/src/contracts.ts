// Contracts: a service's openapi.yaml is loaded once, every request is validated against it (400 listing
// the fields), the contract is served at /openapi.json, and tests validate responses with the same document.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { OpenAPIBackend, type Operation } from 'openapi-backend';
import addFormatsModule from 'ajv-formats';
import type { Context, Next } from 'koa';
import { HttpProblem, problems, type FieldError } from './errors.ts';

export interface Contract {
  document: any;
  api: OpenAPIBackend;
  /** Koa middleware: matches the operation, records its template, validates the request. */
  middleware: (ctx: Context, next: Next) => Promise<void>;
  /** Returns the list of problems of a response against the contract (empty when it matches). */
  responseErrors: (method: string, path: string, status: number, body: unknown) => string[];
}

export function loadOpenApiDocument(file: string): any {
  return parse(readFileSync(file, 'utf8'));
}

function toFieldErrors(errors: any[] | null | undefined): FieldError[] {
  return (errors ?? []).map((e) => {
    const where = (e.instancePath || '').replace(/^\//, '').replace(/\//g, '.');
    const missing = e.params?.missingProperty;
    const extra = e.params?.additionalProperty;
    const field = [where, missing ?? extra].filter(Boolean).join('.') || '(root)';
    return { field, message: extra ? 'is not allowed' : (e.message ?? 'is invalid') };
  });
}

// ajv-formats ships CommonJS; its default export is the plugin function.
const addFormats = ((addFormatsModule as any).default ?? addFormatsModule) as (ajv: any) => any;

/**
 * openapi-backend validates only `application/json` response bodies, so every problem+json error response would
 * pass unchecked. Each response that declares no application/json but a `+json` type (problem+json) gets that
 * schema under application/json as well, in the validator's copy only (/openapi.json serves the document as written).
 */
function withProblemJsonValidated(definition: any): any {
  const responses: any[] = [...Object.values(definition.components?.responses ?? {})];
  for (const pathItem of Object.values(definition.paths ?? {}) as any[]) {
    for (const operation of Object.values(pathItem ?? {}) as any[])
      responses.push(...Object.values(operation?.responses ?? {}));
  }
  for (const response of responses) {
    const content = response?.content;
    if (!content || content['application/json']) continue;
    const jsonLike = Object.keys(content).find((type) => /^application\/[\w.-]+\+json$/.test(type));
    if (jsonLike) content['application/json'] = content[jsonLike];
  }
  return definition;
}

export interface ContractOptions {
  /** 'reject' (default): a request matching no operation is a 404/405 problem. 'pass': it goes on to the next
   *  middleware unvalidated (the gateway, whose app pages and SPA fallback are not API operations). */
  unknownRoutes?: 'reject' | 'pass';
}

export async function createContract(file: string, opts: ContractOptions = {}): Promise<Contract> {
  const document = loadOpenApiDocument(file);
  const api = new OpenAPIBackend({
    definition: withProblemJsonValidated(structuredClone(document)),
    quick: false,
    validate: true,
    strict: false,
    ajvOpts: { allErrors: true } as any,
    // Without this, `format` (email, uuid, date-time...) would be ignored with a warning.
    customizeAjv: (ajv) => {
      addFormats(ajv);
      return ajv;
    },
  });
  await api.init();

  async function middleware(ctx: Context, next: Next): Promise<void> {
    if (ctx.path === '/openapi.json' && ctx.method === 'GET') {
      ctx.state.routeTemplate = '/openapi.json';
      ctx.body = document;
      return;
    }
    const req = {
      method: ctx.method,
      path: ctx.path,
      headers: ctx.headers as Record<string, string>,
      query: ctx.query as Record<string, string>,
      body: (ctx.request as any).body,
    };
    const operation = api.matchOperation(req);
    if (!operation) {
      // Every route a service serves is in its contract: anything else is refused before any handler runs.
      if (opts.unknownRoutes === 'pass') return next();
      try {
        api.router.matchOperation(req, true);
      } catch (err) {
        if (String((err as Error).message).startsWith('405')) {
          throw new HttpProblem(
            405,
            'method-not-allowed',
            'Method not allowed',
            `${ctx.method} is not allowed on ${ctx.path}`,
          );
        }
      }
      throw problems.notFound(`No route for ${ctx.method} ${ctx.path}`);
    }
    ctx.state.operation = operation;
    ctx.state.routeTemplate = operation.path;
    const result = api.validateRequest(req, operation);
    if (!result.valid) throw problems.validation(toFieldErrors(result.errors));
    await next();
  }

  function responseErrors(method: string, path: string, status: number, body: unknown): string[] {
    const operation: Operation | undefined = api.matchOperation({ method, path, headers: {} });
    if (!operation) return [`no operation in the contract for ${method} ${path}`];
    const responses = operation.responses ?? {};
    if (!responses[String(status)] && !responses.default && !responses[`${String(status)[0]}XX`]) {
      return [`status ${status} is not declared for ${method} ${operation.path}`];
    }
    const result = api.validateResponse(body, operation, status);
    return result.valid ? [] : toFieldErrors(result.errors).map((e) => `${e.field} ${e.message}`);
  }

  return { document, api, middleware, responseErrors };
}
