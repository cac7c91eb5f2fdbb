// Database administration that needs only the pg driver (no Sequelize): the local stack runner creates the
// per-service databases with it before any service connects (issue 19: the runner's own start is part of every
// npm start). Re-exported by db.ts, so `@eventtickets/platform` still has it.
import pg from 'pg';

/** Creates the database named in url if it does not exist (local stack and tests; production provisions its own). */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unsafe database name: ${name}`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE "${name}"`);
      } catch (err) {
        // Created concurrently (npm start's runner and a service both ensure it while Postgres comes up): a
        // CREATE that loses the race fails with 42P04, or with 23505 on pg_database's name index when both
        // checked before either committed. Either way the database now exists.
        const code = (err as { code?: string }).code;
        if (code !== '42P04' && code !== '23505') throw err;
        const now = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
        if (now.rowCount === 0) throw err;
      }
    }
  } finally {
    await client.end();
  }
}
