// The statements every hold runs (the hold function, the numbering batch, the unknown-seats read of a refusal)
// go straight to a pooled connection's pg client, as named prepared statements (issue 14). Sequelize's raw
// query adds its own per-statement work (bind formatting, Query objects, hooks, logging options: the largest
// JavaScript package in inventory's on-sale profile) and sends each text to be parsed and planned again; here
// the connection comes from the same pool (same limits, same type parsers, same timeouts) and goes back to it.
// Errors are pg's own (`code` '40P01'/'40001' are what isRetryableTxError looks for). Everything else keeps
// the platform's sql.ts helpers.
import type { Sequelize } from '@eventtickets/platform';

/** A statement prepared once per connection under its name (the name must never be reused for another text). */
export interface NamedStatement {
  name: string;
  text: string;
}

/** The part of a pg client used here. */
interface PgClient {
  query<R>(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: R[] }>;
}

/** The part of Sequelize's connection manager used here (its pool of pg clients). */
interface ConnectionManager {
  getConnection(options: { type: 'read' | 'write' }): Promise<PgClient>;
  releaseConnection(connection: PgClient): Promise<void> | void;
}

/** Runs a named statement on a pooled connection and returns its rows. */
export async function directRows<R>(db: Sequelize, statement: NamedStatement, values: unknown[]): Promise<R[]> {
  const manager = (db as unknown as { connectionManager: ConnectionManager }).connectionManager;
  const client = await manager.getConnection({ type: 'write' });
  try {
    return (await client.query<R>({ name: statement.name, text: statement.text, values })).rows;
  } finally {
    await manager.releaseConnection(client);
  }
}
