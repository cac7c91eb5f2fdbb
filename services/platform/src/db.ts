// Database: a Sequelize (pg) factory, per-service migrations with umzug, a transaction helper and the
// readiness check that says the schema is current.
import pg from 'pg';
import { Sequelize, Transaction, QueryTypes } from 'sequelize';
import { Umzug, SequelizeStorage } from 'umzug';

export { Sequelize, Transaction, QueryTypes };

export interface Migration {
  name: string;
  up: (db: Sequelize) => Promise<unknown>;
  down?: (db: Sequelize) => Promise<unknown>;
}

export function createDatabase(url: string, opts: { poolMax?: number } = {}): Sequelize {
  return new Sequelize(url, {
    dialect: 'postgres',
    dialectModule: pg,
    logging: false,
    pool: { max: opts.poolMax ?? 10, min: 0, idle: 10_000, acquire: 30_000 },
    define: { underscored: true },
  });
}

function umzugFor(db: Sequelize, migrations: Migration[]): Umzug<Sequelize> {
  return new Umzug({
    migrations: migrations.map((m) => ({ name: m.name, up: async () => m.up(db), down: async () => m.down?.(db) })),
    context: db,
    storage: new SequelizeStorage({ sequelize: db, tableName: 'schema_migrations' }),
    logger: undefined,
  });
}

/** Applies pending migrations in order; concurrent starters are serialised by an advisory lock. */
export async function migrate(db: Sequelize, migrations: Migration[]): Promise<string[]> {
  const umzug = umzugFor(db, migrations);
  const lockKey = 727_001;
  const conn = await (db.connectionManager as any).getConnection();
  try {
    await conn.query('SELECT pg_advisory_lock($1)', [lockKey]);
    const applied = await umzug.up();
    return applied.map((m) => m.name);
  } finally {
    await conn.query('SELECT pg_advisory_unlock($1)', [lockKey]).catch(() => undefined);
    (db.connectionManager as any).releaseConnection(conn);
  }
}

export async function pendingMigrations(db: Sequelize, migrations: Migration[]): Promise<string[]> {
  return (await umzugFor(db, migrations).pending()).map((m) => m.name);
}

/** Readiness: the database answers and no migration is pending. */
export function databaseReadiness(db: Sequelize, migrations: Migration[]) {
  return {
    database: async () => {
      await db.query('SELECT 1');
    },
    migrations: async () => {
      const pending = await pendingMigrations(db, migrations);
      if (pending.length) throw new Error(`pending migrations: ${pending.join(', ')}`);
    },
  };
}

/** Runs fn in one transaction (committed if it resolves, rolled back if it throws). */
export function withTransaction<T>(db: Sequelize, fn: (t: Transaction) => Promise<T>, opts: { isolationLevel?: Transaction.ISOLATION_LEVELS } = {}): Promise<T> {
  return db.transaction({ isolationLevel: opts.isolationLevel }, fn);
}

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
        if ((err as { code?: string }).code !== '42P04') throw err; // created concurrently
      }
    }
  } finally {
    await client.end();
  }
}
