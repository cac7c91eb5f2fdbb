// SQL on payment intents. State changes are conditional on the current status (the WHERE clause), so a
// transition happens once whatever runs concurrently; callers hold the row lock (loadIntent forUpdate) too.
import { execute, one, type Sequelize, type Transaction } from '@eventtickets/platform';
import type { FeeLine, Intent, IntentStatus, Line, Seller, TaxLine } from '../domain/types.ts';
import { receiptNumber } from '../domain/intent-rules.ts';

interface IntentRow {
  intent_id: string;
  order_id: string;
  user_id: string;
  amount: string | number;
  currency: string;
  description: string | null;
  seller: Seller;
  lines: Line[];
  fees: FeeLine[];
  taxes: TaxLine[];
  status: IntentStatus;
  provider: string;
  payment_method_id: string | null;
  card_brand: string | null;
  card_last4: string | null;
  provider_ref: string | null;
  failure_reason: string | null;
  refunded_amount: string | number;
  receipt_number: string | null;
  created_at: Date;
  updated_at: Date;
  succeeded_at: Date | null;
}

const toIntent = (r: IntentRow): Intent => ({
  id: r.intent_id,
  orderId: r.order_id,
  userId: r.user_id,
  amount: Number(r.amount),
  currency: r.currency,
  description: r.description,
  seller: r.seller,
  lines: r.lines,
  fees: r.fees,
  taxes: r.taxes,
  status: r.status,
  provider: r.provider,
  paymentMethodId: r.payment_method_id,
  cardBrand: r.card_brand,
  cardLast4: r.card_last4,
  providerRef: r.provider_ref,
  failureReason: r.failure_reason,
  refundedAmount: Number(r.refunded_amount),
  receiptNumber: r.receipt_number,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  succeededAt: r.succeeded_at,
});

export async function insertIntent(
  db: Sequelize,
  t: Transaction,
  i: Pick<
    Intent,
    | 'id'
    | 'orderId'
    | 'userId'
    | 'amount'
    | 'currency'
    | 'description'
    | 'seller'
    | 'lines'
    | 'fees'
    | 'taxes'
    | 'provider'
  >,
): Promise<void> {
  await execute(
    db,
    `INSERT INTO payment_intents
       (intent_id, order_id, user_id, amount, currency, description, seller, lines, fees, taxes, provider)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [
      i.id,
      i.orderId,
      i.userId,
      i.amount,
      i.currency,
      i.description,
      JSON.stringify(i.seller),
      JSON.stringify(i.lines),
      JSON.stringify(i.fees),
      JSON.stringify(i.taxes),
      i.provider,
    ],
    t,
  );
}

/** The intent; with `forUpdate` its row stays locked until t ends. */
export async function loadIntent(
  db: Sequelize,
  id: string,
  t?: Transaction,
  forUpdate = false,
): Promise<Intent | undefined> {
  const r = await one<IntentRow>(
    db,
    `SELECT * FROM payment_intents WHERE intent_id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
    [id],
    t,
  );
  return r && toIntent(r);
}

/** Another intent of the order that is processing or succeeded (at most one exists: one_live_intent_per_order). */
export async function liveIntentOfOrder(db: Sequelize, orderId: string, t?: Transaction): Promise<Intent | undefined> {
  const r = await one<IntentRow>(
    db,
    "SELECT * FROM payment_intents WHERE order_id = $1 AND status IN ('processing', 'succeeded')",
    [orderId],
    t,
  );
  return r && toIntent(r);
}

export async function succeededIntentOfOrder(db: Sequelize, orderId: string): Promise<Intent | undefined> {
  const r = await one<IntentRow>(db, "SELECT * FROM payment_intents WHERE order_id = $1 AND status = 'succeeded'", [
    orderId,
  ]);
  return r && toIntent(r);
}

/** requires_confirmation → processing with the method's card; false if the intent was not awaiting confirmation. */
export async function markProcessing(
  db: Sequelize,
  t: Transaction,
  id: string,
  method: { id: string; brand: string; last4: string },
): Promise<boolean> {
  const n = await execute(
    db,
    `UPDATE payment_intents SET status = 'processing', payment_method_id = $2, card_brand = $3, card_last4 = $4,
            updated_at = now()
     WHERE intent_id = $1 AND status = 'requires_confirmation'`,
    [id, method.id, method.brand, method.last4],
    t,
  );
  return n === 1;
}

export async function setProviderRef(db: Sequelize, t: Transaction, id: string, ref: string): Promise<void> {
  await execute(db, 'UPDATE payment_intents SET provider_ref = $2 WHERE intent_id = $1', [id, ref], t);
}

/** processing → succeeded, with the next receipt number; false if it was not processing. */
export async function markSucceeded(db: Sequelize, t: Transaction, id: string, providerRef: string): Promise<boolean> {
  const seq = await one<{ n: string }>(db, "SELECT nextval('receipt_numbers') AS n", [], t);
  const n = await execute(
    db,
    `UPDATE payment_intents SET status = 'succeeded', provider_ref = $2, receipt_number = $3, succeeded_at = now(),
            updated_at = now()
     WHERE intent_id = $1 AND status = 'processing'`,
    [id, providerRef, receiptNumber(new Date().getUTCFullYear(), Number(seq!.n))],
    t,
  );
  return n === 1;
}

/** processing → failed with the reason; false if it was not processing. */
export async function markFailed(
  db: Sequelize,
  t: Transaction,
  id: string,
  providerRef: string,
  reason: string,
): Promise<boolean> {
  const n = await execute(
    db,
    `UPDATE payment_intents SET status = 'failed', provider_ref = $2, failure_reason = $3, updated_at = now()
     WHERE intent_id = $1 AND status = 'processing'`,
    [id, providerRef, reason],
    t,
  );
  return n === 1;
}

/** Adds a refund to the intent's total only if it stays within the capture: the SQL itself refuses more. */
export async function addRefunded(db: Sequelize, t: Transaction, id: string, amount: number): Promise<boolean> {
  const n = await execute(
    db,
    `UPDATE payment_intents SET refunded_amount = refunded_amount + $2, updated_at = now()
     WHERE intent_id = $1 AND status = 'succeeded' AND refunded_amount + $2 <= amount`,
    [id, amount],
    t,
  );
  return n === 1;
}
