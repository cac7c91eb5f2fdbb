// Conditional GET: a JSON representation gets a weak ETag (hash of its bytes) and a Cache-Control header;
// a request whose If-None-Match names that ETag (or *) gets 304 with no body.
import { createHash } from 'node:crypto';
import type { Context } from 'koa';

export function weakEtag(serialized: string): string {
  return `W/"${createHash('sha256').update(serialized).digest('base64url').slice(0, 27)}"`;
}

/** Weak comparison (RFC 9110 §13.1.2): W/"x" matches "x". */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const bare = (t: string) => t.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((candidate) => candidate.trim() === '*' || bare(candidate) === bare(etag));
}

/** Sends `serialized` (JSON text) with ETag and Cache-Control, or 304 when the client already has it. */
export function sendCacheableJson(ctx: Context, serialized: string, cacheControl: string, vary: string[] = []): void {
  const etag = weakEtag(serialized);
  ctx.set('ETag', etag);
  ctx.set('Cache-Control', cacheControl);
  if (vary.length) ctx.vary(vary.join(', '));
  if (etagMatches(ctx.get('if-none-match') || undefined, etag)) {
    ctx.status = 304;
    ctx.body = null;
    return;
  }
  ctx.status = 200;
  ctx.type = 'application/json';
  ctx.body = serialized;
}
