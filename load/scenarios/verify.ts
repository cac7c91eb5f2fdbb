// After onsale and checkout: the platform's own state of the run's event, read from the services' databases
// (inventory, orders, payments) with the Postgres superuser URL of the stack (its DATA_DIR gives it locally;
// --database-url for a cluster reached through a port-forward).
//
// Why the databases: the checks cross services and need every row, not one buyer's view. No API lists the orders
// of an event with their seats across buyers, nor payment intents (payments has no listing, public or internal),
// and a "payment without an order" is by definition invisible from the orders side. The databases are each
// service's own truth; the queries only read.
//
// The seat invariant of the on-sale bench (load/onsale/invariant.ts) is checked too, from outside: the holds the
// buyers were granted (201 answers, recorded by the processor) against the public availability snapshot.
import pg from 'pg';
import { readFileSync } from 'node:fs';
import { waitForSnapshot } from '../onsale/api.ts';
import { checkInvariant, type InvariantReport } from '../onsale/invariant.ts';
import type { GrantedHold } from '../onsale/loops.ts';

export interface Verification {
  source: 'databases';
  eventId: string;
  /** inventory: seats by status (available, held, sold) */
  seats: Record<string, number>;
  seatsSold: number;
  /** seats named by two orders that still count (pending, processing, confirmed) or by two live tickets: must be 0 */
  seatsInTwoOrders: number;
  /** orders with a succeeded, unrefunded payment (or confirmed) and no ticket: must be 0 */
  ordersPaidWithoutTickets: number;
  /** succeeded payments of the run whose order does not exist: must be 0 */
  paymentsWithoutOrder: number;
  /** inventory: holds of the event still active, and the seats they hold */
  holdsStillActive: number;
  seatsHeldByActiveHolds: number;
  /** orders by status, tickets issued (live), payments by status */
  orders: Record<string, number>;
  ticketsLive: number;
  payments: Record<string, number>;
  /** inventory's sold seats = orders' live seat tickets */
  soldMatchesTickets: boolean;
  /** the on-sale bench's invariant over the granted holds and the public snapshot (sold counted as taken) */
  invariant?: Omit<InvariantReport, 'oversold' | 'grantedNotHeld' | 'heldWithoutHold'> & {
    oversold: number;
    grantedNotTaken: number;
    takenWithoutGrant: number;
  };
  /** seconds waited for the sagas to settle (no order processing, no saga step left) */
  settledAfterS: number;
  ok: boolean;
  problems: string[];
}

function dbUrl(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function withDb<T>(adminUrl: string, database: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: dbUrl(adminUrl, database) });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const counts = (rows: { k: string; n: string }[]) => Object.fromEntries(rows.map((r) => [r.k, Number(r.n)]));

async function ordersState(c: pg.Client, eventId: string) {
  const byStatus = await c.query<{ k: string; n: string }>(
    'SELECT status AS k, count(*) AS n FROM orders WHERE event_id = $1 GROUP BY status',
    [eventId],
  );
  const unsettled = await c.query<{ n: string }>(
    `SELECT count(*) AS n FROM orders WHERE event_id = $1 AND (status = 'processing' OR saga_step IS NOT NULL)`,
    [eventId],
  );
  const twice = await c.query<{ n: string }>(
    `SELECT count(*) AS n FROM (
       SELECT seat FROM (
         SELECT o.order_id, line->>'seatId' AS seat
           FROM orders o, jsonb_array_elements(o.lines) AS line
          WHERE o.event_id = $1 AND o.status IN ('pending', 'processing', 'confirmed') AND line->>'seatId' IS NOT NULL
         UNION
         SELECT order_id, seat_id FROM tickets WHERE event_id = $1 AND status <> 'void' AND seat_id IS NOT NULL
       ) s GROUP BY seat HAVING count(DISTINCT order_id) > 1
     ) t`,
    [eventId],
  );
  const tickets = await c.query<{ live: string; seats: string }>(
    `SELECT count(*) AS live, count(seat_id) AS seats FROM tickets WHERE event_id = $1 AND status <> 'void'`,
    [eventId],
  );
  const withTickets = await c.query<{ order_id: string; status: string; tickets: string }>(
    `SELECT o.order_id, o.status, count(t.ticket_id) AS tickets
       FROM orders o LEFT JOIN tickets t ON t.order_id = o.order_id
      WHERE o.event_id = $1 GROUP BY o.order_id, o.status`,
    [eventId],
  );
  return {
    byStatus: counts(byStatus.rows),
    unsettled: Number(unsettled.rows[0]!.n),
    seatsInTwoOrders: Number(twice.rows[0]!.n),
    ticketsLive: Number(tickets.rows[0]!.live),
    seatTickets: Number(tickets.rows[0]!.seats),
    orders: new Map(withTickets.rows.map((r) => [r.order_id, { status: r.status, tickets: Number(r.tickets) }])),
  };
}

export async function verify(o: {
  adminUrl: string;
  gatewayUrl: string;
  eventId: string;
  /** when the run started: payments created since then belong to it */
  since: Date;
  grantsFile?: string;
  settleTimeoutS?: number;
  log?: (line: string) => void;
}): Promise<Verification> {
  const started = Date.now();
  const deadline = started + (o.settleTimeoutS ?? 60) * 1000;
  let orders = await withDb(o.adminUrl, 'orders', (c) => ordersState(c, o.eventId));
  while (orders.unsettled > 0 && Date.now() < deadline) {
    o.log?.(`waiting for ${orders.unsettled} orders to settle`);
    await new Promise((r) => setTimeout(r, 1000));
    orders = await withDb(o.adminUrl, 'orders', (c) => ordersState(c, o.eventId));
  }
  const settledAfterS = (Date.now() - started) / 1000;

  const inventory = await withDb(o.adminUrl, 'inventory', async (c) => {
    const seats = await c.query<{ k: string; n: string }>(
      'SELECT status AS k, count(*) AS n FROM seats WHERE event_id = $1 GROUP BY status',
      [o.eventId],
    );
    const active = await c.query<{ holds: string; seats: string }>(
      `SELECT count(DISTINCT h.hold_id) AS holds, count(s.seat_id) AS seats
         FROM holds h LEFT JOIN seats s ON s.hold_id = h.hold_id AND s.status = 'held'
        WHERE h.event_id = $1 AND h.status = 'active'`,
      [o.eventId],
    );
    return { seats: counts(seats.rows), holds: Number(active.rows[0]!.holds), held: Number(active.rows[0]!.seats) };
  });

  const payments = await withDb(o.adminUrl, 'payments', async (c) => {
    const rows = await c.query<{ order_id: string; status: string; refunded: boolean }>(
      `SELECT order_id, status, refunded_amount >= amount AS refunded FROM payment_intents WHERE created_at >= $1`,
      [o.since],
    );
    return rows.rows;
  });
  // payments of this run: those of the event's orders, and those whose order exists nowhere (orders of other
  // events have rows in orders, so they are not counted as orphans)
  const orderIds = [...new Set(payments.map((p) => p.order_id))];
  const existing = await withDb(o.adminUrl, 'orders', async (c) => {
    const r = await c.query<{ order_id: string; event_id: string }>(
      'SELECT order_id::text, event_id FROM orders WHERE order_id::text = ANY($1)',
      [orderIds],
    );
    return new Map(r.rows.map((x) => [x.order_id, x.event_id]));
  });
  const ours = payments.filter((p) => existing.get(p.order_id) === o.eventId || !existing.has(p.order_id));
  const paymentsWithoutOrder = ours.filter((p) => p.status === 'succeeded' && !existing.has(p.order_id)).length;
  const paidOrders = new Set(
    ours.filter((p) => p.status === 'succeeded' && !p.refunded && existing.has(p.order_id)).map((p) => p.order_id),
  );
  for (const [id, row] of orders.orders) if (row.status === 'confirmed') paidOrders.add(id);
  const ordersPaidWithoutTickets = [...paidOrders].filter((id) => (orders.orders.get(id)?.tickets ?? 0) === 0).length;
  const paymentsByStatus: Record<string, number> = {};
  for (const p of ours) paymentsByStatus[p.status] = (paymentsByStatus[p.status] ?? 0) + 1;

  let invariant: Verification['invariant'];
  if (o.grantsFile) {
    const lines = readFileSync(o.grantsFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as GrantedHold | { unknown: string[] });
    const granted = lines.filter((l): l is GrantedHold => 'holdId' in l);
    const snapshot = await waitForSnapshot(o.gatewayUrl, o.eventId);
    // a granted hold's seats are held, or sold once paid: both are "taken by that hold" for the bench's check
    const taken = Object.fromEntries(
      Object.entries(snapshot.seats).map(([seat, s]) => [seat, s === 'sold' ? 'held' : s]),
    );
    const r = checkInvariant(taken, granted, lines.length - granted.length);
    invariant = {
      grantedHolds: r.grantedHolds,
      grantedSeats: r.grantedSeats,
      unknownOutcomes: r.unknownOutcomes,
      oversold: r.oversold.length,
      grantedNotTaken: r.grantedNotHeld.length,
      takenWithoutGrant: r.heldWithoutHold.length,
      ok: r.ok,
    };
  }

  const seatsSold = inventory.seats.sold ?? 0;
  const v: Verification = {
    source: 'databases',
    eventId: o.eventId,
    seats: inventory.seats,
    seatsSold,
    seatsInTwoOrders: orders.seatsInTwoOrders,
    ordersPaidWithoutTickets,
    paymentsWithoutOrder,
    holdsStillActive: inventory.holds,
    seatsHeldByActiveHolds: inventory.held,
    orders: orders.byStatus,
    ticketsLive: orders.ticketsLive,
    payments: paymentsByStatus,
    soldMatchesTickets: seatsSold === orders.seatTickets,
    invariant,
    settledAfterS,
    ok: true,
    problems: [],
  };
  if (v.seatsInTwoOrders) v.problems.push(`${v.seatsInTwoOrders} seats in two orders`);
  if (v.ordersPaidWithoutTickets) v.problems.push(`${v.ordersPaidWithoutTickets} orders paid without tickets`);
  if (v.paymentsWithoutOrder) v.problems.push(`${v.paymentsWithoutOrder} payments without an order`);
  if (!v.soldMatchesTickets) v.problems.push(`inventory sold ${seatsSold} seats, orders issued ${orders.seatTickets}`);
  if (orders.unsettled) v.problems.push(`${orders.unsettled} orders still processing after ${settledAfterS} s`);
  if (invariant && !invariant.ok) v.problems.push('seat invariant (granted holds vs snapshot) broken');
  v.ok = v.problems.length === 0;
  return v;
}
