// Event queries: writes, the detail read (with the venue), and the keyset-paginated search.
import { execute, one, rows, type Sequelize, type Transaction } from '@eventtickets/platform';
import type { StoredStatus } from '../domain/event-status.ts';
import type { SeatMap } from '../domain/seatmap.ts';
import type { Tier } from '../domain/tiers.ts';
import type { CursorPosition } from '../domain/cursor.ts';

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
export interface EventDetailRow extends EventRow {
  venue_seat_map: SeatMap;
}

const SELECT_COLUMNS = `e.id, e.organizer_id, e.venue_id, e.venue_name, e.city, e.time_zone, e.title, e.description, e.category,
  e.image_url, e.starts_at, e.ends_at, e.sales_start_at, e.sales_end_at, e.reservation_minutes, e.max_seats_per_order,
  e.status, e.tiers, e.published_at, e.cancelled_at, e.created_at, e.updated_at, v.address AS venue_address`;

export type EventWrite = Partial<Omit<EventRow, 'created_at' | 'updated_at' | 'venue_address'>>;

/** The columns inserts and updates may write, in one fixed order (names are never taken from input). */
const WRITABLE_COLUMNS = [
  'id',
  'organizer_id',
  'venue_id',
  'venue_name',
  'city',
  'time_zone',
  'title',
  'description',
  'category',
  'image_url',
  'starts_at',
  'ends_at',
  'sales_start_at',
  'sales_end_at',
  'reservation_minutes',
  'max_seats_per_order',
  'status',
  'tiers',
  'seat_map_snapshot',
  'published_at',
  'cancelled_at',
] as const satisfies readonly (keyof EventWrite)[];
const JSON_COLUMNS = new Set<string>(['tiers', 'seat_map_snapshot']);

/** The given (defined) fields as columns and bind values, jsonb columns as JSON text. */
function encode(fields: EventWrite): { columns: string[]; values: unknown[] } {
  const columns: string[] = [];
  const values: unknown[] = [];
  for (const column of WRITABLE_COLUMNS) {
    const v = fields[column];
    if (v === undefined) continue;
    columns.push(column);
    values.push(JSON_COLUMNS.has(column) && v !== null ? JSON.stringify(v) : v);
  }
  return { columns, values };
}

export async function insertEvent(db: Sequelize, fields: EventWrite, transaction?: Transaction): Promise<void> {
  const { columns, values } = encode(fields);
  await execute(
    db,
    `INSERT INTO events (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
    values,
    transaction,
  );
}

export async function updateEvent(
  db: Sequelize,
  id: string,
  fields: EventWrite,
  transaction: Transaction,
): Promise<void> {
  const { columns, values } = encode(fields);
  const sets = columns.map((c, i) => `${c} = $${i + 2}`);
  await execute(
    db,
    `UPDATE events SET ${[...sets, 'updated_at = now()'].join(', ')} WHERE id = $1`,
    [id, ...values],
    transaction,
  );
}

export async function findEvent(
  db: Sequelize,
  id: string,
  opts: { transaction?: Transaction; forUpdate?: boolean } = {},
): Promise<EventDetailRow | undefined> {
  return one<EventDetailRow>(
    db,
    `SELECT ${SELECT_COLUMNS}, e.seat_map_snapshot, v.seat_map AS venue_seat_map
     FROM events e JOIN venues v ON v.id = e.venue_id WHERE e.id = $1${opts.forUpdate ? ' FOR UPDATE OF e' : ''}`,
    [id],
    opts.transaction,
  );
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
  const bind: unknown[] = [];
  const param = (value: unknown) => `$${bind.push(value)}`;
  const where: string[] = [];
  if (query.organizerId !== undefined) where.push(`e.organizer_id = ${param(query.organizerId)}`);
  else where.push(`e.status = 'published'`, 'e.ends_at > now()');
  if (query.q !== undefined) where.push(`e.search @@ websearch_to_tsquery('english', ${param(query.q)}::text)`);
  if (query.city !== undefined) where.push(`lower(e.city) = lower(${param(query.city)}::text)`);
  if (query.category !== undefined) where.push(`e.category = ${param(query.category)}`);
  if (query.from !== undefined) where.push(`e.starts_at >= ${param(query.from)}::timestamptz`);
  if (query.to !== undefined) where.push(`e.starts_at < ${param(query.to)}::timestamptz`);
  const dir = query.descending ? 'DESC' : 'ASC';
  if (query.after) {
    where.push(
      `(e.starts_at, e.id) ${query.descending ? '<' : '>'} (${param(query.after.startsAt)}::timestamptz, ${param(query.after.id)}::uuid)`,
    );
  }
  return rows<EventRow>(
    db,
    `SELECT ${SELECT_COLUMNS} FROM events e JOIN venues v ON v.id = e.venue_id
     WHERE ${where.join(' AND ')} ORDER BY e.starts_at ${dir}, e.id ${dir} LIMIT ${param(query.limit)}`,
    bind,
  );
}
