// What orders keeps of catalog's events.
import { execute, one, type Sequelize, type Transaction } from '@eventtickets/platform';

export interface EventRow {
  event_id: string;
  organizer_id: string;
  title: string;
  starts_at: Date;
  service_fee: number | null;
  tax_rate: string | null;
  refund_deadline: Date | null;
  cancelled_at: Date | null;
}

export async function upsertEvent(
  db: Sequelize,
  t: Transaction,
  e: {
    eventId: string;
    organizerId: string;
    title: string;
    startsAt: string;
    serviceFee: number | null;
    taxRate: number | null;
    refundDeadline: string | null;
  },
): Promise<void> {
  await execute(
    db,
    `INSERT INTO events (event_id, organizer_id, title, starts_at, service_fee, tax_rate, refund_deadline)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (event_id) DO UPDATE SET organizer_id = EXCLUDED.organizer_id, title = EXCLUDED.title,
       starts_at = EXCLUDED.starts_at, service_fee = EXCLUDED.service_fee, tax_rate = EXCLUDED.tax_rate,
       refund_deadline = EXCLUDED.refund_deadline`,
    [e.eventId, e.organizerId, e.title, e.startsAt, e.serviceFee, e.taxRate, e.refundDeadline],
    t,
  );
}

export async function findEvent(db: Sequelize, eventId: string, t?: Transaction): Promise<EventRow | undefined> {
  return one<EventRow>(db, 'SELECT * FROM events WHERE event_id = $1', [eventId], t);
}

/** Remembers that the event was cancelled (event.cancelled); false when it already was. */
export async function markEventCancelled(db: Sequelize, t: Transaction, eventId: string): Promise<boolean> {
  return (
    (await execute(
      db,
      'UPDATE events SET cancelled_at = now() WHERE event_id = $1 AND cancelled_at IS NULL',
      [eventId],
      t,
    )) === 1
  );
}

/** The database's clock (deadlines are compared with it, as the hold expiry is). */
export async function dbNow(db: Sequelize, t?: Transaction): Promise<Date> {
  return new Date((await one<{ now: Date }>(db, 'SELECT now() AS now', [], t))!.now);
}
