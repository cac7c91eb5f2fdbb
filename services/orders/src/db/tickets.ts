// Every SQL statement about tickets.
import { execute, rows, type Sequelize, type Transaction } from '@eventtickets/platform';

export interface TicketRow {
  ticket_id: string;
  order_id: string;
  user_id: string;
  event_id: string;
  seat_id: string | null;
  area_id: string | null;
  place: number;
  label: string;
  tier_id: string;
  unit_amount: number;
  status: 'valid' | 'checked_in' | 'void';
  checked_in_at: Date | null;
  checked_in_by: string | null;
  created_at: Date;
}

export interface NewTicket {
  ticketId: string;
  seatId: string | null;
  areaId: string | null;
  place: number;
  label: string;
  tierId: string;
  unitAmount: number;
}

/** Issues an order's tickets; a ticket already issued for a place stays as it is (one_ticket_per_place). */
export async function insertTickets(
  db: Sequelize,
  t: Transaction,
  order: { orderId: string; userId: string; eventId: string },
  tickets: NewTicket[],
): Promise<void> {
  if (!tickets.length) return;
  await rows(
    db,
    `INSERT INTO tickets (ticket_id, order_id, user_id, event_id, seat_id, area_id, place, label, tier_id, unit_amount)
     SELECT x.ticket_id::uuid, $1, $2, $3, x.seat_id, x.area_id, x.place, x.label, x.tier_id, x.unit_amount
     FROM jsonb_to_recordset($4::jsonb) AS x(ticket_id text, seat_id text, area_id text, place int, label text,
       tier_id text, unit_amount int)
     ON CONFLICT ON CONSTRAINT one_ticket_per_place DO NOTHING RETURNING ticket_id`,
    [
      order.orderId,
      order.userId,
      order.eventId,
      JSON.stringify(
        tickets.map((k) => ({
          ticket_id: k.ticketId,
          seat_id: k.seatId,
          area_id: k.areaId,
          place: k.place,
          label: k.label,
          tier_id: k.tierId,
          unit_amount: k.unitAmount,
        })),
      ),
    ],
    t,
  );
}

export async function ticketsOfOrder(db: Sequelize, orderId: string, t?: Transaction): Promise<TicketRow[]> {
  return rows<TicketRow>(db, 'SELECT * FROM tickets WHERE order_id = $1 ORDER BY place', [orderId], t);
}

export async function findTicket(db: Sequelize, ticketId: string, t?: Transaction): Promise<TicketRow | undefined> {
  return (await rows<TicketRow>(db, 'SELECT * FROM tickets WHERE ticket_id = $1', [ticketId], t))[0];
}

export async function listTickets(db: Sequelize, userId: string): Promise<TicketRow[]> {
  return rows<TicketRow>(db, 'SELECT * FROM tickets WHERE user_id = $1 ORDER BY created_at DESC, place LIMIT 500', [
    userId,
  ]);
}

/** Admits a valid ticket once: the conditional update is the race's referee (two scanners, one row). */
export async function checkInTicket(
  db: Sequelize,
  t: Transaction,
  ticketId: string,
  by: string,
): Promise<TicketRow | undefined> {
  return (
    await rows<TicketRow>(
      db,
      `UPDATE tickets SET status = 'checked_in', checked_in_at = now(), checked_in_by = $2
       WHERE ticket_id = $1 AND status = 'valid' RETURNING *`,
      [ticketId, by],
      t,
    )
  )[0];
}

/** Voids an order's tickets that were not used (a cancelled or refunded order); returns how many. */
export async function voidTicketsOfOrder(db: Sequelize, t: Transaction, orderId: string): Promise<number> {
  return execute(db, `UPDATE tickets SET status = 'void' WHERE order_id = $1 AND status <> 'void'`, [orderId], t);
}

export interface TierSalesRow {
  tier_id: string;
  sold: number;
  revenue: number;
  check_ins: number;
}

/** Tickets still standing (not void) per tier, their face value and how many were checked in. */
export async function ticketSalesOfEvent(db: Sequelize, eventId: string): Promise<TierSalesRow[]> {
  return rows<TierSalesRow>(
    db,
    `SELECT tier_id, count(*)::int AS sold, COALESCE(sum(unit_amount), 0)::int AS revenue,
       (count(*) FILTER (WHERE status = 'checked_in'))::int AS check_ins
     FROM tickets WHERE event_id = $1 AND status <> 'void' GROUP BY tier_id ORDER BY tier_id`,
    [eventId],
  );
}
