import { expect } from 'chai';
import { createDatabase, migrate, withTransaction, type Sequelize } from '../src/db.ts';
import { enqueueEvent, outboxMigrations } from '../src/outbox.ts';
import { createTestDatabase, dropTestDatabase } from '../src/testing/harness.ts';

describe('platform/outbox (real Postgres)', () => {
  let url: string;
  let db: Sequelize;
  before(async function () {
    url = await createTestDatabase(this, 'outbox');
    db = createDatabase(url);
    await migrate(db, outboxMigrations);
  });
  after(async () => {
    await db?.close();
    if (url) await dropTestDatabase(url);
  });

  it('stores the event only when its transaction commits', async () => {
    await withTransaction(db, (t) => enqueueEvent(db, t, { type: 'test.committed', aggregateId: 'a1', payload: { n: 1 } }));
    try {
      await withTransaction(db, async (t) => {
        await enqueueEvent(db, t, { type: 'test.rolledback', aggregateId: 'a2', payload: { n: 2 } });
        throw new Error('state change failed');
      });
    } catch {
      /* expected */
    }
    const [rows] = await db.query('SELECT type FROM outbox ORDER BY seq');
    expect(rows.map((r: any) => r.type)).to.deep.equal(['test.committed']);
  });

  it('migrations are idempotent', async () => {
    expect(await migrate(db, outboxMigrations)).to.deep.equal([]);
  });
});
