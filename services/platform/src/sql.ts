// The one way services run SQL: positional ($1, $2, …) bind parameters through Sequelize's raw query, typed
// results, and a transaction helper that retries the whole transaction on deadlock or serialization failure.
import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';

/** Runs a SELECT (or a statement with RETURNING) and returns its rows. */
export async function rows<T>(
  db: Sequelize,
  sql: string,
  bind: unknown[] = [],
  transaction?: Transaction,
): Promise<T[]> {
  return (await db.query(sql, { bind, transaction, type: QueryTypes.SELECT })) as T[];
}

/** The first row of rows(), or undefined. */
export async function one<T>(
  db: Sequelize,
  sql: string,
  bind: unknown[] = [],
  transaction?: Transaction,
): Promise<T | undefined> {
  return (await rows<T>(db, sql, bind, transaction))[0];
}

/** Runs a statement without a result set; returns the number of rows it touched. */
export async function execute(
  db: Sequelize,
  sql: string,
  bind: unknown[] = [],
  transaction?: Transaction,
): Promise<number> {
  const [, meta] = await db.query(sql, { bind, transaction });
  return (meta as { rowCount?: number } | undefined)?.rowCount ?? 0;
}

/** Postgres errors worth retrying the whole transaction for: deadlock detected, serialization failure. */
export function isRetryableTxError(err: unknown): boolean {
  const e = err as { parent?: { code?: string }; original?: { code?: string }; code?: string } | undefined;
  const code = e?.parent?.code ?? e?.original?.code ?? e?.code;
  return code === '40P01' || code === '40001';
}

export interface RetryOptions {
  /** Attempts in all, the first included (default 3). */
  attempts?: number;
  isolationLevel?: Transaction.ISOLATION_LEVELS;
  /** Called before each retry (metrics, logs). */
  onRetry?: (attempt: number, err: unknown) => void;
}

/**
 * Runs fn, and again when it fails with a deadlock or serialization failure (up to `attempts` in all), after a
 * little jitter so two writers that deadlocked do not collide again in lock step. fn must be safe to re-run: its
 * own transaction (or statement) rolled back.
 */
export async function retryOnTxConflict<T>(
  fn: () => Promise<T>,
  opts: Pick<RetryOptions, 'attempts' | 'onRetry'> = {},
): Promise<T> {
  const attempts = opts.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= attempts || !isRetryableTxError(err)) throw err;
      opts.onRetry?.(attempt, err);
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 10 * attempt)));
    }
  }
}

/**
 * Runs fn in one transaction, committed if it resolves, rolled back if it throws; a deadlock or
 * serialization failure runs it again from the start (fn must be safe to re-run: it only writes through t).
 */
export function withRetryingTransaction<T>(
  db: Sequelize,
  fn: (t: Transaction) => Promise<T>,
  opts: RetryOptions = {},
): Promise<T> {
  return retryOnTxConflict(() => db.transaction({ isolationLevel: opts.isolationLevel }, fn), opts);
}
