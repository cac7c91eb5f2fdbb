// SQL on refunds.
import { rows, type Sequelize, type Transaction } from '@eventtickets/platform';
import type { Refund } from '../domain/types.ts';

interface RefundRow {
  refund_id: string;
  intent_id: string;
  amount: string | number;
  reason: string | null;
  provider_ref: string;
  created_at: Date;
}

const toRefund = (r: RefundRow): Refund => ({
  id: r.refund_id,
  intentId: r.intent_id,
  amount: Number(r.amount),
  reason: r.reason,
  providerRef: r.provider_ref,
  createdAt: r.created_at,
});

export async function insertRefund(db: Sequelize, t: Transaction, r: Omit<Refund, 'createdAt'>): Promise<Refund> {
  const [row] = await rows<RefundRow>(
    db,
    `INSERT INTO refunds (refund_id, intent_id, amount, reason, provider_ref) VALUES ($1, $2, $3, $4, $5)
     RETURNING *`,
    [r.id, r.intentId, r.amount, r.reason, r.providerRef],
    t,
  );
  return toRefund(row!);
}

export async function refundsOf(db: Sequelize, intentId: string, t?: Transaction): Promise<Refund[]> {
  const list = await rows<RefundRow>(
    db,
    'SELECT * FROM refunds WHERE intent_id = $1 ORDER BY created_at, refund_id',
    [intentId],
    t,
  );
  return list.map(toRefund);
}
