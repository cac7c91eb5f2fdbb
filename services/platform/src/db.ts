// Database: a Sequelize (pg) factory, per-service migrations (each in a transaction), a transaction
// helper and the readiness check that says the schema is current.
import pg from 'pg';
import { Sequelize, Transaction, QueryTypes } from 'sequelize';

export { Sequelize, Transaction, QueryTypes };

/** What a migration runs its SQL through: the one transaction that also records the migration as applied. */
export interface MigrationSql {
  query: (sql: string) => Promise<unknown>;
}

export interface Migration {
  name: string;
  up: (tx: MigrationSql) => Promise<unknown>;
  down?: (tx: MigrationSql) => Promise<unknown>;
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

// Every replica of every service migrating its own database takes this transaction-scoped lock, so
// concurrent starters apply each migration once: the others wait, then find it recorded.
const MIGRATION_LOCK = 727_001;

async function appliedNames(db: Sequelize): Promise<string[]> {
  const [table] = await db.query<{ name: string | null }>("SELECT to_regclass('schema_migrations') AS name", {
    type: QueryTypes.SELECT,
  });
  if (!table?.name) return []; // never migrated: all pending, and readiness creates nothing
  const rows = await db.query<{ name: string }>('SELECT name FROM schema_migrations', { type: QueryTypes.SELECT });
  return rows.map((r) => r.name);
}

/**
 * The pending migrations are those of the list, in its order, not recorded in schema_migrations (the table
 * umzug's SequelizeStorage created before, same shape; umzug itself is not loaded any more: a service process
 * only needs this much of it). Each one runs in one transaction that also writes its schema_migrations row, so
 * a migration that fails or a process killed mid-way leaves neither its changes nor its record.
 */
function pendingOf(migrations: Migration[], applied: string[]): Migration[] {
  const names = new Set<string>();
  for (const m of migrations) {
    if (names.has(m.name)) throw new Error(`migration name ${m.name} is listed twice`);
    names.add(m.name);
  }
  const done = new Set(applied);
  return migrations.filter((m) => !done.has(m.name));
}

/** Runs one migration unless another replica recorded it while this one waited for the lock; true if it ran. */
async function applyOne(db: Sequelize, migration: Migration): Promise<boolean> {
  return db.transaction(async (transaction) => {
    await db.query('SELECT pg_advisory_xact_lock($1)', { bind: [MIGRATION_LOCK], transaction });
    await db.query('CREATE TABLE IF NOT EXISTS schema_migrations (name varchar(255) PRIMARY KEY)', { transaction });
    // another replica may have applied it while this one waited for the lock
    const recorded = await db.query('SELECT 1 FROM schema_migrations WHERE name = $1', {
      type: QueryTypes.SELECT,
      bind: [migration.name],
      transaction,
    });
    if (recorded.length) return false;
    await migration.up({ query: (sql) => db.query(sql, { transaction }) });
    await db.query('INSERT INTO schema_migrations (name) VALUES ($1)', { bind: [migration.name], transaction });
    return true;
  });
}

/** Applies pending migrations in order; returns the names this call applied (not those another replica did). */
export async function migrate(db: Sequelize, migrations: Migration[]): Promise<string[]> {
  const ran: string[] = [];
  for (const migration of pendingOf(migrations, await appliedNames(db)))
    if (await applyOne(db, migration)) ran.push(migration.name);
  return ran;
}

export async function pendingMigrations(db: Sequelize, migrations: Migration[]): Promise<string[]> {
  return pendingOf(migrations, await appliedNames(db)).map((m) => m.name);
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
export function withTransaction<T>(
  db: Sequelize,
  fn: (t: Transaction) => Promise<T>,
  opts: { isolationLevel?: Transaction.ISOLATION_LEVELS } = {},
): Promise<T> {
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
