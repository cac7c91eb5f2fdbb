// Event queries: writes, the detail read (with the venue), and the keyset-paginated search.
import { QueryTypes, type Sequelize, type Transaction } from '@eventtickets/platform';
import type { SeatMap } from '../domain/seatmap.ts';
import type { Tier } from '../domain/tiers.ts';
import type { CursorPosition } from '../domain/cursor.ts';

export type StoredStatus = 'draft' | 'published' | 'cancelled';

export interface EventRow {
  id: string;
  organizer_id: string;
  venue_id: string;
  venue_name: string;
  city: string;
  time_zone: string;
  title: string;
  description: string;
  category: string;
  image_url: string | null;
  starts_at: Date;
  ends_at: Date;
  sales_start_at: Date;
  sales_end_at: Date;
  reservation_minutes: number;
  max_seats_per_order: number;
  status: StoredStatus;
  tiers: Tier[];
  seat_map_snapshot: SeatMap | null;
  published_at: Date | null;
  cancelled_at: Date | null;
  created_at: Date;
  updated_at: Date;
  /** From the venue (joined). */
  venue_address: string;
}

/** The detail row also carries the venue's current seat map (used while the event is a draft). */
export interface EventDetailRow extends EventRow { venue_seat_map: SeatMap }

const SELECT_COLUMNS = `e.id, e.organizer_id, e.venue_id, e.venue_name, e.city, e.time_zone, e.title, e.description, e.category,
  e.image_url, e.starts_at, e.ends_at, e.sales_start_at, e.sales_end_at, e.reservation_minutes, e.max_seats_per_order,
  e.status, e.tiers, e.published_at, e.cancelled_at, e.created_at, e.updated_at, v.address AS venue_address`;

export type EventWrite = Partial<Omit<EventRow, 'created_at' | 'updated_at' | 'venue_address'>>;

const JSON_COLUMNS = new Set(['tiers', 'seat_map_snapshot']);

function encode(fields: EventWrite): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = JSON_COLUMNS.has(k) && v !== null ? JSON.stringify(v) : v;
  return out;
}

export async function insertEvent(db: Sequelize, fields: EventWrite, transaction?: Transaction): Promise<void> {
  const values = encode(fields);
  const cols = Object.keys(values);
  await db.query(`INSERT INTO events (${cols.join(', ')}) VALUES (${cols.map((c) => `:${c}`).join(', ')})`, { transaction, replacements: values });
}

export async function updateEvent(db: Sequelize, id: string, fields: EventWrite, transaction: Transaction): Promise<void> {
  const values = encode(fields);
  const sets = Object.keys(values).map((c) => `${c} = :${c}`);
  await db.query(`UPDATE events SET ${[...sets, 'updated_at = now()'].join(', ')} WHERE id = :id`, { transaction, replacements: { ...values, id } });
}

export async function findEvent(db: Sequelize, id: string, opts: { transaction?: Transaction; forUpdate?: boolean } = {}): Promise<EventDetailRow | undefined> {
  const [row] = await db.query<EventDetailRow>(
    `SELECT ${SELECT_COLUMNS}, e.seat_map_snapshot, v.seat_map AS venue_seat_map
     FROM events e JOIN venues v ON v.id = e.venue_id WHERE e.id = :id${opts.forUpdate ? ' FOR UPDATE OF e' : ''}`,
    { type: QueryTypes.SELECT, transaction: opts.transaction, replacements: { id } },
  );
  return row;
}

export interface EventQuery {
  /** Own events in every status (organizer); otherwise the public list of published, not yet ended events. */
  organizerId?: string;
  q?: string;
  city?: string;
  category?: string;
  from?: string;
  to?: string;
  descending: boolean;
  after?: CursorPosition;
  limit: number;
}

/** Keyset pagination on (starts_at, id): stable under concurrent inserts, no OFFSET scans. */
export async function searchEvents(db: Sequelize, query: EventQuery): Promise<EventRow[]> {
  const where: string[] = [];
  if (query.organizerId !== undefined) where.push('e.organizer_id = :organizerId');
  else where.push(`e.status = 'published'`, 'e.ends_at > now()');
  if (query.q !== undefined) where.push(`e.search @@ websearch_to_tsquery('english', :q)`);
  if (query.city !== undefined) where.push('lower(e.city) = lower(:city)');
  if (query.category !== undefined) where.push('e.category = :category');
  if (query.from !== undefined) where.push('e.starts_at >= CAST(:from AS timestamptz)');
  if (query.to !== undefined) where.push('e.starts_at < CAST(:to AS timestamptz)');
  const dir = query.descending ? 'DESC' : 'ASC';
  if (query.after) where.push(`(e.starts_at, e.id) ${query.descending ? '<' : '>'} (CAST(:afterStartsAt AS timestamptz), CAST(:afterId AS uuid))`);
  return db.query<EventRow>(
    `SELECT ${SELECT_COLUMNS} FROM events e JOIN venues v ON v.id = e.venue_id
     WHERE ${where.join(' AND ')} ORDER BY e.starts_at ${dir}, e.id ${dir} LIMIT :limit`,
    {
      type: QueryTypes.SELECT,
      replacements: {
        organizerId: query.organizerId ?? null,
        q: query.q ?? null,
        city: query.city ?? null,
        category: query.category ?? null,
        from: query.from ?? null,
        to: query.to ?? null,
        afterStartsAt: query.after?.startsAt ?? null,
        afterId: query.after?.id ?? null,
        limit: query.limit,
      },
    },
  );
}
