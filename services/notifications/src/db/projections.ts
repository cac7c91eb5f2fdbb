// What notifications keeps of other services' events: contacts (users), events (catalog), orders (orders).
import { execute, one, rows, type Sequelize, type Transaction } from '@eventtickets/platform';

export interface ContactRow {
  user_id: string;
  email: string;
  name: string;
  phone: string | null;
  email_enabled: boolean;
  sms_enabled: boolean;
}

export interface EventRow {
  event_id: string;
  title: string;
  venue_name: string;
  time_zone: string;
  starts_at: Date;
  cancelled_at: Date | null;
}

export interface OrderRow {
  order_id: string;
  user_id: string;
  event_id: string;
  status: 'created' | 'confirmed' | 'refunded';
  totals: Array<{ amount: number; currency: string }>;
}

export async function upsertContact(
  db: Sequelize,
  t: Transaction,
  c: Omit<ContactRow, 'phone'> & { phone: string | null },
): Promise<void> {
  await execute(
    db,
    `INSERT INTO contacts (user_id, email, name, phone, email_enabled, sms_enabled) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (user_id) DO UPDATE SET email = EXCLUDED.email, name = EXCLUDED.name, phone = EXCLUDED.phone,
       email_enabled = EXCLUDED.email_enabled, sms_enabled = EXCLUDED.sms_enabled, updated_at = now()`,
    [c.user_id, c.email, c.name, c.phone, c.email_enabled, c.sms_enabled],
    t,
  );
}

export async function findContact(db: Sequelize, userId: string, t?: Transaction): Promise<ContactRow | undefined> {
  return one<ContactRow>(db, 'SELECT * FROM contacts WHERE user_id = $1', [userId], t);
}

export async function upsertEvent(db: Sequelize, t: Transaction, e: Omit<EventRow, 'cancelled_at'>): Promise<void> {
  await execute(
    db,
    `INSERT INTO events (event_id, title, venue_name, time_zone, starts_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (event_id) DO UPDATE SET title = EXCLUDED.title, venue_name = EXCLUDED.venue_name,
       time_zone = EXCLUDED.time_zone, starts_at = EXCLUDED.starts_at`,
    [e.event_id, e.title, e.venue_name, e.time_zone, e.starts_at],
    t,
  );
}

export async function findEvent(db: Sequelize, eventId: string, t?: Transaction): Promise<EventRow | undefined> {
  return one<EventRow>(db, 'SELECT * FROM events WHERE event_id = $1', [eventId], t);
}

export async function markEventCancelled(db: Sequelize, t: Transaction, eventId: string): Promise<void> {
  await execute(
    db,
    'UPDATE events SET cancelled_at = now() WHERE event_id = $1 AND cancelled_at IS NULL',
    [eventId],
    t,
  );
}

/** Records an order or moves it forward (created → confirmed → refunded; never back). */
export async function upsertOrder(
  db: Sequelize,
  t: Transaction,
  o: { orderId: string; userId: string; eventId: string; status: OrderRow['status']; totals?: OrderRow['totals'] },
): Promise<void> {
  await execute(
    db,
    `INSERT INTO orders (order_id, user_id, event_id, status, totals) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (order_id) DO UPDATE SET
       status = CASE WHEN array_position(ARRAY['created', 'confirmed', 'refunded'], EXCLUDED.status)
                        > array_position(ARRAY['created', 'confirmed', 'refunded'], orders.status)
                     THEN EXCLUDED.status ELSE orders.status END,
       totals = CASE WHEN EXCLUDED.totals = '[]'::jsonb THEN orders.totals ELSE EXCLUDED.totals END`,
    [o.orderId, o.userId, o.eventId, o.status, JSON.stringify(o.totals ?? [])],
    t,
  );
}

export async function findOrder(db: Sequelize, orderId: string, t?: Transaction): Promise<OrderRow | undefined> {
  return one<OrderRow>(db, 'SELECT * FROM orders WHERE order_id = $1', [orderId], t);
}

/** The users holding confirmed tickets of an event, once each. */
export async function ticketHolders(db: Sequelize, t: Transaction, eventId: string): Promise<string[]> {
  const list = await rows<{ user_id: string }>(
    db,
    `SELECT DISTINCT user_id FROM orders WHERE event_id = $1 AND status = 'confirmed' ORDER BY user_id`,
    [eventId],
    t,
  );
  return list.map((r) => r.user_id);
}
