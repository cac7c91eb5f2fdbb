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

/** The ETag and UTF-8 bytes of recently sent representations: a hot cached page (an on-sale's event detail,
 *  tens of KB) is the same text request after request, so it is hashed and encoded once, not per request. */
const RECENT_MAX = 64;
const recent = new Map<string, { etag: string; bytes: Buffer }>();

function prepared(serialized: string): { etag: string; bytes: Buffer } {
  let hit = recent.get(serialized);
  if (hit) return hit;
  hit = { etag: weakEtag(serialized), bytes: Buffer.from(serialized) };
  if (recent.size >= RECENT_MAX) recent.delete(recent.keys().next().value!);
  recent.set(serialized, hit);
  return hit;
}

/** Sends `serialized` (JSON text) with ETag and Cache-Control, or 304 when the client already has it. */
export function sendCacheableJson(ctx: Context, serialized: string, cacheControl: string, vary: string[] = []): void {
  const { etag, bytes } = prepared(serialized);
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
  ctx.body = bytes;
}
