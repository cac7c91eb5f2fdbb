// The per-replica copy of an event's sale rules (use-cases/sale-rules.ts): kept for HOLD_RULES_CACHE_MS, read
// afresh near a sales window boundary (the database clock decides there), never kept for an unknown event.
// The database is a stand-in that counts reads and answers with a clock one hour ahead of this process's.
import { expect } from 'chai';
import type { Sequelize } from '@eventtickets/platform';
import { createSaleRulesCache } from '../src/use-cases/sale-rules.ts';

const HOUR = 3_600_000;

function fakeDb(row: (dbNow: Date) => Record<string, unknown> | undefined) {
  const db = {
    reads: 0,
    async query() {
      db.reads++;
      const found = row(new Date(Date.now() + HOUR));
      return found ? [found] : [];
    },
  };
  return db;
}

function rulesRow(dbNow: Date, opts: { status?: string; startsInMs?: number | null } = {}) {
  const start = opts.startsInMs === undefined || opts.startsInMs === null ? null : dbNow.getTime() + opts.startsInMs;
  return {
    status: opts.status ?? 'published',
    sales_start_at: start === null ? null : new Date(start),
    sales_end_at: null,
    reservation_minutes: 10,
    max_seats_per_order: 8,
    db_now: dbNow,
  };
}

describe('inventory: the sale rules copy', () => {
  it('answers from the copy within its TTL, with the database clock (the offset measured by the read)', async () => {
    const db = fakeDb((now) => rulesRow(now, { startsInMs: -HOUR }));
    const cache = createSaleRulesCache(db as unknown as Sequelize, 60_000);
    const first = await cache.get('ev-1');
    const second = await cache.get('ev-1');
    expect(db.reads).to.equal(1);
    expect(second!.rules).to.deep.equal(first!.rules);
    // the copy's now is the database's (an hour ahead here), not this process's clock
    expect(Math.abs(second!.dbNow.getTime() - (Date.now() + HOUR))).to.be.below(60_000);
  });

  it('reads every time with a TTL of 0, and never keeps an unknown event', async () => {
    const db = fakeDb((now) => rulesRow(now));
    const uncached = createSaleRulesCache(db as unknown as Sequelize, 0);
    await uncached.get('ev-1');
    await uncached.get('ev-1');
    expect(db.reads).to.equal(2);
    const none = fakeDb(() => undefined);
    const cache = createSaleRulesCache(none as unknown as Sequelize, 60_000);
    expect(await cache.get('ev-x')).to.equal(undefined);
    expect(await cache.get('ev-x')).to.equal(undefined);
    expect(none.reads).to.equal(2);
  });

  it('near a sales window boundary the rules are read again (the database clock decides), unless cancelled', async () => {
    const db = fakeDb((now) => rulesRow(now, { startsInMs: 0 })); // sales open right now, by the database clock
    const cache = createSaleRulesCache(db as unknown as Sequelize, 60_000);
    await cache.get('ev-1');
    await cache.get('ev-1');
    expect(db.reads).to.equal(2);
    const cancelled = fakeDb((now) => rulesRow(now, { status: 'cancelled', startsInMs: 0 }));
    const final = createSaleRulesCache(cancelled as unknown as Sequelize, 60_000);
    await final.get('ev-1');
    expect((await final.get('ev-1'))!.rules.status).to.equal('cancelled');
    expect(cancelled.reads).to.equal(1);
  });
});
