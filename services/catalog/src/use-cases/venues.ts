// Venue use cases: organizers create and edit their own venues. A venue with published events that have not
// ended keeps its seat map (409): events snapshot it at publish, and refusing the edit keeps venue and the events
// still on sale telling one story. Once they have ended (or are cancelled) the venue may be re-planned.
import { randomUUID } from 'node:crypto';
import { problems, withTransaction, type Identity } from '@eventtickets/platform';
import { buildSeatMap, seatMapTotals, type SeatMapInput } from '../domain/seatmap.ts';
import { isValidTimeZone } from '../domain/time.ts';
import type { DomainProblem } from '../domain/problems.ts';
import {
  countPublishedEventsAt,
  findVenue,
  insertVenue,
  listVenues,
  syncVenueCopies,
  updateVenue,
  type VenueRow,
} from '../db/venues.ts';
import { notFound, ownerScope, owns, unprocessable, type UseCaseDeps } from './context.ts';
import { invalidateEvents } from './events-cache.ts';

export interface VenueCreateBody {
  name: string;
  city: string;
  address?: string;
  timeZone: string;
  seatMap: SeatMapInput;
}
export interface VenuePatchBody {
  name?: string;
  city?: string;
  address?: string;
  seatMap?: SeatMapInput;
}

function rejectInvalid(list: DomainProblem[]): void {
  if (list.length === 0) return;
  const seatMapProblems = list.some((p) => p.path.startsWith('seatMap'));
  throw seatMapProblems
    ? unprocessable(
        'invalid-seat-map',
        'Invalid seat map',
        `The seat map has ${list.length} problem(s); each is listed in "problems"`,
        list,
      )
    : unprocessable('invalid-venue', 'Invalid venue', 'The venue has problems; each is listed in "problems"', list);
}

export async function createVenue(deps: UseCaseDeps, identity: Identity, body: VenueCreateBody): Promise<VenueRow> {
  const { seatMap, problems: list } = buildSeatMap(body.seatMap);
  if (!isValidTimeZone(body.timeZone))
    list.unshift({
      path: 'timeZone',
      code: 'unknown-time-zone',
      message: `"${body.timeZone}" is not an IANA time zone`,
    });
  rejectInvalid(list);
  return insertVenue(deps.db, {
    id: randomUUID(),
    organizer_id: identity.userId,
    name: body.name.trim(),
    city: body.city.trim(),
    address: body.address?.trim() ?? '',
    time_zone: body.timeZone,
    seat_map: seatMap,
    ...(() => {
      const t = seatMapTotals(seatMap);
      return { seat_count: t.seatCount, ga_capacity: t.gaCapacity };
    })(),
  });
}

export async function getOwnVenue(deps: UseCaseDeps, identity: Identity, id: string): Promise<VenueRow> {
  const venue = await findVenue(deps.db, id);
  if (!venue || !owns(identity, venue.organizer_id)) throw notFound('venue', id);
  return venue;
}

export function listOwnVenues(deps: UseCaseDeps, identity: Identity, name?: string): Promise<VenueRow[]> {
  return listVenues(deps.db, ownerScope(identity), name);
}

export async function patchVenue(
  deps: UseCaseDeps,
  identity: Identity,
  id: string,
  body: VenuePatchBody,
): Promise<VenueRow> {
  const { venue, touchedEvents } = await withTransaction(deps.db, async (transaction) => {
    // The row lock serialises this edit with publishes of events at this venue.
    const current = await findVenue(deps.db, id, { transaction, lock: 'update' });
    if (!current || !owns(identity, current.organizer_id)) throw notFound('venue', id);
    let seatFields = {};
    if (body.seatMap) {
      const published = await countPublishedEventsAt(deps.db, id, transaction);
      if (published > 0) {
        throw problems.conflict(
          `The venue has ${published} published event(s) not yet ended; its seat map cannot change under sold seats`,
          'seat-map-locked',
          { publishedEvents: published },
        );
      }
      const built = buildSeatMap(body.seatMap);
      rejectInvalid(built.problems);
      const totals = seatMapTotals(built.seatMap);
      seatFields = { seat_map: built.seatMap, seat_count: totals.seatCount, ga_capacity: totals.gaCapacity };
    }
    const updated = await updateVenue(
      deps.db,
      id,
      { name: body.name?.trim(), city: body.city?.trim(), address: body.address?.trim(), ...seatFields },
      transaction,
    );
    return { venue: updated, touchedEvents: await syncVenueCopies(deps.db, updated, transaction) };
  });
  await invalidateEvents(deps, touchedEvents);
  return venue;
}
