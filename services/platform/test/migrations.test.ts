import { expect } from 'chai';
import { createDatabase, migrate, pendingMigrations, QueryTypes, type Migration, type Sequelize } from '../src/db.ts';
import { createTestDatabase, dropTestDatabase } from '../src/testing/harness.ts';

const tables = (db: Sequelize) =>
  db
    .query<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1", {
      type: QueryTypes.SELECT,
    })
    .then((rows) => rows.map((r) => r.name));
const recorded = (db: Sequelize) =>
  db
    .query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name', { type: QueryTypes.SELECT })
    .then((rows) => rows.map((r) => r.name));

describe('platform/db: migrations, each atomic with its record (real Postgres)', () => {
  let url: string;
  const open: Sequelize[] = [];
  const connect = (poolMax = 1) => {
    const db = createDatabase(url, { poolMax });
    open.push(db);
    return db;
  };

  beforeEach(async function () {
    url = await createTestDatabase(this, 'migrations');
  });
  afterEach(async () => {
    for (const db of open.splice(0)) await db.close();
    await dropTestDatabase(url);
  });

  it('a migration that fails half-way leaves neither its first statements nor its record; the fixed one applies next start', async () => {
    const db = connect();
    const first: Migration = {
      name: '0001-accounts',
      up: (tx) => tx.query('CREATE TABLE accounts (id text PRIMARY KEY)'),
    };
    const broken: Migration = {
      name: '0002-balances',
      up: async (tx) => {
        await tx.query('CREATE TABLE balances (account_id text PRIMARY KEY REFERENCES accounts (id))');
        await tx.query('ALTER TABLE accounts ADD COLUMN opened_at timestamptz NOT NULL DEFAULT now()');
        await tx.query('CREATE INDEX ON balances (no_such_column)'); // the mistake
      },
    };
    let failure: unknown;
    await migrate(db, [first, broken]).catch((err: unknown) => {
      failure = err;
    });
    expect(String(failure)).to.match(/no_such_column/);
    expect(await tables(db)).to.deep.equal(['accounts', 'schema_migrations']);
    expect(await recorded(db)).to.deep.equal(['0001-accounts']);
    const columns = await db.query<{ name: string }>(
      "SELECT column_name AS name FROM information_schema.columns WHERE table_name = 'accounts'",
      { type: QueryTypes.SELECT },
    );
    expect(
      columns.map((c) => c.name),
      'the ALTER before the failing statement was rolled back too',
    ).to.deep.equal(['id']);
    expect(await pendingMigrations(db, [first, broken])).to.deep.equal(['0002-balances']);

    const fixed: Migration = {
      name: '0002-balances',
      up: async (tx) => {
        await tx.query('CREATE TABLE balances (account_id text PRIMARY KEY REFERENCES accounts (id))');
        await tx.query('ALTER TABLE accounts ADD COLUMN opened_at timestamptz NOT NULL DEFAULT now()');
      },
    };
    expect(await migrate(db, [first, fixed])).to.deep.equal(['0002-balances']);
    expect(await tables(db)).to.deep.equal(['accounts', 'balances', 'schema_migrations']);
    expect(await pendingMigrations(db, [first, fixed])).to.deep.equal([]);
    expect(await migrate(db, [first, fixed])).to.deep.equal([]);
  });

  it('reports everything pending on a database never migrated, without creating anything', async () => {
    const db = connect();
    const all: Migration[] = [
      { name: '0001-a', up: (tx) => tx.query('CREATE TABLE a (id int)') },
      { name: '0002-b', up: (tx) => tx.query('CREATE TABLE b (id int)') },
    ];
    expect(await pendingMigrations(db, all)).to.deep.equal(['0001-a', '0002-b']);
    expect(await tables(db)).to.deep.equal([]);
  });

  it('three replicas starting at once (one connection each) apply every migration exactly once', async () => {
    const runs: string[] = [];
    // not idempotent on purpose: a second run of any of them would fail with "already exists"
    const all: Migration[] = ['0001-a', '0002-b', '0003-c'].map((name) => ({
      name,
      up: async (tx) => {
        runs.push(name);
        await tx.query(`CREATE TABLE ${name.slice(5)} (id int)`);
        await tx.query('SELECT pg_sleep(0.05)'); // widen the window in which another replica could interleave
      },
    }));
    const replicas = [connect(), connect(), connect()];
    const results = await Promise.all(replicas.map((db) => migrate(db, all)));
    expect(runs.sort()).to.deep.equal(['0001-a', '0002-b', '0003-c']);
    expect(results.flat().sort()).to.deep.equal(['0001-a', '0002-b', '0003-c']);
    expect(await recorded(replicas[0])).to.deep.equal(['0001-a', '0002-b', '0003-c']);
  });

  it('keeps the record of databases migrated before (the schema_migrations table umzug created)', async () => {
    const db = connect();
    await db.query('CREATE TABLE schema_migrations (name varchar(255) NOT NULL PRIMARY KEY); CREATE TABLE a (id int)');
    await db.query("INSERT INTO schema_migrations (name) VALUES ('0001-a')");
    const all: Migration[] = [
      { name: '0001-a', up: (tx) => tx.query('CREATE TABLE a (id int)') },
      { name: '0002-b', up: (tx) => tx.query('CREATE TABLE b (id int)') },
    ];
    expect(await migrate(db, all)).to.deep.equal(['0002-b']);
    expect(await recorded(db)).to.deep.equal(['0001-a', '0002-b']);
  });
});
