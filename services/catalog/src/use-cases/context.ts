// What the catalog's use cases need, built once by createApp.
import { HttpProblem, problems, type Identity, type Logger, type prom, type ReadCache, type Sequelize } from '@eventtickets/platform';
import type { DomainProblem } from '../domain/problems.ts';

export interface CatalogDeps {
  db: Sequelize;
  cache: ReadCache;
  cacheTtlSeconds: number;
  cursorSecret: string;
  logger: Logger;
  now: () => Date;
  /** catalog_read_cache_total{kind, result}: hit ratio of hot reads. */
  cacheLookups: prom.Counter<'kind' | 'result'>;
}

/** Organizers see only their own venues and events; admins see all (undefined = no owner filter). */
export function ownerScope(identity: Identity): string | undefined {
  return identity.role === 'admin' ? undefined : identity.userId;
}

export function owns(identity: Identity, organizerId: string): boolean {
  return identity.role === 'admin' || identity.userId === organizerId;
}

/** 422 listing every domain problem; slug names the kind (invalid-seat-map, invalid-event, ...). */
export function unprocessable(slug: string, title: string, detail: string, list: DomainProblem[]): HttpProblem {
  return new HttpProblem(422, slug, title, detail, { problems: list });
}

export const notFound = (what: 'event' | 'venue', id: string) => problems.notFound(`No ${what} ${id}`);
