// SQL helpers for service tests: read a suite's database the way the service wrote it (positional `$n` binds, as
// in every db/ module), through the service's own pool or, when no instance is running, one short connection.
import pg from 'pg';
import type { Sequelize } from 'sequelize';

/** Rows of `sql` run on the service's pool (`deps.db`); UPDATE/DELETE ... RETURNING answer their rows too. */
export async function queryRows<T = any>(deps: { db: Sequelize }, sql: string, bind: unknown[] = []): Promise<T[]> {
  const [result] = await deps.db.query(sql, { bind });
  return result as T[];
}

/** SQL straight against a suite's database (its config's DATABASE_URL), for moments when no instance is running. */
export async function queryDatabase<T = any>(
  config: { DATABASE_URL: string },
  text: string,
  bind: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: config.DATABASE_URL });
  await client.connect();
  try {
    return (await client.query(text, bind)).rows as T[];
  } finally {
    await client.end();
  }
}

/** The events an aggregate put in the service's outbox, in order. */
export function outboxEventsOf(
  deps: { db: Sequelize },
  aggregateId: string,
): Promise<Array<{ type: string; payload: any }>> {
  return queryRows(deps, 'SELECT type, payload FROM outbox WHERE aggregate_id = $1 ORDER BY seq', [aggregateId]);
}
