// GET /api/openapi.json: one contract for the whole public API, merged from every configured service's
// /openapi.json. Only operations the routing table actually sends to that service are kept (so the
// document shows what the gateway serves); the result is valid OpenAPI 3.0.3 (contracts in 3.1 are brought
// down, component names are namespaced by service, operationIds stay unique); a service that is down is
// left out and named in x-missing-services.
//
// Grouping: clients never see service boundaries, so operations stay under the services' own resource tags
// (auth, events, holds...), each declared once with the service(s) serving it in its description; an
// operation without a tag goes under its service's name. Only tags that hold an operation are declared
// (Swagger UI shows every declared tag as a group, empty or not).
//
// Security comes from the routing table, the gateway being the one that checks tokens: one bearerAuth
// scheme, required on user/organizer/admin routes (with the role in the description), none on public ones.
import type { Dispatcher } from 'undici';
import type { Logger } from '@eventtickets/platform';
import type { AuthLevel, RoutingTable } from '../domain/routing.ts';
import { documentTo30 } from './openapi-30.ts';
import { namespacedName, namespaceRefs } from './namespace.ts';

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

export interface MergeOptions {
  services: readonly string[];
  upstreams: Partial<Record<string, string>>;
  table: RoutingTable;
  gatewayDocument: any;
  dispatcher: Dispatcher;
  fetchTimeoutMs: number;
  cacheMs: number;
  logger: Logger;
}

export const BEARER_SCHEME = 'bearerAuth';

const BEARER_AUTH = {
  type: 'http',
  scheme: 'bearer',
  bearerFormat: 'JWT',
  description: 'Access token from POST /api/auth/login (or /api/auth/refresh), verified by the gateway.',
};

const AUTH_NOTE: Record<Exclude<AuthLevel, 'public'>, string> = {
  user: 'Requires a signed-in user (bearer access token).',
  organizer: 'Requires a signed-in organizer or admin (bearer access token).',
  admin: 'Requires a signed-in admin (bearer access token).',
};

/** What the gateway enforces on a route, as an OpenAPI security requirement. Public routes get none: the
 *  optional form ([{}, bearer]) makes Swagger UI draw them locked and the protected ones open. */
function securityFor(auth: AuthLevel | undefined): Array<Record<string, string[]>> | undefined {
  return auth === undefined || auth === 'public' ? undefined : [{ [BEARER_SCHEME]: [] }];
}

/** A concrete path for a template ({id} → a sample segment) so it can be run through the table. */
function samplePath(template: string): string {
  return template.replace(/\{[^}]+\}/g, 'sample');
}

/** Path-level parameters moved into the operation (another service may own other methods of the same
 *  path, and must not inherit them); an operation's own parameter wins over a path-level one. */
function withPathParameters(pathParams: any[] | undefined, opParams: any[] | undefined): any[] | undefined {
  if (!pathParams?.length) return opParams;
  const key = (p: any) => (p?.$ref ? `ref:${p.$ref}` : `${p?.in}:${p?.name}`);
  const own = new Set((opParams ?? []).map(key));
  const merged = [...pathParams.filter((p) => !own.has(key(p))), ...(opParams ?? [])];
  return merged;
}

function describeTag(description: string | undefined, services: string[]): string {
  const by = `${services.join(' and ')} service${services.length > 1 ? 's' : ''}`;
  return description ? `${description} (${by})` : `Served by the ${by}`;
}

export interface MergedDocument {
  document: any;
  missing: string[];
}

export function mergeDocuments(
  opts: Pick<MergeOptions, 'table' | 'gatewayDocument'>,
  contracts: Array<{ service: string; document: any }>,
  missing: string[],
): any {
  const gateway = opts.gatewayDocument;
  const merged: any = {
    openapi: '3.0.3',
    info: {
      title: 'EventTickets API',
      version: gateway.info?.version ?? '0.1.0',
      description:
        'The public API of EventTickets, as served by the gateway: one document merged from every service contract. Operations with a lock take a bearer access token from POST /api/auth/login (use Authorize).',
    },
    tags: [] as Array<{ name: string; description: string }>,
    paths: {} as Record<string, any>,
    components: { securitySchemes: { [BEARER_SCHEME]: BEARER_AUTH } } as Record<string, Record<string, unknown>>,
    'x-missing-services': missing,
  };
  /** Tag name → its description in the first contract that describes it, and the services using it. */
  const tags = new Map<string, { description?: string; services: string[] }>();
  const operationIds = new Set<string>();
  // The services first, in the configured order; the gateway's own endpoints (the docs) last.
  const sources = [...contracts, { service: 'gateway', document: gateway }];
  for (const { service, document } of sources) {
    if (!document || typeof document !== 'object') continue;
    const doc = namespaceRefs(documentTo30(document), service) as any;
    for (const [kind, entries] of Object.entries(doc.components ?? {})) {
      if (kind === 'securitySchemes') continue; // clients authenticate to the gateway, with its one scheme
      merged.components[kind] ??= {};
      for (const [name, value] of Object.entries(entries as Record<string, unknown>))
        merged.components[kind][namespacedName(service, name)] = value;
    }
    const ownTags = new Map<string, string | undefined>((doc.tags ?? []).map((t: any) => [t?.name, t?.description]));
    const used = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths ?? {}) as Array<[string, any]>) {
      for (const method of HTTP_METHODS) {
        const operation = item?.[method];
        if (!operation) continue;
        let auth: AuthLevel | undefined;
        if (service !== 'gateway') {
          const match = path.startsWith('/api/') ? opts.table.match(method.toUpperCase(), samplePath(path)) : undefined;
          if (match?.kind !== 'route' || match.route.service !== service) continue; // not reachable through the gateway
          auth = match.route.auth;
        } else if (!path.startsWith('/api/') && !path.startsWith('/docs')) continue;
        const op = { ...operation };
        op.tags = op.tags?.length ? op.tags : [service];
        for (const tag of op.tags) used.add(tag);
        if (op.operationId && operationIds.has(op.operationId))
          op.operationId = namespacedName(service, op.operationId);
        if (op.operationId) operationIds.add(op.operationId);
        const parameters = withPathParameters(item.parameters, op.parameters);
        if (parameters) op.parameters = parameters;
        const security = securityFor(auth);
        if (security) op.security = security;
        else delete op.security;
        if (auth && auth !== 'public')
          op.description = op.description ? `${AUTH_NOTE[auth]}\n\n${op.description}` : AUTH_NOTE[auth];
        merged.paths[path] ??= {};
        merged.paths[path][method] = op;
      }
    }
    // This service's tags in the order its contract declares them (undeclared ones after, as met).
    const declared = [...ownTags.keys()];
    const rank = (tag: string) => (declared.includes(tag) ? declared.indexOf(tag) : declared.length);
    for (const tag of [...used].sort((a, b) => rank(a) - rank(b))) {
      const entry = tags.get(tag) ?? { services: [] };
      entry.description ??= ownTags.get(tag);
      entry.services.push(service);
      tags.set(tag, entry);
    }
  }
  merged.tags = [...tags].map(([name, { description, services }]) => ({
    name,
    description: describeTag(description, services),
  }));
  return merged;
}

export function createOpenApiAggregator(opts: MergeOptions) {
  let cached: { at: number; value: MergedDocument } | undefined;
  let inFlight: Promise<MergedDocument> | undefined;

  async function fetchContract(service: string, base: string): Promise<any> {
    const url = new URL('/openapi.json', base);
    const res = await opts.dispatcher.request({
      origin: url.origin,
      path: url.pathname,
      method: 'GET',
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(opts.fetchTimeoutMs),
      headersTimeout: opts.fetchTimeoutMs,
      bodyTimeout: opts.fetchTimeoutMs,
    });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new Error(`${service} answered ${res.statusCode}`);
    }
    return res.body.json();
  }

  async function build(): Promise<MergedDocument> {
    const missing: string[] = [];
    const results = await Promise.all(
      opts.services.map(async (service) => {
        const base = opts.upstreams[service];
        if (!base) {
          missing.push(service);
          return undefined;
        }
        try {
          return { service, document: await fetchContract(service, base) };
        } catch (err) {
          opts.logger.warn(
            { upstream: service, err: (err as Error).message },
            'service contract unavailable; omitted from the merged document',
          );
          missing.push(service);
          return undefined;
        }
      }),
    );
    missing.sort();
    const contracts = results.filter((r): r is { service: string; document: any } => !!r);
    return { document: mergeDocuments(opts, contracts, missing), missing };
  }

  /** The merged document, rebuilt at most once per cacheMs (concurrent callers share one build). */
  async function get(): Promise<MergedDocument> {
    if (cached && Date.now() - cached.at < opts.cacheMs) return cached.value;
    inFlight ??= build()
      .then((value) => {
        cached = { at: Date.now(), value };
        return value;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  }

  return { get };
}
