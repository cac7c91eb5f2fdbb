// ensureDatabase runs from several processes at once during `npm start` (the runner, and a service that ensures
// its own database while Postgres comes up): every caller must succeed whoever wins the CREATE DATABASE race
// (the loser gets 42P04, or 23505 on pg_database's name index when both checked before either committed).
import { expect } from 'chai';
import pg from 'pg';
import { ensureDatabase } from '../src/pg-admin.ts';
import { dropTestDatabase, requirePostgres, uniqueSuffix } from '../src/testing/harness.ts';

describe('platform/pg-admin: ensureDatabase under concurrent callers (real Postgres)', () => {
  const created: string[] = [];
  after(async () => {
    for (const url of created) await dropTestDatabase(url);
  });

  it('twelve concurrent calls for one new database all succeed, and the database exists once', async function () {
    const admin = requirePostgres(this);
    for (let round = 0; round < 3; round++) {
      const url = new URL(admin);
      url.pathname = `/t_pg_admin_race_${uniqueSuffix()}`;
      created.push(url.toString());
      const outcomes = await Promise.allSettled(Array.from({ length: 12 }, () => ensureDatabase(url.toString())));
      expect(
        outcomes.filter((o) => o.status === 'rejected').map((o) => String((o as PromiseRejectedResult).reason)),
      ).to.deep.equal([]);
      const client = new pg.Client({ connectionString: admin });
      await client.connect();
      try {
        const found = await client.query('SELECT count(*)::int AS n FROM pg_database WHERE datname = $1', [
          url.pathname.slice(1),
        ]);
        expect(found.rows[0].n).to.equal(1);
      } finally {
        await client.end();
      }
    }
  });
});
