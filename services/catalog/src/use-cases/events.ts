// Event use cases: organizers create and edit their own events; publish and cancel change status and write
// their domain event to the outbox in the same transaction. Another organizer's event is a 404, never a 403,
// so ids of drafts do not leak.
import { randomUUID } from 'node:crypto';
import { enqueueEvent, problems, withTransaction, type Identity, type Transaction } from '@eventtickets/platform';
import { buildSchedule } from '../domain/schedule.ts';
import { buildTiers, unpricedPlaces, type TierInput } from '../domain/tiers.ts';
import { publishedPayload } from '../domain/published-event.ts';
import type { DomainProblem } from '../domain/problems.ts';
import { findEvent, insertEvent, updateEvent, type EventDetailRow, type EventWrite } from '../db/events.ts';
import { findVenue, type VenueRow } from '../db/venues.ts';
import { effectiveStatus } from '../domain/event-status.ts';
import { notFound, owns, unprocessable, type UseCaseDeps } from './context.ts';
import { invalidateEvents } from './events-cache.ts';

export interface EventFields {
  venueId?: string;
  title?: string;
  description?: string;
  category?: string;
  imageUrl?: string | null;
  startsAt?: string;
  endsAt?: string;
  salesStartAt?: string;
  salesEndAt?: string;
  reservationMinutes?: number;
  maxSeatsPerOrder?: number;
  tiers?: TierInput[];
}
export type EventCreateBody = EventFields &
  Required<Pick<EventFields, 'venueId' | 'title' | 'category' | 'startsAt' | 'endsAt'>>;

/** Fields that describe an event without changing what is sold: editable after publish. */
const DESCRIPTIVE_FIELDS = new Set(['title', 'description', 'category', 'imageUrl']);

function invalidEvent(list: DomainProblem[]) {
  return unprocessable(
    'invalid-event',
    'Invalid event',
    `The event has ${list.length} problem(s); each is listed in "problems"`,
    list,
  );
}

async function ownVenueOr422(
  deps: UseCaseDeps,
  identity: Identity,
  venueId: string,
  transaction?: Transaction,
): Promise<VenueRow> {
  const venue = await findVenue(deps.db, venueId, { transaction });
  if (!venue || !owns(identity, venue.organizer_id)) {
    throw unprocessable('unknown-venue', 'Unknown venue', `You have no venue ${venueId}`, [
      { path: 'venueId', code: 'unknown-venue', message: `You have no venue ${venueId}` },
    ]);
  }
  return venue;
}

/** Validates schedule and tiers against the venue; returns the columns to write or throws 422 listing all problems. */
function validatedColumns(
  deps: UseCaseDeps,
  venue: VenueRow,
  merged: Required<Pick<EventFields, 'startsAt' | 'endsAt'>> & EventFields,
  previousTiers: EventDetailRow['tiers'],
): EventWrite {
  const { schedule, problems: scheduleProblems } = buildSchedule(merged, venue.time_zone, deps.now());
  const { tiers, problems: tierProblems } = buildTiers(merged.tiers ?? [], venue.seat_map, previousTiers);
  const list = [...scheduleProblems, ...tierProblems];
  if (list.length || !schedule) throw invalidEvent(list);
  return {
    venue_id: venue.id,
    venue_name: venue.name,
    city: venue.city,
    time_zone: venue.time_zone,
    starts_at: schedule.startsAt,
    ends_at: schedule.endsAt,
    sales_start_at: schedule.salesStartAt,
    sales_end_at: schedule.salesEndAt,
    tiers,
  };
}

export async function createEvent(
  deps: UseCaseDeps,
  identity: Identity,
  body: EventCreateBody,
): Promise<EventDetailRow> {
  const venue = await ownVenueOr422(deps, identity, body.venueId);
  const columns = validatedColumns(deps, venue, body, []);
  const id = randomUUID();
  await insertEvent(deps.db, {
    id,
    // The venue's organizer owns the event (the same as the caller, unless an admin creates it for them).
    organizer_id: venue.organizer_id,
    ...columns,
    title: body.title.trim(),
    description: body.description ?? '',
    category: body.category,
    image_url: body.imageUrl ?? null,
    reservation_minutes: body.reservationMinutes ?? 10,
    max_seats_per_order: body.maxSeatsPerOrder ?? 8,
    status: 'draft',
  });
  return (await findEvent(deps.db, id))!;
}

/** Sales that close when the show starts keep doing so when a draft moves: otherwise moving the show a week
 *  earlier would fail on a sales window the organizer never set, and moving it later would stop sales early. */
function salesCloseAtStart(row: EventDetailRow): boolean {
  return row.sales_end_at.getTime() === row.starts_at.getTime();
}

async function lockOwnEvent(
  deps: UseCaseDeps,
  identity: Identity,
  id: string,
  transaction: Transaction,
): Promise<EventDetailRow> {
  const row = await findEvent(deps.db, id, { transaction, forUpdate: true });
  if (!row || !owns(identity, row.organizer_id)) throw notFound('event', id);
  return row;
}

export async function patchEvent(
  deps: UseCaseDeps,
  identity: Identity,
  id: string,
  body: EventFields,
): Promise<EventDetailRow> {
  await withTransaction(deps.db, async (transaction) => {
    const row = await lockOwnEvent(deps, identity, id, transaction);
    if (row.status === 'cancelled')
      throw problems.conflict('A cancelled event cannot change', 'event-locked', { fields: Object.keys(body) });
    if (row.status === 'published') {
      const locked = Object.keys(body).filter((f) => !DESCRIPTIVE_FIELDS.has(f));
      if (locked.length) {
        throw problems.conflict(
          `A published event keeps its venue, schedule and tiers (sold seats depend on them); cannot change: ${locked.join(', ')}`,
          'event-locked',
          { fields: locked },
        );
      }
    }
    const scheduleOrTiersTouched = ['venueId', 'startsAt', 'endsAt', 'salesStartAt', 'salesEndAt', 'tiers'].some(
      (f) => f in body,
    );
    let columns: EventWrite = {};
    if (scheduleOrTiersTouched) {
      const venue =
        body.venueId && body.venueId !== row.venue_id
          ? await ownVenueOr422(deps, identity, body.venueId, transaction)
          : (await findVenue(deps.db, row.venue_id, { transaction }))!;
      columns = validatedColumns(
        deps,
        venue,
        {
          startsAt: body.startsAt ?? row.starts_at.toISOString(),
          endsAt: body.endsAt ?? row.ends_at.toISOString(),
          salesStartAt: body.salesStartAt ?? row.sales_start_at.toISOString(),
          salesEndAt:
            body.salesEndAt ?? (body.startsAt && salesCloseAtStart(row) ? undefined : row.sales_end_at.toISOString()),
          tiers: body.tiers ?? row.tiers,
        },
        row.tiers,
      );
    }
    await updateEvent(
      deps.db,
      id,
      {
        ...columns,
        title: body.title?.trim(),
        description: body.description,
        category: body.category,
        image_url: body.imageUrl,
        reservation_minutes: body.reservationMinutes,
        max_seats_per_order: body.maxSeatsPerOrder,
      },
      transaction,
    );
  });
  await invalidateEvents(deps, [id]);
  return (await findEvent(deps.db, id))!;
}

/** Draft → published: freezes the venue's seat map on the event and emits event.published, atomically. */
export async function publishEvent(deps: UseCaseDeps, identity: Identity, id: string): Promise<EventDetailRow> {
  await withTransaction(deps.db, async (transaction) => {
    const row = await lockOwnEvent(deps, identity, id, transaction);
    if (row.status !== 'draft')
      throw problems.conflict(
        `The event is ${effectiveStatus(row.status, row.ends_at, deps.now())}; only a draft can be published`,
        'invalid-transition',
        { eventStatus: effectiveStatus(row.status, row.ends_at, deps.now()) },
      );
    // FOR SHARE: a concurrent seat-map edit of the venue waits for this publish (and then sees it).
    const venue = (await findVenue(deps.db, row.venue_id, { transaction, lock: 'share' }))!;
    const { tiers, problems: list } = buildTiers(row.tiers, venue.seat_map, row.tiers);
    if (tiers.length === 0)
      list.push({ path: 'tiers', code: 'no-tiers', message: 'An event needs at least one price tier to be published' });
    if (row.ends_at <= deps.now())
      list.push({ path: 'endsAt', code: 'already-ended', message: 'The event has already ended' });
    else if (row.sales_end_at <= deps.now())
      list.push({
        path: 'salesEndAt',
        code: 'sales-closed',
        message: 'Sales have already closed: nobody could buy a ticket; move the sales window first',
      });
    if (list.length) throw invalidEvent(list);
    const unpriced = unpricedPlaces(venue.seat_map, tiers);
    if (unpriced.seats.length || unpriced.gaAreas.length) {
      const shown = unpriced.seats.slice(0, 20);
      throw unprocessable(
        'unpriced-seats',
        'Unpriced seats',
        `${unpriced.seats.length} seat(s) and ${unpriced.gaAreas.length} area(s) have no price tier; map every section, seat and area to a tier`,
        [
          ...(unpriced.seats.length
            ? [
                {
                  path: 'tiers',
                  code: 'unpriced-seats',
                  message: `No tier prices seat(s) ${shown.join(', ')}${unpriced.seats.length > shown.length ? ` and ${unpriced.seats.length - shown.length} more` : ''}`,
                },
              ]
            : []),
          ...unpriced.gaAreas.map((name) => ({
            path: 'tiers',
            code: 'unpriced-ga-area',
            message: `No tier prices general-admission area "${name}"`,
          })),
        ],
      );
    }
    const publishedAt = deps.now();
    await updateEvent(
      deps.db,
      id,
      { status: 'published', published_at: publishedAt, seat_map_snapshot: venue.seat_map, tiers },
      transaction,
    );
    const payload = publishedPayload(
      {
        id,
        organizerId: row.organizer_id,
        title: row.title,
        venueId: venue.id,
        venueName: venue.name,
        timeZone: venue.time_zone,
        startsAt: row.starts_at,
        endsAt: row.ends_at,
        salesStartAt: row.sales_start_at,
        salesEndAt: row.sales_end_at,
        reservationMinutes: row.reservation_minutes,
        maxSeatsPerOrder: row.max_seats_per_order,
        tiers,
      },
      venue.seat_map,
    );
    await enqueueEvent(deps.db, transaction, { type: 'event.published', aggregateId: id, payload });
  });
  deps.catalogMetrics.eventsPublished.inc();
  await invalidateEvents(deps, [id]);
  return (await findEvent(deps.db, id))!;
}

/** Draft or published (not yet ended) → cancelled; emits event.cancelled so holds and orders unwind. */
export async function cancelEvent(deps: UseCaseDeps, identity: Identity, id: string): Promise<EventDetailRow> {
  await withTransaction(deps.db, async (transaction) => {
    const row = await lockOwnEvent(deps, identity, id, transaction);
    const status = effectiveStatus(row.status, row.ends_at, deps.now());
    if (status === 'cancelled' || status === 'ended')
      throw problems.conflict(`The event is ${status}; it cannot be cancelled`, 'invalid-transition', {
        eventStatus: status,
      });
    await updateEvent(deps.db, id, { status: 'cancelled', cancelled_at: deps.now() }, transaction);
    // Only a published event has seats, holds or orders elsewhere that must unwind.
    if (status === 'published')
      await enqueueEvent(deps.db, transaction, { type: 'event.cancelled', aggregateId: id, payload: { eventId: id } });
  });
  deps.catalogMetrics.eventsCancelled.inc();
  await invalidateEvents(deps, [id]);
  return (await findEvent(deps.db, id))!;
}
