// Contracts: a service's openapi.yaml is loaded once, every request is validated against it (400 listing
// the fields), the contract is served at /openapi.json, and tests validate responses with the same document.
import { OpenAPIBackend, OpenAPIValidator, type Operation } from 'openapi-backend';
import addFormatsModule from 'ajv-formats';
import type { Context, Next } from 'koa';
import { HttpProblem, problems, type FieldError } from './errors.ts';
import { CONTROL_CHARACTERS, CONTROL_MESSAGE, NUL_MESSAGE, hasNul, normalizeStrings, nulFields } from './text.ts';
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
  const values: Record<string, string> = {};
  const errors: FieldError[] = [];
  const names = templateSegments(template);
  if (names === null) return { values, errors };
  const parts = path.split('/');
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    if (!name || parts[i] === undefined) continue;
    try {
      values[name] = decodeURIComponent(parts[i]!);
    } catch {
      errors.push({ field: `path.${name}`, message: 'is not valid percent-encoded UTF-8' });
    }
  }
  return { values, errors };
}

/** The parameter name of each segment of a template (undefined for a literal one), null when it has none; the
 *  templates are the contract's, so this stays as small as the contract. */
const segmentNames = new Map<string, Array<string | undefined> | null>();
function templateSegments(template: string): Array<string | undefined> | null {
  let names = segmentNames.get(template);
  if (names === undefined) {
    const found = template.split('/').map((segment) => /^\{(.+)\}$/.exec(segment)?.[1]);
    names = found.some(Boolean) ? found : null;
    segmentNames.set(template, names);
  }
  return names;
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
  /** How a matched request is checked. 'direct' (default): the operation's ajv validators (openapi-backend's,
   *  compiled on the operation's first request) are called on the request's parts, gathered here.
   *  'openapi-backend': through its validateRequest, which parses the whole request again on every call (every
   *  header lower-cased, cookies, the query deep-cloned, the path template compiled, lodash throughout): the
   *  path 'direct' replaced, kept as the reference the tests and the micro-benchmark compare it with. Both run
   *  the same validators on the same values and answer the same errors. */
  requestValidation?: 'direct' | 'openapi-backend';
}

/** What 'direct' validation needs of an operation, worked out on its first request. */
interface DirectPlan {
  operationId: string;
  /** openapi-backend's path parameters (bath-es5): each `{name}` of the template as `([^/]*)`, the rest as written. */
  pathPattern: RegExp;
  pathNames: string[];
  /** Query parameters whose (first) declaration is `type: array`: a single value is validated as a list of one. */
  arrayQuery: Set<string>;
  /** The header parameters it declares, lower-case (the only headers its schema reads). */
  headers: string[];
  /** Its validators (body first, then parameters), from the validator's lazy store on first use. */
  validators?: Array<((data: unknown) => boolean) & { errors?: unknown[] | null }>;
}

const directPlans = new WeakMap<object, DirectPlan | null>();
/** The operation's plan, or null when openapi-backend must parse its requests itself: no operationId, a cookie or
 *  unresolved parameter, a query parameter it decodes by style or as JSON (`content`, `explode: false`). None of
 *  the services' contracts has one (a test checks that they all go direct). */
function directPlan(operation: Operation): DirectPlan | null {
  let plan = directPlans.get(operation);
  if (plan !== undefined) return plan;
  plan = null;
  const parameters = (operation.parameters ?? []) as any[];
  const headers = readsHeaders(operation);
  const pathNames = (operation.path.match(/\{[A-Za-z0-9_-]+\}/g) ?? []).map((x) => x.slice(1, -1));
  if (
    operation.operationId &&
    headers !== null &&
    !parameters.some((p) => p.in === 'query' && (p.content !== undefined || p.explode === false)) &&
    !pathNames.includes('__proto__')
  ) {
    // _.find(parameters, { name, in: 'query' }): the first declaration of a name decides
    const queryDeclarations = new Map<string, any>();
    for (const p of parameters)
      if (p.in === 'query' && !queryDeclarations.has(p.name)) queryDeclarations.set(p.name, p);
    const arrayQuery = new Set<string>();
    for (const [name, p] of queryDeclarations) if (p.schema && p.schema.type === 'array') arrayQuery.add(name);
    plan = {
      operationId: operation.operationId,
      pathPattern: new RegExp(`^${operation.path.replace(/\{[A-Za-z0-9_-]+\}/g, '([^\\/]*)')}$`),
      pathNames,
      arrayQuery,
      headers,
    };
  }
  directPlans.set(operation, plan);
  return plan;
}

/** The path openapi-backend's router matches and reads parameters from: trimmed, from a slash, without a query,
 *  without trailing slashes. */
function routerPath(path: string): string {
  let p = path.trim();
  if (!p.startsWith('/')) p = `/${p}`;
  p = p.split('?')[0]!.trim();
  while (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  return p;
}

/** bath-es5's parameters of a path (what openapi-backend validates as `path`): decoded, {} when the template
 *  does not match or one name has two values. */
function routerPathParameters(plan: DirectPlan, path: string): Record<string, string> {
  const m = plan.pathPattern.exec(routerPath(path));
  if (m === null) return {};
  const values: Record<string, string> = {};
  for (let i = 0; i < plan.pathNames.length; i++) {
    const name = plan.pathNames[i]!;
    const value = decodeURIComponent(m[i + 1]!);
    if (Object.hasOwn(values, name) && values[name] !== value) return {};
    values[name] = value;
  }
  return values;
}

/** A copy of the query as openapi-backend validates it (_.cloneDeep, then a single value of an array parameter
 *  as a list of one); undefined for a value that is not a string or a list of strings (never from Koa). */
function queryForValidation(plan: DirectPlan, source: Record<string, unknown>): Record<string, unknown> | undefined {
  const query: Record<string, unknown> = {};
  for (const name of Object.keys(source)) {
    let value = source[name];
    if (typeof value === 'string') {
      if (plan.arrayQuery.has(name)) value = [value];
    } else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) value = value.slice();
    else return undefined;
    if (name === '__proto__')
      Object.defineProperty(query, name, { value, writable: true, enumerable: true, configurable: true });
    else query[name] = value;
  }
  return query;
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
  let added: object | undefined;
  if (node.type === 'string' && node.format !== 'binary' && node.enum === undefined) {
    // a pattern where there is none (generators honour it); beside an existing one, a `not`
    if (node.pattern === undefined) node.pattern = '^[^\\u0000]*$';
    else if (node.not === undefined) node.not = added = { type: 'string', pattern: '\\u0000' };
  }
  // not into the `not` just added: it is a string schema with a pattern too, and was given its own `not`, and so
  // on down to the depth bound (a chain of ~60 nested `not`s behind every patterned string, evaluated on every
  // validation of it; for a string without NUL the chain passes whatever its length, and NUL never reaches the
  // validators: the middleware refuses it first)
  for (const value of Object.values(node)) if (value !== added) withNulRefused(value, depth + 1);
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

  const direct = opts.requestValidation !== 'openapi-backend';

  /** The ajv errors of a request (body, then path, query, headers): openapi-backend's validateRequest, or what
   *  it does with the same validators on the same values, without re-parsing the request (see requestValidation). */
  function requestErrors(ctx: Context, operation: Operation, body: unknown): any[] {
    const plan = direct ? directPlan(operation) : null;
    // a body other than JSON's objects and arrays (never from the JSON body parser) is parsed by openapi-backend
    const query =
      plan && (body === undefined || typeof body === 'object') ? queryForValidation(plan, ctx.query) : undefined;
    if (!plan || !query) {
      const req = {
        method: ctx.method,
        path: ctx.path,
        headers: ctx.headers as Record<string, string>,
        query: ctx.query as Record<string, string>,
        body,
      };
      return api.validateRequest(req, operation).errors ?? [];
    }
    const header: Record<string, unknown> = {};
    for (const name of plan.headers) {
      const value = ctx.headers[name];
      if (value !== undefined) header[name] = Array.isArray(value) ? value.slice() : value;
    }
    // no cookie parameter (else no plan): the cookie object's schema accepts any object
    const parameters: Record<string, unknown> = {
      path: routerPathParameters(plan, ctx.path),
      query,
      header,
      cookie: {},
    };
    const rawContentType = ctx.headers['content-type'];
    const contentType = String((Array.isArray(rawContentType) ? rawContentType[0] : rawContentType) || '')
      .split(';')[0]!
      .trim()
      .toLowerCase();
    if (typeof body === 'object' || contentType === 'application/json') parameters.requestBody = body;
    plan.validators ??= (api.validator.getRequestValidatorsForOperation(plan.operationId) ?? []) as any;
    let errors: any[] = [];
    for (const validate of plan.validators!) {
      validate(parameters);
      if (validate.errors) errors = errors.concat(validate.errors);
    }
    return errors;
  }

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
    let query: Record<string, unknown> = {};
    let queryChanged = false;
    if (ctx.querystring !== '') {
      query = normalizeStrings({ ...ctx.query });
      queryChanged = JSON.stringify(query) !== JSON.stringify(ctx.query);
      if (queryChanged) ctx.query = query as typeof ctx.query;
    }
    if (hasNul(params.values) || hasNul(query) || hasNul(body)) {
      const nul = [
        ...nulFields(params.values, 'path'),
        ...nulFields(query, 'query'),
        ...(body === undefined ? [] : nulFields(body, 'requestBody')),
      ];
      throw problems.validation(nul.map((field) => ({ field, message: NUL_MESSAGE })));
    }
    const errors = requestErrors(ctx, operation, body);
    if (errors.length) throw problems.validation(toFieldErrors(errors));
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
