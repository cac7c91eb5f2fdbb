// A thin typed wrapper over Sequelize raw queries with positional ($1) bind parameters.
import { QueryTypes, type Sequelize, type Transaction } from '@eventtickets/platform';

export async function rows<T>(db: Sequelize, sql: string, bind: unknown[] = [], transaction?: Transaction): Promise<T[]> {
  return (await db.query(sql, { bind, transaction, type: QueryTypes.SELECT })) as T[];
}

export async function one<T>(db: Sequelize, sql: string, bind: unknown[] = [], transaction?: Transaction): Promise<T | undefined> {
  return (await rows<T>(db, sql, bind, transaction))[0];
}

/** Postgres errors worth retrying the whole transaction for (deadlock, serialization failure). */
export function isRetryableTxError(err: unknown): boolean {
  const code = (err as { parent?: { code?: string }; original?: { code?: string } })?.parent?.code ?? (err as any)?.original?.code;
  return code === '40P01' || code === '40001';
}
