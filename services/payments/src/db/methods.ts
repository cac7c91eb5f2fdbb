// SQL on payment methods (no card number or CVC column exists).
import { one, rows, execute, type Sequelize, type Transaction } from '@eventtickets/platform';
import type { CardBrand } from '../domain/card.ts';
import type { PaymentMethod } from '../domain/types.ts';

interface MethodRow {
  method_id: string;
  user_id: string;
  provider: string;
  brand: CardBrand;
  last4: string;
  exp_month: number;
  exp_year: number;
  provider_token: string;
  created_at: Date;
}

const toMethod = (r: MethodRow): PaymentMethod => ({
  id: r.method_id,
  userId: r.user_id,
  provider: r.provider,
  brand: r.brand,
  last4: r.last4,
  expMonth: r.exp_month,
  expYear: r.exp_year,
  providerToken: r.provider_token,
  createdAt: r.created_at,
});

export async function insertMethod(db: Sequelize, m: Omit<PaymentMethod, 'createdAt'>): Promise<PaymentMethod> {
  await execute(
    db,
    `INSERT INTO payment_methods (method_id, user_id, provider, brand, last4, exp_month, exp_year, provider_token)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [m.id, m.userId, m.provider, m.brand, m.last4, m.expMonth, m.expYear, m.providerToken],
  );
  return (await loadMethod(db, m.id))!;
}

export async function loadMethod(db: Sequelize, id: string, t?: Transaction): Promise<PaymentMethod | undefined> {
  const r = await one<MethodRow>(db, 'SELECT * FROM payment_methods WHERE method_id = $1', [id], t);
  return r && toMethod(r);
}

export async function listMethods(db: Sequelize, userId: string): Promise<PaymentMethod[]> {
  const list = await rows<MethodRow>(
    db,
    'SELECT * FROM payment_methods WHERE user_id = $1 ORDER BY created_at DESC, method_id LIMIT 100',
    [userId],
  );
  return list.map(toMethod);
}
