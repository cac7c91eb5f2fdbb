// SQL on general-admission areas: held and sold counters moved by conditional, atomic row updates (no lock per
// area), backed by the ga_within_capacity CHECK. Each write returns the places that remain after it.
import { rows, type Sequelize, type Transaction } from '@eventtickets/platform';

export interface NewGaArea {
  areaId: string;
  name: string;
  tierId: string;
  capacity: number;
}

/** Inserts the areas that do not exist yet; returns those inserted with their capacity. */
export async function insertGaAreas(
  db: Sequelize,
  t: Transaction,
  eventId: string,
  areas: NewGaArea[],
): Promise<{ areaId: string; capacity: number }[]> {
  const a = areas;
  const inserted = await rows<{ area_id: string; capacity: number }>(
    db,
    `INSERT INTO ga_areas (event_id, area_id, name, tier_id, capacity)
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::int[])
     ON CONFLICT DO NOTHING RETURNING area_id, capacity`,
    [eventId, a.map((x) => x.areaId), a.map((x) => x.name), a.map((x) => x.tierId), a.map((x) => x.capacity)],
    t,
  );
  return inserted.map((r) => ({ areaId: r.area_id, capacity: r.capacity }));
}

/** The ids among `areaIds` that exist for the event. */
export async function knownAreaIds(db: Sequelize, eventId: string, areaIds: string[]): Promise<Set<string>> {
  const found = await rows<{ area_id: string }>(
    db,
    'SELECT area_id FROM ga_areas WHERE event_id = $1 AND area_id = ANY($2)',
    [eventId, areaIds],
  );
  return new Set(found.map((r) => r.area_id));
}

/** Holds `quantity` places if sold + held + quantity stays within capacity; returns the places left after it,
 *  or undefined when there were not enough. */
export async function holdGaPlaces(
  db: Sequelize,
  t: Transaction,
  eventId: string,
  areaId: string,
  quantity: number,
): Promise<number | undefined> {
  const [row] = await rows<{ remaining: number }>(
    db,
    `UPDATE ga_areas SET held = held + $3, version = version + 1
      WHERE event_id = $1 AND area_id = $2 AND sold + held + $3 <= capacity
      RETURNING capacity - held - sold AS remaining`,
    [eventId, areaId, quantity],
    t,
  );
  return row?.remaining;
}

/** Places left in the area (0 when it does not exist). */
export async function gaRemaining(db: Sequelize, t: Transaction, eventId: string, areaId: string): Promise<number> {
  const [row] = await rows<{ remaining: number }>(
    db,
    'SELECT capacity - held - sold AS remaining FROM ga_areas WHERE event_id = $1 AND area_id = $2',
    [eventId, areaId],
    t,
  );
  return row?.remaining ?? 0;
}

/**
 * How each move of places changes an area's counters (fixed SQL, never built from input). `return` only applies
 * while that many places are sold, so a second return of the same places changes nothing.
 */
const GA_MOVES = {
  release: { set: 'held = held - $3', guard: '' },
  sell: { set: 'held = held - $3, sold = sold + $3', guard: '' },
  return: { set: 'sold = sold - $3', guard: ' AND sold >= $3' },
} as const;

/** Moves places of an area; returns the places left after it (undefined when no row applied). */
async function moveGaPlaces(
  db: Sequelize,
  t: Transaction,
  move: keyof typeof GA_MOVES,
  eventId: string,
  areaId: string,
  quantity: number,
): Promise<number | undefined> {
  const { set, guard } = GA_MOVES[move];
  const [row] = await rows<{ remaining: number }>(
    db,
    `UPDATE ga_areas SET ${set}, version = version + 1
      WHERE event_id = $1 AND area_id = $2${guard} RETURNING capacity - held - sold AS remaining`,
    [eventId, areaId, quantity],
    t,
  );
  return row?.remaining;
}

/** Gives held places back; returns the places left after it (undefined when the area does not exist). */
export const releaseGaPlaces = (db: Sequelize, t: Transaction, eventId: string, areaId: string, quantity: number) =>
  moveGaPlaces(db, t, 'release', eventId, areaId, quantity);

/** Turns held places into sold places; returns the places left after it (undefined when the area does not exist). */
export const sellGaPlaces = (db: Sequelize, t: Transaction, eventId: string, areaId: string, quantity: number) =>
  moveGaPlaces(db, t, 'sell', eventId, areaId, quantity);

/** Sold places go back on sale (a cancelled order); returns the places left after it. */
export const returnSoldGaPlaces = (db: Sequelize, t: Transaction, eventId: string, areaId: string, quantity: number) =>
  moveGaPlaces(db, t, 'return', eventId, areaId, quantity);

/** Clears the held counters of every area of the event (cancellation); returns the area ids. */
export async function clearGaHeld(db: Sequelize, t: Transaction, eventId: string): Promise<string[]> {
  const areas = await rows<{ area_id: string }>(
    db,
    'UPDATE ga_areas SET held = 0, version = version + 1 WHERE event_id = $1 RETURNING area_id',
    [eventId],
    t,
  );
  return areas.map((a) => a.area_id);
}
