// SQL on seats. Every write is conditional on the seat's current state; the row count tells the caller
// whether it got what it asked for (the seat invariant lives in these WHERE clauses and the table's CHECK).
import { rows, type Sequelize, type Transaction } from '@eventtickets/platform';
import type { HoldSeat, PendingChange, SeatStatus } from '../domain/types.ts';
import { directRows } from './direct.ts';

/** A held seat with its tier's price, as the hold queries return it (s.seat_id, s.label, s.section, s.row_label,
 *  s.tier_id, t.amount, t.currency). */
export interface HoldSeatRow {
  seat_id: string;
  label: string;
  section: string | null;
  row_label: string | null;
  tier_id: string;
  amount: string;
  currency: string;
}

export function toHoldSeat(s: HoldSeatRow): HoldSeat {
  return {
    seatId: s.seat_id,
    label: s.label,
    section: s.section,
    row: s.row_label,
    tierId: s.tier_id,
    price: { amount: Number(s.amount), currency: s.currency },
  };
}

export interface NewSeat {
  seatId: string;
  label: string;
  section?: string | null;
  row?: string | null;
  tierId: string;
  x?: number | null;
  y?: number | null;
}

/** Inserts the seats that do not exist yet, all with `status`; returns the ids inserted. */
export async function insertSeats(
  db: Sequelize,
  t: Transaction,
  eventId: string,
  seats: NewSeat[],
  status: SeatStatus,
): Promise<string[]> {
  const s = seats;
  const inserted = await rows<{ seat_id: string }>(
    db,
    `INSERT INTO seats (event_id, status, seat_id, label, section, row_label, tier_id, x, y)
     SELECT $1, $9, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::float8[], $8::float8[])
     ON CONFLICT DO NOTHING RETURNING seat_id`,
    [
      eventId,
      s.map((x) => x.seatId),
      s.map((x) => x.label),
      s.map((x) => x.section ?? null),
      s.map((x) => x.row ?? null),
      s.map((x) => x.tierId),
      s.map((x) => x.x ?? null),
      s.map((x) => x.y ?? null),
      status,
    ],
    t,
  );
  return inserted.map((r) => r.seat_id);
}

/** The ids among `seatIds` that exist for the event. */
export async function knownSeatIds(db: Sequelize, eventId: string, seatIds: string[]): Promise<Set<string>> {
  const found = await directRows<{ seat_id: string }>(
    db,
    { name: 'inventory_known_seats', text: 'SELECT seat_id FROM seats WHERE event_id = $1 AND seat_id = ANY($2)' },
    [eventId, seatIds],
  );
  return new Set(found.map((r) => r.seat_id));
}

/** The ids among `seatIds` that are not available (held, sold or void), sorted. */
export async function unavailableSeatIds(db: Sequelize, eventId: string, seatIds: string[]): Promise<string[]> {
  const gone = await rows<{ seat_id: string }>(
    db,
    "SELECT seat_id FROM seats WHERE event_id = $1 AND seat_id = ANY($2) AND status <> 'available' ORDER BY seat_id",
    [eventId, seatIds],
  );
  return gone.map((r) => r.seat_id);
}

/** ONE conditional UPDATE over all requested seats: only available ones become held by the hold. Returns the
 *  ids it took (fewer than asked means some were gone; the caller rolls back). */
export async function holdSeats(
  db: Sequelize,
  t: Transaction,
  holdId: string,
  eventId: string,
  seatIds: string[],
): Promise<string[]> {
  const held = await rows<{ seat_id: string }>(
    db,
    `UPDATE seats SET status = 'held', hold_id = $1, version = version + 1
      WHERE event_id = $2 AND seat_id = ANY($3) AND status = 'available'
      RETURNING seat_id`,
    [holdId, eventId, seatIds],
    t,
  );
  return held.map((r) => r.seat_id);
}

/** The hold path's one statement on seats: the conditional UPDATE over all requested seats (only available
 *  ones become held by the hold), the hold's seat rows for the seats it took, and, when `change` is given and
 *  every seat was taken, the change log row (inserted after the UPDATE, whose row locks order it). Returns the
 *  seats taken with their labels and prices (fewer than asked: some were gone, the caller rolls back). */
export async function holdSeatsWithPrices(
  db: Sequelize,
  t: Transaction,
  holdId: string,
  eventId: string,
  seatIds: string[],
  change?: PendingChange,
): Promise<HoldSeat[]> {
  const taken = await rows<HoldSeatRow>(
    db,
    `WITH taken AS (
       UPDATE seats s SET status = 'held', hold_id = $1, version = s.version + 1
         FROM tiers t
        WHERE s.event_id = $2 AND s.seat_id = ANY($3) AND s.status = 'available'
          AND t.event_id = s.event_id AND t.tier_id = s.tier_id
       RETURNING s.seat_id, s.label, s.section, s.row_label, s.tier_id, t.amount, t.currency),
     owned AS (INSERT INTO hold_seats (hold_id, event_id, seat_id) SELECT $1, $2, seat_id FROM taken),
     logged AS (
       INSERT INTO availability_changes (event_id, change)
       SELECT $2, $4::jsonb FROM (SELECT count(*) AS n FROM taken) c WHERE $4::jsonb IS NOT NULL AND c.n = $5)
     SELECT * FROM taken ORDER BY seat_id`,
    [holdId, eventId, seatIds, change ? JSON.stringify(change) : null, seatIds.length],
    t,
  );
  return taken.map(toHoldSeat);
}

/** What inventory_hold_seats answered: the hold (its seats with prices), or the seats still available and the
 *  event's status when not all were (then nothing was written). */
export type SeatHoldOutcome =
  | { ok: true; createdAt: Date; expiresAt: Date; seats: HoldSeat[] }
  | { ok: false; available: string[]; eventStatus: string | null };

/** A held seat as the hold functions answer it (json: the amount may come as a string). */
interface SeatJson {
  seatId: string;
  label: string;
  section: string | null;
  row: string | null;
  tierId: string;
  amount: number | string;
  currency: string;
}

function seatFromJson(s: SeatJson): HoldSeat {
  return {
    seatId: s.seatId,
    label: s.label,
    section: s.section,
    row: s.row,
    tierId: s.tierId,
    price: { amount: Number(s.amount), currency: s.currency },
  };
}

/** A seats-only hold to write (either hold function): seatIds sorted, the change it makes not yet numbered. */
export interface SeatHoldWrite {
  holdId: string;
  eventId: string;
  userId: string;
  seatIds: string[];
  reservationMinutes: number;
  change: PendingChange;
}

/** A seats-only hold in ONE round trip, its own transaction (migration 0006, inventory_hold_seats): the event's
 *  shared advisory lock, the seats locked, and all-or-nothing the hold row, the conditional seat UPDATE, the
 *  hold's seat rows, the change log row and the outbox row (`outbox`: platform outboxRecord's bind). */
export async function holdSeatsInOneStatement(
  db: Sequelize,
  args: SeatHoldWrite & { outbox: readonly [string, string, string, string, string, string] },
): Promise<SeatHoldOutcome> {
  const [outboxId, outboxType, , payload, headers, occurredAt] = args.outbox;
  const [row] = await directRows<{ r: Record<string, unknown> }>(
    db,
    {
      name: 'inventory_hold_seats',
      text: 'SELECT inventory_hold_seats($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) AS r',
    },
    [
      args.holdId,
      args.eventId,
      args.userId,
      args.seatIds,
      args.reservationMinutes,
      JSON.stringify(args.change),
      outboxId,
      outboxType,
      payload,
      headers,
      occurredAt,
    ],
  );
  const r = row!.r as {
    available?: string[];
    eventStatus?: string | null;
    createdAt?: string;
    expiresAt?: string;
    seats?: SeatJson[];
  };
  if (r.available) return { ok: false, available: r.available, eventStatus: r.eventStatus ?? null };
  return {
    ok: true,
    createdAt: new Date(r.createdAt!),
    expiresAt: new Date(r.expiresAt!),
    seats: r.seats!.map(seatFromJson),
  };
}

/** One hold of a group-commit batch (inventory_hold_seats_batch, migration 0007). */
export interface BatchedSeatHold extends SeatHoldWrite {
  /** The outbox row (platform outboxRecord's event). */
  outbox: { id: string; type: string; payload: unknown; headers: unknown; occurredAt: string };
}

/** What the batch answered for one hold: as inventory_hold_seats, and for a refusal also which of its seats the
 *  event does not have (so a refusal needs no second round trip to tell 422 from 409). */
export type BatchedSeatHoldOutcome =
  | { ok: true; createdAt: Date; expiresAt: Date; seats: HoldSeat[] }
  | { ok: false; available: string[]; unknown: string[]; eventStatus: string | null };

/** Several seats-only holds in ONE round trip and one transaction (migration 0007, inventory_hold_seats_batch):
 *  every event's shared advisory lock, all requested available seats locked in one global order, then hold by
 *  hold in the given order, each all-or-nothing as holdSeatsInOneStatement. Answers one outcome per hold, in
 *  order. An error (deadlock, or any other) rolled the whole batch back: nothing of it was written. */
export async function holdSeatsInBatch(db: Sequelize, holds: BatchedSeatHold[]): Promise<BatchedSeatHoldOutcome[]> {
  const input = holds.map((h) => ({
    h: h.holdId,
    e: h.eventId,
    u: h.userId,
    s: h.seatIds,
    m: h.reservationMinutes,
    c: h.change,
    o: {
      id: h.outbox.id,
      type: h.outbox.type,
      payload: h.outbox.payload,
      headers: h.outbox.headers,
      at: h.outbox.occurredAt,
    },
  }));
  const [row] = await directRows<{ r: unknown[] }>(
    db,
    { name: 'inventory_hold_seats_batch', text: 'SELECT inventory_hold_seats_batch($1) AS r' },
    [JSON.stringify(input)],
  );
  const answers = row!.r as (
    | { createdAt: string; expiresAt: string; seats: SeatJson[] }
    | { available: string[]; unknown: string[]; eventStatus: string | null }
  )[];
  if (answers.length !== holds.length)
    throw new Error(`hold batch: ${answers.length} answers for ${holds.length} holds`);
  return answers.map((a) =>
    'available' in a
      ? { ok: false, available: a.available, unknown: a.unknown, eventStatus: a.eventStatus }
      : {
          ok: true,
          createdAt: new Date(a.createdAt),
          expiresAt: new Date(a.expiresAt),
          seats: a.seats.map(seatFromJson),
        },
  );
}

/** The hold's held seats become available again; returns their ids. */
export async function freeSeatsOfHold(db: Sequelize, t: Transaction, holdId: string): Promise<string[]> {
  const freed = await rows<{ seat_id: string }>(
    db,
    `UPDATE seats SET status = 'available', hold_id = NULL, version = version + 1
      WHERE hold_id = $1 AND status = 'held' RETURNING seat_id`,
    [holdId],
    t,
  );
  return freed.map((r) => r.seat_id);
}

/** The hold's held seats become sold; returns their ids. */
export async function sellSeatsOfHold(db: Sequelize, t: Transaction, holdId: string): Promise<string[]> {
  const sold = await rows<{ seat_id: string }>(
    db,
    `UPDATE seats SET status = 'sold', version = version + 1 WHERE hold_id = $1 AND status = 'held' RETURNING seat_id`,
    [holdId],
    t,
  );
  return sold.map((r) => r.seat_id);
}

/** The hold's sold seats go back on sale (a cancelled order); returns their ids. */
export async function returnSoldSeatsOfHold(db: Sequelize, t: Transaction, holdId: string): Promise<string[]> {
  const back = await rows<{ seat_id: string }>(
    db,
    `UPDATE seats SET status = 'available', hold_id = NULL, version = version + 1
      WHERE hold_id = $1 AND status = 'sold' RETURNING seat_id`,
    [holdId],
    t,
  );
  return back.map((r) => r.seat_id);
}

/** Every seat of the event becomes void (a sold seat keeps naming its hold); returns the ids changed. */
export async function voidSeatsOfEvent(db: Sequelize, t: Transaction, eventId: string): Promise<string[]> {
  const voided = await rows<{ seat_id: string }>(
    db,
    `UPDATE seats SET status = 'void', hold_id = CASE WHEN status = 'sold' THEN hold_id END, version = version + 1
      WHERE event_id = $1 AND status <> 'void' RETURNING seat_id`,
    [eventId],
    t,
  );
  return voided.map((r) => r.seat_id);
}
