// Database: a Sequelize (pg) factory, per-service migrations (each in a transaction), a transaction
// helper and the readiness check that says the schema is current.
import pg from 'pg';
import { Sequelize, Transaction, QueryTypes } from 'sequelize';

export { Sequelize, Transaction, QueryTypes };
// pg only, so that a process that only creates databases (the local stack runner) does not load Sequelize
export { ensureDatabase } from './pg-admin.ts';

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

/** Postgres is not there yet: the connection is refused (not listening), it is starting up (57P03), or this
 *  database is not created yet (3D000). Anything else (a wrong password, a bad host name) is not waited for. */
function notThereYet(err: unknown): boolean {
  type Cause = { code?: unknown; original?: unknown; parent?: unknown; cause?: unknown };
  let e = err as Cause | undefined;
  for (let depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    if (typeof e.code === 'string' && ['ECONNREFUSED', '57P03', '3D000'].includes(e.code)) return true;
    e = (e.original ?? e.parent ?? e.cause) as Cause | undefined;
  }
  return false;
}

export interface WaitOptions {
  /** How long a database that is not there yet is waited for (default 30 s); then its error is thrown. */
  waitMs?: number;
  /** Called once, when the first attempt found it not there yet. */
  onWait?: (err: unknown) => void;
}

/**
 * Waits until the database takes connections: a service started together with its Postgres (the local stack
 * starts them at once, issue 19; a pod before its database) waits for it instead of failing its start.
 */
export async function waitForDatabase(db: Sequelize, opts: WaitOptions = {}): Promise<void> {
  const deadline = Date.now() + (opts.waitMs ?? 30_000);
  for (let told = false; ;) {
    try {
      await db.query('SELECT 1');
      return;
    } catch (err) {
      if (!notThereYet(err) || Date.now() >= deadline) throw err;
      if (!told) opts.onWait?.(err);
      told = true;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Applies pending migrations in order; returns the names this call applied (not those another replica did).
 *  A database that is not there yet is waited for first (waitForDatabase). */
export async function migrate(db: Sequelize, migrations: Migration[], opts: WaitOptions = {}): Promise<string[]> {
  await waitForDatabase(db, opts);
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
