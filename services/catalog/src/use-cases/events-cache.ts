// Hot reads (event detail, public search pages) go through the read cache. Keys embed a generation that
// writes bump after commit: a reader that raced a write can only fill a key nobody reads any more, so a
// stale page never outlives the write that made it stale.
import type { UseCaseDeps } from './context.ts';

const LIST_NAMESPACE = 'events:list';
const detailNamespace = (id: string) => `events:detail:${id}`;

export interface Loaded {
  text: string;
  cacheable: boolean;
  /** Shorter than the configured TTL when the representation goes stale on its own (an event ends). */
  ttlSeconds?: number;
}

async function through(
  deps: UseCaseDeps,
  namespace: string,
  key: string,
  load: () => Promise<Loaded | undefined>,
): Promise<Loaded | undefined> {
  const generation = await deps.cache.generation(namespace);
  const kind = namespace === LIST_NAMESPACE ? 'list' : 'detail';
  if (generation === undefined) {
    // The cache cannot answer (Redis down or hanging): straight to the database, nothing stored.
    deps.catalogMetrics.readCacheLookups.inc({ kind, result: 'bypass' });
    return load();
  }
  const fullKey = `${namespace}:g${generation}:${key}`;
  const hit = await deps.cache.get(fullKey);
  deps.catalogMetrics.readCacheLookups.inc({ kind, result: hit === undefined ? 'miss' : 'hit' });
  if (hit !== undefined) return { text: hit, cacheable: true };
  const loaded = await load();
  if (loaded?.cacheable)
    await deps.cache.set(fullKey, loaded.text, Math.min(deps.cacheTtlSeconds, loaded.ttlSeconds ?? Infinity));
  return loaded;
}

export function cachedEventDetail(
  deps: UseCaseDeps,
  id: string,
  load: () => Promise<Loaded | undefined>,
): Promise<Loaded | undefined> {
  return through(deps, detailNamespace(id), 'body', load);
}

export function cachedEventPage(deps: UseCaseDeps, queryKey: string, load: () => Promise<Loaded>): Promise<Loaded> {
  return through(deps, LIST_NAMESPACE, queryKey, load) as Promise<Loaded>;
}

/** After a committed change: the events' details and every search page are stale. */
export async function invalidateEvents(deps: UseCaseDeps, ids: string[]): Promise<void> {
  try {
    for (const id of ids) await deps.cache.bump(detailNamespace(id));
    await deps.cache.bump(LIST_NAMESPACE);
  } catch (err) {
    // The change is committed; stale entries now live until their TTL. Loud, because readers see old data.
    deps.catalogMetrics.cacheInvalidationFailures.inc();
    deps.logger.error(
      { err, events: ids, ttlSeconds: deps.cacheTtlSeconds },
      'cache invalidation failed; stale reads until TTL',
    );
  }
}
