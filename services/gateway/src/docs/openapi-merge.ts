// GET /api/openapi.json: one contract for the whole public API, merged from every configured service's
// /openapi.json. Only operations the routing table actually sends to that service are kept (so the
// document shows what the gateway serves), component names are prefixed with the service to avoid
// collisions, and a service that is down is left out and named in x-missing-services.
import type { Dispatcher } from 'undici';
import type { Logger } from '@eventtickets/platform';
import type { RoutingTable } from '../routing/table.ts';

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

/** Rewrites local component refs (#/components/<kind>/<Name>...) to the prefixed names, deeply. */
function prefixRefs(node: unknown, prefix: string): unknown {
  if (Array.isArray(node)) return node.map((n) => prefixRefs(n, prefix));
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$ref' && typeof value === 'string') {
      out[key] = value.replace(/^#\/components\/([^/]+)\/([^/]+)/, (_m, kind: string, name: string) => `#/components/${kind}/${prefix}.${name}`);
    } else out[key] = prefixRefs(value, prefix);
  }
  return out;
}

function prefixSecurity(requirements: unknown, prefix: string, schemes: Set<string>): unknown {
  if (!Array.isArray(requirements)) return requirements;
  return requirements.map((req: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(req ?? {}).map(([name, scopes]) => [schemes.has(name) ? `${prefix}.${name}` : name, scopes])),
  );
}

/** A concrete path for a template ({id} → a sample segment) so it can be run through the table. */
function samplePath(template: string): string {
  return template.replace(/\{[^}]+\}/g, 'sample');
}

export interface MergedDocument {
  document: any;
  missing: string[];
}

export function mergeDocuments(opts: Pick<MergeOptions, 'table' | 'gatewayDocument'>, contracts: Array<{ service: string; document: any }>, missing: string[]): any {
  const gateway = opts.gatewayDocument;
  const merged: any = {
    openapi: '3.1.0',
    info: {
      title: 'EventTickets API',
      version: gateway.info?.version ?? '0.1.0',
      description: 'The public API of EventTickets, as served by the gateway: one document merged from every service contract. Operations that need a signed-in user take a Bearer access token from POST /api/auth/login.',
    },
    servers: [{ url: '/' }],
    tags: [] as Array<{ name: string; description: string }>,
    paths: {} as Record<string, any>,
    components: {} as Record<string, Record<string, unknown>>,
    'x-missing-services': missing,
  };
  const sources = [{ service: 'gateway', document: gateway }, ...contracts];
  for (const { service, document } of sources) {
    if (!document || typeof document !== 'object') continue;
    const doc = prefixRefs(document, service) as any;
    const schemes = new Set(Object.keys(doc.components?.securitySchemes ?? {}));
    for (const [kind, entries] of Object.entries(doc.components ?? {})) {
      merged.components[kind] ??= {};
      for (const [name, value] of Object.entries(entries as Record<string, unknown>)) merged.components[kind][`${service}.${name}`] = value;
    }
    let kept = 0;
    for (const [path, item] of Object.entries(doc.paths ?? {}) as Array<[string, any]>) {
      for (const method of HTTP_METHODS) {
        const operation = item?.[method];
        if (!operation) continue;
        if (service !== 'gateway') {
          const match = path.startsWith('/api/') ? opts.table.match(method.toUpperCase(), samplePath(path)) : undefined;
          if (match?.kind !== 'route' || match.route.service !== service) continue; // not reachable through the gateway
        } else if (!path.startsWith('/api/') && !path.startsWith('/docs')) continue;
        const op = { ...operation };
        op.tags = op.tags?.length ? op.tags : [service];
        op.security = prefixSecurity(op.security ?? doc.security, service, schemes);
        if (op.security === undefined) delete op.security;
        merged.paths[path] ??= {};
        if (item.parameters && !merged.paths[path].parameters) merged.paths[path].parameters = item.parameters;
        merged.paths[path][method] = op;
        kept++;
      }
    }
    if (kept > 0) merged.tags.push({ name: service, description: document.info?.title ?? service });
  }
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
          opts.logger.warn({ upstream: service, err: (err as Error).message }, 'service contract unavailable; omitted from the merged document');
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
