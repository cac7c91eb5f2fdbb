// A short shared cache of public responses (a "micro-cache", as nginx's proxy_cache does it): during an
// on-sale thousands of browsers read the same event detail, and each read through the gateway costed a full
// proxied request to catalog. The gateway keeps a response the upstream marked shareable and answers the same
// anonymous GET from memory for at most min(the upstream's max-age, GATEWAY_MICROCACHE_MS), with its ETag
// (If-None-Match → 304) and an Age header.
//
// Correctness first, the rules (services/gateway/README.md):
// - only anonymous GETs of `public` routes: a request with any Authorization header, or whose route needs a
//   signed-in user, never reads or fills it (and no identity ever reaches the upstream for a cached answer);
// - only 200 responses whose Cache-Control says `public` with a positive max-age (or s-maxage) and none of
//   private, no-store, no-cache; no Set-Cookie; no `Vary: *`; a known length up to MAX_BODY;
// - a request's `Cache-Control: no-cache` (or `Pragma: no-cache`) goes to the upstream and refreshes the copy;
// - a Vary'd request header must have the value the stored response was made for;
// - any other method this gateway forwards to a service drops every copy of that service (read-your-writes
//   through one gateway); another gateway replica's copies live at most GATEWAY_MICROCACHE_MS.
import type { IncomingHttpHeaders } from 'node:http';
import { etagMatches } from '@eventtickets/platform/conditional';

export const MICROCACHE_MAX_BODY = 256 * 1024;

export interface CachedResponse {
  service: string;
  headers: Array<[string, string | string[]]>;
  body: Buffer;
  etag?: string;
  /** Request header name → value the response was made for (its Vary). */
  vary: Array<[string, string | undefined]>;
  storedAt: number;
  until: number;
}

export interface MicroCache {
  /** A fresh stored answer for this request, if it may have one. */
  lookup(key: string, headers: IncomingHttpHeaders): CachedResponse | undefined;
  /** How long (ms) a response may be kept, 0 when it must not be (by its status and headers). */
  freshnessMs(statusCode: number, headers: Record<string, string | string[] | undefined>): number;
  store(key: string, entry: Omit<CachedResponse, 'storedAt' | 'until'>, freshMs: number): void;
  /** A write reached the service: its copies are stale. */
  dropService(service: string): void;
  readonly size: number;
}

/** Whether this request may be answered from (and fill) the micro-cache. */
export function mayUseMicroCache(method: string, headers: IncomingHttpHeaders): boolean {
  if (method !== 'GET' || headers.authorization !== undefined || headers.range !== undefined) return false;
  return true;
}

/** The client asks for a fresh answer (it still refreshes the stored copy). */
export function wantsRevalidation(headers: IncomingHttpHeaders): boolean {
  const cc = String(headers['cache-control'] ?? '').toLowerCase();
  return (
    /(^|,)\s*(no-cache|no-store|max-age\s*=\s*0)\s*(,|$)/.test(cc) || /no-cache/i.test(String(headers.pragma ?? ''))
  );
}

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

export function createMicroCache(opts: { maxMs: number; maxEntries?: number; maxBytes?: number }): MicroCache {
  const maxEntries = opts.maxEntries ?? 500;
  const maxBytes = opts.maxBytes ?? 32 * 1024 * 1024;
  const entries = new Map<string, CachedResponse>();
  let bytes = 0;
  const remove = (key: string) => {
    const e = entries.get(key);
    if (!e) return;
    entries.delete(key);
    bytes -= e.body.length;
  };
  return {
    get size() {
      return entries.size;
    },
    lookup(key, headers) {
      const e = entries.get(key);
      if (!e) return undefined;
      if (e.until <= Date.now()) {
        remove(key);
        return undefined;
      }
      for (const [name, value] of e.vary) if (one(headers[name]) !== value) return undefined;
      return e;
    },
    freshnessMs(statusCode, headers) {
      if (opts.maxMs <= 0 || statusCode !== 200 || headers['set-cookie'] !== undefined) return 0;
      const cc = (one(headers['cache-control']) ?? '').toLowerCase();
      if (!/(^|,)\s*public\s*(,|$)/.test(cc) || /(^|,)\s*(private|no-store|no-cache)\b/.test(cc)) return 0;
      if ((one(headers.vary) ?? '').includes('*')) return 0;
      const length = Number(one(headers['content-length']));
      if (!Number.isInteger(length) || length > MICROCACHE_MAX_BODY) return 0;
      const age = /(?:^|,)\s*s-maxage\s*=\s*(\d+)/.exec(cc) ?? /(?:^|,)\s*max-age\s*=\s*(\d+)/.exec(cc);
      const seconds = age ? Number(age[1]) : 0;
      return seconds > 0 ? Math.min(seconds * 1000, opts.maxMs) : 0;
    },
    store(key, entry, freshMs) {
      remove(key);
      const now = Date.now();
      entries.set(key, { ...entry, storedAt: now, until: now + freshMs });
      bytes += entry.body.length;
      while (entries.size > maxEntries || bytes > maxBytes) remove(entries.keys().next().value!);
    },
    dropService(service) {
      for (const [key, e] of entries) if (e.service === service) remove(key);
    },
  };
}

/** The request header values a response varies on (its Vary header, lower-case names). */
export function varyValues(
  vary: string | string[] | undefined,
  headers: IncomingHttpHeaders,
): Array<[string, string | undefined]> {
  const names = (one(vary) ?? '')
    .split(',')
    .map((n) => n.trim().toLowerCase())
    .filter(Boolean);
  return names.map((n) => [n, one(headers[n])]);
}

/** Whether the stored answer satisfies the client's If-None-Match. */
export function notModified(entry: CachedResponse, headers: IncomingHttpHeaders): boolean {
  return entry.etag !== undefined && etagMatches(one(headers['if-none-match']), entry.etag);
}
