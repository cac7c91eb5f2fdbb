// What the catalog's use cases need (a slice of the service's deps), and the access rules they share.
import { HttpProblem, problems, type Identity } from '@eventtickets/platform';
import type { CatalogDeps } from '../deps.ts';
import type { DomainProblem } from '../domain/problems.ts';

export type UseCaseDeps = Pick<
  CatalogDeps,
  'db' | 'cache' | 'cacheTtlSeconds' | 'cursorSecret' | 'logger' | 'now' | 'catalogMetrics'
>;

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
