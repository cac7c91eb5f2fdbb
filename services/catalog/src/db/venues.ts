// Venue queries.
import { execute, one, rows, type Sequelize, type Transaction } from '@eventtickets/platform';
import type { SeatMap } from '../domain/seatmap.ts';

export interface VenueRow {
  id: string;
  organizer_id: string;
  name: string;
  city: string;
  address: string;
  time_zone: string;
  seat_map: SeatMap;
  seat_count: number;
  ga_capacity: number;
  created_at: Date;
  updated_at: Date;
}

export type NewVenue = Omit<VenueRow, 'created_at' | 'updated_at'>;

/** The columns an edit may set (names are never taken from input). */
const EDITABLE_COLUMNS = ['name', 'city', 'address', 'time_zone', 'seat_map', 'seat_count', 'ga_capacity'] as const;

export async function insertVenue(db: Sequelize, v: NewVenue, transaction?: Transaction): Promise<VenueRow> {
  const row = await one<VenueRow>(
    db,
    `INSERT INTO venues (id, organizer_id, name, city, address, time_zone, seat_map, seat_count, ga_capacity)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
    [
      v.id,
      v.organizer_id,
      v.name,
      v.city,
      v.address,
      v.time_zone,
      JSON.stringify(v.seat_map),
      v.seat_count,
      v.ga_capacity,
    ],
    transaction,
  );
  return row!;
}

export async function findVenue(
  db: Sequelize,
  id: string,
  opts: { transaction?: Transaction; lock?: 'update' | 'share' } = {},
): Promise<VenueRow | undefined> {
  const lock = opts.lock === 'update' ? ' FOR UPDATE' : opts.lock === 'share' ? ' FOR SHARE' : '';
  return one<VenueRow>(db, `SELECT * FROM venues WHERE id = $1${lock}`, [id], opts.transaction);
}

export async function listVenues(db: Sequelize, organizerId: string | undefined, name?: string): Promise<VenueRow[]> {
  const where: string[] = [];
  const bind: unknown[] = [];
  if (organizerId !== undefined) where.push(`organizer_id = $${bind.push(organizerId)}`);
  if (name !== undefined) where.push(`name = $${bind.push(name)}`);
  return rows<VenueRow>(
    db,
    `SELECT * FROM venues WHERE ${where.join(' AND ') || 'true'} ORDER BY created_at DESC, id LIMIT 500`,
    bind,
  );
}

export async function updateVenue(
  db: Sequelize,
  id: string,
  fields: Partial<Omit<NewVenue, 'id' | 'organizer_id'>>,
  transaction: Transaction,
): Promise<VenueRow> {
  const bind: unknown[] = [id];
  const sets: string[] = [];
  for (const column of EDITABLE_COLUMNS) {
    const value = fields[column];
    if (value === undefined) continue;
    sets.push(`${column} = $${bind.push(column === 'seat_map' ? JSON.stringify(value) : value)}`);
  }
  const row = await one<VenueRow>(
    db,
    `UPDATE venues SET ${[...sets, 'updated_at = now()'].join(', ')} WHERE id = $1 RETURNING *`,
    bind,
    transaction,
  );
  return row!;
}

/** Keeps the copies of venue name and city on the venue's events in step (search and filters read them);
 *  returns the ids of every event at the venue, whose cached representations are now stale. */
export async function syncVenueCopies(db: Sequelize, venue: VenueRow, transaction: Transaction): Promise<string[]> {
  await execute(
    db,
    `UPDATE events SET venue_name = $2::text, city = $3::text, updated_at = now()
     WHERE venue_id = $1 AND (venue_name, city) IS DISTINCT FROM ($2::text, $3::text)`,
    [venue.id, venue.name, venue.city],
    transaction,
  );
  return (await rows<{ id: string }>(db, 'SELECT id FROM events WHERE venue_id = $1', [venue.id], transaction)).map(
    (r) => r.id,
  );
}

/** Published events at the venue that have not ended yet: their seats may still be sold. An ended event keeps
 *  the seat map it froze at publish, so it no longer holds the venue's map in place. */
export async function countPublishedEventsAt(
  db: Sequelize,
  venueId: string,
  transaction?: Transaction,
): Promise<number> {
  const row = await one<{ n: string }>(
    db,
    `SELECT count(*) AS n FROM events WHERE venue_id = $1 AND status = 'published' AND ends_at > now()`,
    [venueId],
    transaction,
  );
  return Number(row!.n);
}
