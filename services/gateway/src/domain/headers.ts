// Header hygiene at the edge: hop-by-hop headers never cross the proxy, and identity headers are only
// ever the gateway's own (anything a client sends under those names, the internal token included, is dropped
// on every route). A verified identity travels on as an internal token signed for the owning service, with the
// x-user-* headers it proves.
import type { IncomingHttpHeaders } from 'node:http';
import { IDENTITY_HEADERS } from '@eventtickets/platform/auth';
import { INTERNAL_TOKEN_HEADER } from '@eventtickets/platform/internal-token';

/** RFC 9110 §7.6.1 connection-specific headers, plus those a proxy must set itself. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

export const IDENTITY_HEADER_NAMES: readonly string[] = [...Object.values(IDENTITY_HEADERS), INTERNAL_TOKEN_HEADER];
const IDENTITY_NAMES: ReadonlySet<string> = new Set(IDENTITY_HEADER_NAMES);

/** Removes identity headers from an incoming request in place (run first, before anything reads them). */
export function stripIdentityHeaders(headers: IncomingHttpHeaders): void {
  for (const name of IDENTITY_HEADER_NAMES) delete headers[name];
}

const NO_TOKENS: ReadonlySet<string> = new Set();
/** The Connection values nearly every request and response carries, parsed once (keep-alive is hop-by-hop anyway). */
const COMMON_CONNECTION = new Map<string, ReadonlySet<string>>([
  ['keep-alive', NO_TOKENS],
  ['Keep-Alive', NO_TOKENS],
  ['close', new Set(['close'])],
  ['Close', new Set(['close'])],
]);

/** Names listed in a Connection header are hop-by-hop too. */
function connectionTokens(value: string | string[] | undefined): ReadonlySet<string> {
  if (value === undefined) return NO_TOKENS;
  const common = typeof value === 'string' ? COMMON_CONNECTION.get(value) : undefined;
  if (common) return common;
  const raw = Array.isArray(value) ? value.join(',') : value;
  return new Set(
    raw
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
}

export function isHopByHop(name: string, listed: ReadonlySet<string>): boolean {
  return HOP_BY_HOP.has(name) || listed.has(name);
}

export interface ForwardContext {
  /** The verified identity for the upstream: its internal token and x-user-* headers (signer.headers). */
  identityHeaders?: Record<string, string>;
  requestId: string;
  traceparent: string;
  tracestate?: string;
  clientIp: string;
  forwardedFor?: string;
  proto: string;
  host: string;
  /** Drop Accept-Encoding so a stream is never compressed (and so never held back by a compressor). */
  noCompression: boolean;
}

/** Request headers for the upstream: the client's end-to-end headers plus the gateway's own. */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  fwd: ForwardContext,
): Record<string, string | string[]> {
  const listed = connectionTokens(incoming.connection);
  const out: Record<string, string | string[]> = {};
  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined || name === 'host' || isHopByHop(name, listed)) continue;
    if (IDENTITY_NAMES.has(name)) continue; // already stripped; belt and braces
    if (name === 'traceparent' || name === 'tracestate' || name === 'x-request-id') continue;
    if (name.startsWith('x-forwarded-')) continue;
    if (fwd.noCompression && name === 'accept-encoding') continue;
    out[name] = value;
  }
  out['x-request-id'] = fwd.requestId;
  out.traceparent = fwd.traceparent;
  if (fwd.tracestate) out.tracestate = fwd.tracestate;
  out['x-forwarded-for'] = fwd.forwardedFor ? `${fwd.forwardedFor}, ${fwd.clientIp}` : fwd.clientIp;
  out['x-forwarded-proto'] = fwd.proto;
  out['x-forwarded-host'] = fwd.host;
  if (fwd.identityHeaders) Object.assign(out, fwd.identityHeaders);
  return out;
}

/** Response headers for the client: the upstream's minus hop-by-hop ones. */
export function clientResponseHeaders(
  upstream: Record<string, string | string[] | undefined>,
): Array<[string, string | string[]]> {
  const listed = connectionTokens(upstream.connection);
  const out: Array<[string, string | string[]]> = [];
  for (const name in upstream) {
    const value = upstream[name];
    if (value === undefined || isHopByHop(name, listed)) continue;
    out.push([name, value]);
  }
  return out;
}
