// Public reads: event detail and search. Both are served from the read cache when they are public, carry
// an ETag computed from the exact bytes sent, and a Cache-Control saying who may keep them.
import { createHash } from 'node:crypto';
import { problems, type FieldError, type Identity } from '@eventtickets/platform';
import { decodeCursor, encodeCursor, InvalidCursorError, type CursorPosition } from '../domain/cursor.ts';
import { findEvent, searchEvents } from '../db/events.ts';
import { isSupportedInstant } from '../domain/time.ts';
import { eventBody, eventSummary, type EventBody } from './representation.ts';
import { notFound, owns, type UseCaseDeps } from './context.ts';
import { cachedEventDetail, cachedEventPage } from './events-cache.ts';

export const PUBLIC_CACHE_CONTROL = 'public, max-age=5, must-revalidate';
export const PRIVATE_CACHE_CONTROL = 'private, no-cache';

export interface Representation {
  text: string;
  cacheControl: string;
}

/** Published, cancelled and ended events are public; drafts (and drafts cancelled unpublished) only for their organizer. */
export async function eventDetail(
  deps: UseCaseDeps,
  identity: Identity | undefined,
  id: string,
): Promise<Representation> {
  let organizerId = '';
  const loaded = await cachedEventDetail(deps, id, async () => {
    const row = await findEvent(deps.db, id);
    if (!row) return undefined;
    organizerId = row.organizer_id;
    return { text: JSON.stringify(eventBody(row, deps.now())), cacheable: row.published_at !== null };
  });
  if (!loaded) throw notFound('event', id);
  if (!loaded.cacheable) {
    // Never public: only the owner (or an admin) may see it, and no shared cache may keep it.
    if (!identity || !owns(identity, organizerId)) throw notFound('event', id);
    return { text: loaded.text, cacheControl: PRIVATE_CACHE_CONTROL };
  }
  return { text: withCurrentStatus(loaded.text, deps.now()), cacheControl: PUBLIC_CACHE_CONTROL };
}

/** When a cached published representation's event ends (ms), by its text: read once per text, not parsed on
 *  every request (a hot detail is tens of KB of JSON). NaN: not a published event. */
const ENDS_MAX = 256;
const endsAtOf = new Map<string, number>();

function publishedEndsAt(text: string): number {
  let ends = endsAtOf.get(text);
  if (ends === undefined) {
    const body = JSON.parse(text) as EventBody;
    ends = body.status === 'published' ? new Date(body.endsAt).getTime() : NaN;
    if (endsAtOf.size >= ENDS_MAX) endsAtOf.delete(endsAtOf.keys().next().value!);
    endsAtOf.set(text, ends);
  }
  return ends;
}

/** A cached published event may have ended since it was cached: "ended" is derived at read time. */
function withCurrentStatus(text: string, now: Date): string {
  if (!text.includes('"status":"published"')) return text;
  const ends = publishedEndsAt(text);
  if (Number.isNaN(ends) || ends > now.getTime()) return text;
  return JSON.stringify({ ...(JSON.parse(text) as EventBody), status: 'ended' });
}

export interface SearchParams {
  q?: string;
  city?: string;
  category?: string;
  from?: string;
  to?: string;
  sort?: 'date' | '-date';
  limit?: number;
  cursor?: string;
  mine?: boolean;
}

/** The from/to query instants, checked beyond the contract's format: a leap second (":60") or a year Postgres
 *  cannot store passes the format but is no usable instant, and an empty range is a client mistake. */
function dateRange(from: string | undefined, to: string | undefined): { from?: string; to?: string } {
  const errors: FieldError[] = [];
  const read = (name: 'from' | 'to', text: string | undefined): Date | undefined => {
    if (text === undefined) return undefined;
    const d = new Date(text);
    if (isSupportedInstant(d)) return d;
    errors.push({ field: `query.${name}`, message: 'must be a real instant between the years 1970 and 9999' });
    return undefined;
  };
  const start = read('from', from);
  const end = read('to', to);
  if (start && end && end <= start) errors.push({ field: 'query.to', message: 'must be after from' });
  if (errors.length) throw problems.validation(errors);
  return { from: start?.toISOString(), to: end?.toISOString() };
}

export async function searchPage(
  deps: UseCaseDeps,
  identity: Identity | undefined,
  params: SearchParams,
): Promise<Representation> {
  const organizerId = params.mine ? identity?.userId : undefined;
  const range = dateRange(params.from, params.to);
  const filters = {
    q: params.q?.trim() || undefined,
    city: params.city?.trim() || undefined,
    category: params.category,
    from: range.from,
    to: range.to,
    sort: params.sort ?? 'date',
    mine: organizerId ?? null,
  };
  // The cursor is bound to this scope: the same filters and sort (and owner, for "mine").
  const scope = JSON.stringify(filters);
  let after: CursorPosition | undefined;
  if (params.cursor) {
    try {
      after = decodeCursor(deps.cursorSecret, scope, params.cursor);
    } catch (err) {
      if (err instanceof InvalidCursorError)
        throw problems.badRequest(
          `The cursor is not valid for this query (${err.message}); start again without it`,
          'invalid-cursor',
        );
      throw err;
    }
  }
  const limit = params.limit ?? 20;
  const load = async () => {
    const rows = await searchEvents(deps.db, {
      ...filters,
      organizerId,
      descending: filters.sort === '-date',
      after,
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const nextCursor =
      rows.length > limit && last
        ? encodeCursor(deps.cursorSecret, scope, { startsAt: last.starts_at.toISOString(), id: last.id })
        : null;
    // A public page lists only events that have not ended, so it is kept no longer than its first event lasts.
    const now = deps.now().getTime();
    const ttlSeconds = Math.min(
      deps.cacheTtlSeconds,
      ...page.map((r) => Math.floor((r.ends_at.getTime() - now) / 1000)),
    );
    return {
      text: JSON.stringify({ items: page.map((r) => eventSummary(r, deps.now())), nextCursor }),
      cacheable: !organizerId && ttlSeconds >= 1,
      ttlSeconds,
    };
  };
  if (organizerId) return { text: (await load()).text, cacheControl: PRIVATE_CACHE_CONTROL };
  const key = createHash('sha256')
    .update(`${scope}\n${params.cursor ?? ''}\n${limit}`)
    .digest('base64url');
  const page = await cachedEventPage(deps, key, load);
  return { text: page.text, cacheControl: PUBLIC_CACHE_CONTROL };
}
