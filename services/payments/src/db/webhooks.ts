// SQL on received provider events (each id once) and on the simulator's side: its ledger and its durable
// webhook schedule.
import { execute, one, rows, type Sequelize, type Transaction } from '@eventtickets/platform';

/** Records a provider event id; false when it was already recorded (a replay). */
export async function recordProviderEvent(
  db: Sequelize,
  t: Transaction,
  e: { provider: string; eventId: string; type: string; intentId?: string },
): Promise<boolean> {
  const claimed = await rows<{ event_id: string }>(
    db,
    `INSERT INTO provider_events (provider, event_id, type, intent_id) VALUES ($1, $2, $3, $4)
     ON CONFLICT (provider, event_id) DO NOTHING RETURNING event_id`,
    [e.provider, e.eventId, e.type, e.intentId ?? null],
    t,
  );
  return claimed.length === 1;
}

export async function insertSimulatorCharge(
  db: Sequelize,
  t: Transaction,
  c: { chargeId: string; intentId: string; amount: number; currency: string; outcome: string },
): Promise<void> {
  await execute(
    db,
    `INSERT INTO simulator_charges (charge_id, intent_id, amount, currency, outcome) VALUES ($1, $2, $3, $4, $5)`,
    [c.chargeId, c.intentId, c.amount, c.currency, c.outcome],
    t,
  );
}

export async function simulatorChargeOf(
  db: Sequelize,
  intentId: string,
  t?: Transaction,
): Promise<{ chargeId: string; outcome: string } | undefined> {
  const r = await one<{ charge_id: string; outcome: string }>(
    db,
    'SELECT charge_id, outcome FROM simulator_charges WHERE intent_id = $1',
    [intentId],
    t,
  );
  return r && { chargeId: r.charge_id, outcome: r.outcome };
}

export async function insertSimulatorRefund(
  db: Sequelize,
  t: Transaction,
  r: { refundRef: string; chargeId: string; amount: number },
): Promise<void> {
  await execute(
    db,
    'INSERT INTO simulator_refunds (refund_ref, charge_id, amount) VALUES ($1, $2, $3)',
    [r.refundRef, r.chargeId, r.amount],
    t,
  );
}

/** Schedules a webhook for delivery after delayMs (by the database clock). */
export async function scheduleWebhook(
  db: Sequelize,
  t: Transaction,
  w: { deliveryId: string; provider: string; eventId: string; body: string; delayMs: number },
): Promise<void> {
  await execute(
    db,
    `INSERT INTO webhook_deliveries (delivery_id, provider, event_id, body, due_at)
     VALUES ($1, $2, $3, $4, now() + ($5::bigint * interval '1 millisecond'))`,
    [w.deliveryId, w.provider, w.eventId, w.body, w.delayMs],
    t,
  );
}

export interface DueWebhook {
  deliveryId: string;
  eventId: string;
  body: string;
  attempts: number;
}

/** Leases up to `limit` due, undelivered webhooks for leaseMs (another replica skips them meanwhile). */
export async function leaseDueWebhooks(db: Sequelize, limit: number, leaseMs: number): Promise<DueWebhook[]> {
  const list = await rows<{ delivery_id: string; event_id: string; body: string; attempts: number }>(
    db,
    `UPDATE webhook_deliveries SET lease_until = now() + ($2::bigint * interval '1 millisecond'),
            attempts = attempts + 1
     WHERE delivery_id IN (
       SELECT delivery_id FROM webhook_deliveries
       WHERE delivered_at IS NULL AND due_at <= now() AND (lease_until IS NULL OR lease_until < now())
       ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED)
     RETURNING delivery_id, event_id, body, attempts`,
    [limit, leaseMs],
  );
  return list.map((r) => ({ deliveryId: r.delivery_id, eventId: r.event_id, body: r.body, attempts: r.attempts }));
}

export async function markWebhookDelivered(db: Sequelize, deliveryId: string, status: number): Promise<void> {
  await execute(
    db,
    `UPDATE webhook_deliveries SET delivered_at = now(), last_status = $2, last_error = NULL, lease_until = NULL
     WHERE delivery_id = $1`,
    [deliveryId, status],
  );
}

/** A failed attempt: due again after backoffMs. */
export async function markWebhookFailed(
  db: Sequelize,
  deliveryId: string,
  failure: { status: number | null; error: string; backoffMs: number },
): Promise<void> {
  await execute(
    db,
    `UPDATE webhook_deliveries SET last_status = $2, last_error = $3, lease_until = NULL,
            due_at = now() + ($4::bigint * interval '1 millisecond')
     WHERE delivery_id = $1`,
    [deliveryId, failure.status, failure.error.slice(0, 500), failure.backoffMs],
  );
}

export async function countPendingWebhooks(db: Sequelize): Promise<number> {
  const r = await one<{ n: string }>(db, 'SELECT count(*) AS n FROM webhook_deliveries WHERE delivered_at IS NULL');
  return Number(r?.n ?? 0);
}
