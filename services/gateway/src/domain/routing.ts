// The routing table's rules (pure): validated (a bad table stops the gateway at start), compiled into
// patterns sorted most-specific first, and matched per request. The table itself is routing/table.yaml.
import { z } from 'zod';
import { UPSTREAM_SERVICES } from '../config.ts';

export const AUTH_LEVELS = ['public', 'user', 'organizer', 'admin'] as const;
export type AuthLevel = (typeof AUTH_LEVELS)[number];
export const RATE_LIMIT_CLASSES = ['standard', 'login', 'holds', 'none'] as const;
export type RateLimitClass = (typeof RATE_LIMIT_CLASSES)[number];

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

const routeSchema = z
  .object({
    path: z
      .string()
      .regex(
        /^\/api(\/([A-Za-z0-9._-]+|\{[A-Za-z][A-Za-z0-9_]*\}))*(\/\*\*)?$/,
        'must be /api/... with literal or {param} segments and an optional trailing /**',
      ),
    methods: z.array(z.enum(METHODS)).min(1),
    service: z.enum(UPSTREAM_SERVICES),
    auth: z.enum(AUTH_LEVELS),
    timeoutMs: z.number().int().positive().optional(),
    rateLimit: z.enum(RATE_LIMIT_CLASSES).default('standard'),
    stream: z.boolean().default(false),
    /** A public live stream that is the same for everyone: one upstream stream per path, fanned out to its
     *  viewers by the gateway (proxy/stream-hub.ts). Implies `stream`. */
    fanout: z.boolean().default(false),
  })
  .strict()
  .refine((r) => !r.fanout || (r.auth === 'public' && r.methods.every((m) => m === 'GET')), {
    message: 'a fanout route is a public GET stream (the same for every viewer: no identity reaches the service)',
  });

const tableSchema = z.object({ routes: z.array(routeSchema).min(1) }).strict();

export type RouteEntry = z.infer<typeof routeSchema>;

/** One matched route: the table entry plus what the request needs from it. */
export interface Route extends RouteEntry {
  /** The path pattern, used as the metrics/log route template. */
  template: string;
}

type Segment = { kind: 'literal'; value: string } | { kind: 'param' } | { kind: 'rest' };

interface Pattern {
  template: string;
  segments: Segment[];
  byMethod: Map<string, Route>;
}

export type RouteMatch =
  { kind: 'route'; route: Route } | { kind: 'method-not-allowed'; template: string; allow: string[] };

export interface RoutingTable {
  routes: Route[];
  /** undefined when no pattern matches the path. */
  match: (method: string, path: string) => RouteMatch | undefined;
  /** Every method some route serves on this path (HEAD where GET is); [] when no pattern matches it. */
  allow: (path: string) => string[];
}

const RANK = { literal: 2, param: 1, rest: 0 } as const;
/** The order Allow headers list methods in (the services' 405s use the same). */
const ALLOW_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

function compileSegments(path: string): Segment[] {
  return path
    .split('/')
    .slice(1)
    .map((s): Segment =>
      s === '**' ? { kind: 'rest' } : s.startsWith('{') ? { kind: 'param' } : { kind: 'literal', value: s },
    );
}

/** Negative when a is more specific than b: at the first differing segment, literal > {param} > /**. */
function bySpecificity(a: Pattern, b: Pattern): number {
  const n = Math.max(a.segments.length, b.segments.length);
  for (let i = 0; i < n; i++) {
    const ra = a.segments[i] ? RANK[a.segments[i].kind] : -1;
    const rb = b.segments[i] ? RANK[b.segments[i].kind] : -1;
    if (ra !== rb) return rb - ra;
  }
  return 0;
}

function matches(segments: Segment[], parts: string[]): boolean {
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    if (seg.kind === 'rest') return parts.length > i;
    if (i >= parts.length) return false;
    if (seg.kind === 'literal' && seg.value !== parts[i]) return false;
  }
  return parts.length === segments.length;
}

export function compileTable(raw: unknown): RoutingTable {
  const parsed = tableSchema.parse(raw);
  const patterns = new Map<string, Pattern>();
  const routes: Route[] = [];
  for (const entry of parsed.routes) {
    let pattern = patterns.get(entry.path);
    if (!pattern) {
      pattern = { template: entry.path, segments: compileSegments(entry.path), byMethod: new Map() };
      patterns.set(entry.path, pattern);
    }
    const route: Route = { ...entry, template: entry.path };
    routes.push(route);
    for (const method of entry.methods) {
      if (pattern.byMethod.has(method)) throw new Error(`routing table: ${method} ${entry.path} is listed twice`);
      pattern.byMethod.set(method, route);
    }
    if (entry.methods.includes('GET')) pattern.byMethod.set('HEAD', route);
  }
  const sorted = [...patterns.values()].sort(bySpecificity);

  /** The patterns that may serve a path: the most specific one that matches it (a literal segment shadows a
   *  {param} at the same place, for every method, as OpenAPI matches concrete paths before templated ones),
   *  then the "anything below" (/**) patterns that match it, most specific first. */
  function candidates(path: string): Pattern[] {
    const parts = path.split('/').slice(1);
    const matching = sorted.filter((pattern) => matches(pattern.segments, parts));
    return matching.filter((pattern, i) => i === 0 || pattern.segments.at(-1)?.kind === 'rest');
  }

  function allow(path: string): string[] {
    const methods = new Set(candidates(path).flatMap((pattern) => [...pattern.byMethod.keys()]));
    return ALLOW_ORDER.filter((m) => methods.has(m));
  }

  // Recent answers by method and path: every pattern is tried per match, and a hot path (an event's detail, the
  // holds route) is asked again request after request. The table never changes once loaded.
  const recent = new Map<string, RouteMatch | undefined>();
  function match(method: string, path: string): RouteMatch | undefined {
    if (path.length > 512) return matchNow(method, path);
    const key = `${method} ${path}`;
    let answer = recent.get(key);
    if (answer === undefined && !recent.has(key)) {
      answer = matchNow(method, path);
      if (recent.size >= 1_000) recent.delete(recent.keys().next().value!);
      recent.set(key, answer);
    }
    return answer;
  }

  function matchNow(method: string, path: string): RouteMatch | undefined {
    // The first candidate that has the method wins; 405 (naming every method the candidates route) if none has it.
    const found = candidates(path);
    for (const pattern of found) {
      const route = pattern.byMethod.get(method);
      if (route) return { kind: 'route', route };
    }
    return found[0] && { kind: 'method-not-allowed', template: found[0].template, allow: allow(path) };
  }

  return { routes, match, allow };
}

/** Paths that could mean something else after an upstream normalises them (dot segments, encoded
 *  slashes or dots, empty segments, a trailing slash that would match {id} with an empty id) are refused
 *  rather than forwarded: the auth decision was made on the path as written. */
export function isAmbiguousPath(path: string): boolean {
  return /\/\.{1,2}(\/|$)|%2f|%2e|%5c|\\|\/\/|\/$/i.test(path);
}
