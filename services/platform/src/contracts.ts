// Contracts: a service's openapi.yaml is loaded once, every request is validated against it (400 listing
// the fields), the contract is served at /openapi.json, and tests validate responses with the same document.
import { OpenAPIBackend, OpenAPIValidator, type Operation } from 'openapi-backend';
import addFormatsModule from 'ajv-formats';
import type { Context, Next } from 'koa';
import { HttpProblem, problems, type FieldError } from './errors.ts';
import { CONTROL_CHARACTERS, CONTROL_MESSAGE, NUL_MESSAGE, normalizeStrings, nulFields } from './text.ts';
import { loadYamlDocument } from './yaml-document.ts';

// The text rules every request goes through (NUL refused, NFC), exported with the contracts that apply them.
export * from './text.ts';
// openapi.yaml is read through its JSON copy when that is fresh (yaml-document.ts); the gateway's table too.
export * from './yaml-document.ts';

export interface Contract {
  document: any;
  api: OpenAPIBackend;
  /** Koa middleware: matches the operation, records its template, validates the request. */
  middleware: (ctx: Context, next: Next) => Promise<void>;
  /** Returns the list of problems of a response against the contract (empty when it matches); a body in a
   *  non-JSON media type (contentType) must be declared for the status, and is not schema-checked. */
  responseErrors: (method: string, path: string, status: number, body: unknown, contentType?: string) => string[];
}

export function loadOpenApiDocument(file: string): any {
  return loadYamlDocument(file);
}

function toFieldErrors(errors: any[] | null | undefined): FieldError[] {
  return (errors ?? []).map((e) => {
    const where = (e.instancePath || '').replace(/^\//, '').replace(/\//g, '.');
    const missing = e.params?.missingProperty;
    const extra = e.params?.additionalProperty;
    const field = [where, missing ?? extra].filter(Boolean).join('.') || '(root)';
    // Names and titles refuse control characters by a pattern: say that rather than quote the pattern.
    if (e.keyword === 'pattern' && typeof e.data === 'string' && CONTROL_CHARACTERS.test(e.data))
      return { field, message: CONTROL_MESSAGE };
    return { field, message: extra ? 'is not allowed' : (e.message ?? 'is invalid') };
  });
}

/** The path parameters of `template` in `path`, decoded; a segment that is not valid percent-encoded UTF-8
 *  (`%ZZ`, `%C0%AE`) is a field error instead of the URIError the validator would throw (a 500). */
function pathParameters(template: string, path: string): { values: Record<string, string>; errors: FieldError[] } {
  const names = template.split('/');
  const parts = path.split('/');
  const values: Record<string, string> = {};
  const errors: FieldError[] = [];
  names.forEach((segment, i) => {
    const name = /^\{(.+)\}$/.exec(segment)?.[1];
    if (!name || parts[i] === undefined) return;
    try {
      values[name] = decodeURIComponent(parts[i]);
    } catch {
      errors.push({ field: `path.${name}`, message: 'is not valid percent-encoded UTF-8' });
    }
  });
  return { values, errors };
}

/** In the order an Allow header lists them (the gateway's routing table uses the same). */
const OPERATION_METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options', 'trace'];

function templateMatches(template: string, path: string): boolean {
  const t = template.split('/');
  const p = path.split('/');
  return t.length === p.length && t.every((seg, i) => (/^\{.+\}$/.test(seg) ? p[i] !== '' : seg === p[i]));
}

/** The methods the contract has for a path (HEAD where GET is), or [] when no path of it matches. */
export function allowedMethods(document: any, path: string): string[] {
  const methods = new Set<string>();
  for (const [template, item] of Object.entries(document?.paths ?? {}) as Array<[string, any]>) {
    if (!templateMatches(template, path)) continue;
    for (const method of OPERATION_METHODS) if (item?.[method]) methods.add(method.toUpperCase());
  }
  if (methods.has('GET')) methods.add('HEAD');
  return OPERATION_METHODS.map((m) => m.toUpperCase()).filter((m) => methods.has(m));
}

function methodNotAllowed(method: string, path: string, allow: string[]): HttpProblem {
  return new HttpProblem(
    405,
    'method-not-allowed',
    'Method not allowed',
    `${method} is not allowed on ${path} (allowed: ${allow.join(', ')})`,
    {},
    { Allow: allow.join(', ') },
  );
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

/** The header parameters an operation's request validation reads (lower-case names), or null when it reads
 *  something else beyond the URL (a cookie, an unresolved reference). */
const headerParameters = new WeakMap<object, string[] | null>();
function readsHeaders(operation: Operation): string[] | null {
  let names = headerParameters.get(operation);
  if (names === undefined) {
    const parameters = (operation.parameters ?? []) as any[];
    names = parameters.some((p) => !p || '$ref' in p || p.in === 'cookie')
      ? null
      : parameters.filter((p) => p.in === 'header').map((p) => String(p.name).toLowerCase());
    headerParameters.set(operation, names);
  }
  return names;
}

/** For a bodiless GET or HEAD, what its validation depends on: the method, the URL and the operation's header
 *  parameters (e.g. If-None-Match); undefined when that is not all. */
function validationKey(ctx: Context, operation: Operation): string | undefined {
  if ((ctx.method !== 'GET' && ctx.method !== 'HEAD') || (ctx.request as any).body !== undefined) return undefined;
  const names = readsHeaders(operation);
  if (names === null) return undefined;
  let key = `${ctx.method} ${ctx.url}`;
  for (const name of names) key += `\n${ctx.get(name)}`;
  return key.length <= 2048 ? key : undefined;
}

export interface ContractOptions {
  /** 'reject' (default): a request matching no operation is a 404/405 problem. 'pass': it goes on to the next
   *  middleware unvalidated (the gateway, whose app pages and SPA fallback are not API operations). */
  unknownRoutes?: 'reject' | 'pass';
}

/**
 * The platform refuses a NUL in every string a request carries (see text.ts); the contract says so, so that
 * clients and contract fuzzers know it: a string schema without a pattern gets `pattern: '^[^\u0000]*$'`, one
 * with a pattern `not: { type: string, pattern: '\u0000' }`. Applied to the document as loaded, so
 * /openapi.json serves it too.
 */
function withNulRefused(node: any, depth = 0): any {
  if (depth > 64 || !node || typeof node !== 'object') return node;
  if (Array.isArray(node)) {
    for (const item of node) withNulRefused(item, depth + 1);
    return node;
  }
  if (node.type === 'string' && node.format !== 'binary' && node.enum === undefined) {
    // a pattern where there is none (generators honour it); beside an existing one, a `not`
    if (node.pattern === undefined) node.pattern = '^[^\\u0000]*$';
    else if (node.not === undefined) node.not = { type: 'string', pattern: '\\u0000' };
  }
  for (const value of Object.values(node)) withNulRefused(value, depth + 1);
  return node;
}

export async function createContract(file: string, opts: ContractOptions = {}): Promise<Contract> {
  const document = withNulRefused(loadOpenApiDocument(file));
  // verbose: errors carry the data, so a pattern failure caused by a control character can say so
  const ajvOpts = { allErrors: true, verbose: true } as any;
  // Without this, `format` (email, uuid, date-time...) would be ignored with a warning.
  const customizeAjv = (ajv: any) => {
    addFormats(ajv);
    return ajv;
  };
  const api = new OpenAPIBackend({
    definition: withProblemJsonValidated(structuredClone(document)),
    quick: false,
    // the validator is built below, lazily compiled
    validate: false,
    strict: false,
  });
  // The document's validity against the OpenAPI 3.0 schema is a test (services/gateway/test/openapi-merge.test.ts
  // checks every service's document and the merged one); here it could only print a warning, and compiling that
  // schema was ~2 s of ajv in every start on the loaded machine.
  (api as unknown as { validateDefinition: () => unknown }).validateDefinition = () => api.document;
  await api.init();
  // openapi-backend's router rebuilds the list of every operation (lodash over the whole document) on each
  // call, and matchOperation calls it twice per request: the document never changes after init, so build once.
  const operations = api.router.getOperations();
  api.router.getOperations = () => operations;
  // Matching a templated path compiles a RegExp per template per call: the answer depends only on the method
  // and the path, so recent answers are kept (a hot event detail is the same path request after request).
  const match = api.router.matchOperation.bind(api.router);
  const matched = new Map<string, ReturnType<typeof match>>();
  api.router.matchOperation = ((req: { method: string; path: string }, strict?: boolean) => {
    if (strict || typeof req.path !== 'string' || req.path.includes('?') || req.path.length > 512)
      return match(req as never, strict === true);
    const key = `${String(req.method).toLowerCase()} ${req.path}`;
    if (matched.has(key)) return matched.get(key);
    const found = match(req as never, false);
    if (matched.size >= 1_000) matched.delete(matched.keys().next().value!);
    matched.set(key, found);
    return found;
  }) as typeof api.router.matchOperation;
  // Each operation's validator is compiled on its first use and kept (openapi-backend's default compiles every
  // request, response and response-header validator of every operation at start: most of a service's heap and
  // start time, while a service only ever validates requests; responses are validated by the tests).
  api.validate = true;
  api.validator = new OpenAPIValidator({
    definition: api.definition,
    router: api.router,
    ajvOpts,
    customizeAjv,
    lazyCompileValidators: true,
  });

  const validUrls = new Set<string>();
  const rememberValid = (key: string) => {
    if (validUrls.size >= 1_000) validUrls.delete(validUrls.values().next().value!);
    validUrls.add(key);
  };

  async function middleware(ctx: Context, next: Next): Promise<void> {
    if (ctx.path === '/openapi.json' && ctx.method === 'GET') {
      ctx.state.routeTemplate = '/openapi.json';
      ctx.body = document;
      return;
    }
    const operation = api.matchOperation({ method: ctx.method, path: ctx.path, headers: {} });
    if (!operation) {
      // Every route a service serves is in its contract: anything else is refused before any handler runs.
      // A path the contract has with another method is a 405 naming the methods it has (also in 'pass' mode:
      // the gateway's own documented pages answer like any operation).
      const allow = allowedMethods(document, ctx.path);
      if (allow.length && !(opts.unknownRoutes === 'pass' && ctx.method === 'HEAD' && allow.includes('GET')))
        throw methodNotAllowed(ctx.method, ctx.path, allow);
      if (opts.unknownRoutes === 'pass') return next();
      throw problems.notFound(`No route for ${ctx.method} ${ctx.path}`);
    }
    ctx.state.operation = operation;
    ctx.state.routeTemplate = operation.path;
    // A bodiless GET is valid or not by its URL and declared header parameters alone: one that passed every
    // check below passes again (a hot event detail is the same URL request after request).
    const urlKey = validationKey(ctx, operation);
    if (urlKey !== undefined && validUrls.has(urlKey)) return next();
    const params = pathParameters(operation.path, ctx.path);
    if (params.errors.length) throw problems.validation(params.errors);
    // One form for text (NFC), before anything measures or stores it; then no NUL anywhere (see text.ts).
    const body = normalizeStrings((ctx.request as any).body);
    const query = normalizeStrings({ ...ctx.query });
    const queryChanged = JSON.stringify(query) !== JSON.stringify(ctx.query);
    if (queryChanged) ctx.query = query;
    const nul = [
      ...nulFields(params.values, 'path'),
      ...nulFields(query, 'query'),
      ...(body === undefined ? [] : nulFields(body, 'requestBody')),
    ];
    if (nul.length) throw problems.validation(nul.map((field) => ({ field, message: NUL_MESSAGE })));
    const req = {
      method: ctx.method,
      path: ctx.path,
      headers: ctx.headers as Record<string, string>,
      query: ctx.query as Record<string, string>,
      body,
    };
    const result = api.validateRequest(req, operation);
    if (!result.valid) throw problems.validation(toFieldErrors(result.errors));
    if (urlKey !== undefined && !queryChanged) rememberValid(urlKey);
    await next();
  }

  function responseErrors(method: string, path: string, status: number, body: unknown, contentType?: string): string[] {
    const operation: Operation | undefined = api.matchOperation({ method, path, headers: {} });
    if (!operation) return [`no operation in the contract for ${method} ${path}`];
    const responses = operation.responses ?? {};
    const declared = responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses.default;
    if (!declared) return [`status ${status} is not declared for ${method} ${operation.path}`];
    // A response in another media type than JSON (an HTML receipt, an SVG): it must be one the contract
    // declares for that status; its body is not a JSON document to validate.
    const mediaType = contentType?.split(';')[0]!.trim().toLowerCase();
    if (mediaType && !/json/.test(mediaType)) {
      const content = (declared as { content?: Record<string, unknown> }).content ?? {};
      return mediaType in content ? [] : [`${mediaType} is not declared for ${method} ${operation.path} ${status}`];
    }
    const result = api.validateResponse(body, operation, status);
    return result.valid ? [] : toFieldErrors(result.errors).map((e) => `${e.field} ${e.message}`);
  }

  return { document, api, middleware, responseErrors };
}
