// Venue queries.
import { QueryTypes, type Sequelize, type Transaction } from '@eventtickets/platform';
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

export async function insertVenue(db: Sequelize, v: NewVenue, transaction?: Transaction): Promise<VenueRow> {
  const [row] = await db.query<VenueRow>(
    `INSERT INTO venues (id, organizer_id, name, city, address, time_zone, seat_map, seat_count, ga_capacity)
     VALUES (:id, :organizer_id, :name, :city, :address, :time_zone, :seat_map, :seat_count, :ga_capacity) RETURNING *`,
    { type: QueryTypes.SELECT, transaction, replacements: { ...v, seat_map: JSON.stringify(v.seat_map) } },
  );
  return row!;
}

export async function findVenue(db: Sequelize, id: string, opts: { transaction?: Transaction; lock?: 'update' | 'share' } = {}): Promise<VenueRow | undefined> {
  const lock = opts.lock === 'update' ? ' FOR UPDATE' : opts.lock === 'share' ? ' FOR SHARE' : '';
  const [row] = await db.query<VenueRow>(`SELECT * FROM venues WHERE id = :id${lock}`, {
    type: QueryTypes.SELECT,
    transaction: opts.transaction,
    replacements: { id },
  });
  return row;
}

export async function listVenues(db: Sequelize, organizerId: string | undefined, name?: string): Promise<VenueRow[]> {
  const where = [organizerId !== undefined ? 'organizer_id = :organizerId' : 'true', name !== undefined ? 'name = :name' : 'true'];
  return db.query<VenueRow>(`SELECT * FROM venues WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id LIMIT 500`, {
    type: QueryTypes.SELECT,
    replacements: { organizerId: organizerId ?? null, name: name ?? null },
  });
}

export async function updateVenue(db: Sequelize, id: string, fields: Partial<Omit<NewVenue, 'id' | 'organizer_id'>>, transaction: Transaction): Promise<VenueRow> {
  const sets: string[] = [];
  const replacements: Record<string, unknown> = { id };
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    sets.push(`${k} = :${k}`);
    replacements[k] = k === 'seat_map' ? JSON.stringify(v) : v;
  }
  const [row] = await db.query<VenueRow>(`UPDATE venues SET ${[...sets, 'updated_at = now()'].join(', ')} WHERE id = :id RETURNING *`, {
    type: QueryTypes.SELECT,
    transaction,
    replacements,
  });
  return row!;
}

/** Keeps the copies of venue name and city on the venue's events in step (search and filters read them);
 *  returns the ids of every event at the venue, whose cached representations are now stale. */
export async function syncVenueCopies(db: Sequelize, venue: VenueRow, transaction: Transaction): Promise<string[]> {
  await db.query(
    `UPDATE events SET venue_name = :name, city = :city, updated_at = now()
     WHERE venue_id = :id AND (venue_name, city) IS DISTINCT FROM (:name, :city)`,
    { transaction, replacements: { id: venue.id, name: venue.name, city: venue.city } },
  );
  const rows = await db.query<{ id: string }>('SELECT id FROM events WHERE venue_id = :id', { type: QueryTypes.SELECT, transaction, replacements: { id: venue.id } });
  return rows.map((r) => r.id);
}

/** Published events at the venue that have not ended yet: their seats may still be sold. An ended event keeps
 *  the seat map it froze at publish, so it no longer holds the venue's map in place. */
export async function countPublishedEventsAt(db: Sequelize, venueId: string, transaction?: Transaction): Promise<number> {
  const [row] = await db.query<{ n: string }>(`SELECT count(*) AS n FROM events WHERE venue_id = :venueId AND status = 'published' AND ends_at > now()`, {
    type: QueryTypes.SELECT,
    transaction,
    replacements: { venueId },
  });
  return Number(row!.n);
}
