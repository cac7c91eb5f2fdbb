// What one hold costs the database (issue 14), counted statement by statement (every statement is one round
// trip): the hold path reads once before its transaction, writes in three statements inside it, and never
// touches the events row; its change is numbered after commit by the sequencer's batch (shared with every
// change committed meanwhile). A regression that adds a round trip or a per-event lock fails here.
import { AsyncLocalStorage } from 'node:async_hooks';
import { expect } from 'chai';
import type { InventoryConfig } from '../src/config.ts';
import { dropDatabase, eventPayload, publishEvent, startInstance, suiteConfig, type Instance } from './helpers.ts';

describe('inventory: round trips of one hold (real Postgres + Redis)', function () {
  let config: InventoryConfig;
  let app: Instance;
  const scope = new AsyncLocalStorage<string[]>();

  before(async function () {
    // background loops far apart: only what the hold does is counted (and only inside its scope anyway)
    config = await suiteConfig(this, { EXPIRY_INTERVAL_MS: '600000', SSE_HEARTBEAT_MS: '300000' });
    app = await startInstance(config);
    app.deps.db.addHook('afterQuery', (_options, query) => {
      const sql = (query as unknown as { sql?: string } | undefined)?.sql; // AbstractQuery keeps the text it ran
      scope.getStore()?.push(String(sql ?? '').replace(/\s+/g, ' '));
    });
  });
  after(async () => {
    await app?.stop();
    await dropDatabase(config);
  });

  async function statementsOf(fn: () => Promise<unknown>): Promise<string[]> {
    const seen: string[] = [];
    await scope.run(seen, fn);
    return seen;
  }

  it('a two-seat hold: 1 statement before the transaction, 5 in it (none on the events row), 4 for the shared numbering batch', async () => {
    const ev = eventPayload({ seats: 10 });
    await publishEvent(app.deps, ev);
    await app.deps.holds.create('warm-up', { eventId: ev.eventId, seats: ['s009'] }); // connections, prepared state
    const sql = await statementsOf(() => app.deps.holds.create('u1', { eventId: ev.eventId, seats: ['s001', 's002'] }));
    const kinds = sql.map((s) =>
      /^START TRANSACTION/i.test(s)
        ? 'begin'
        : /^COMMIT/i.test(s)
          ? 'commit'
          : /pg_advisory_xact_lock_shared.*INSERT INTO holds/i.test(s)
            ? 'lock+hold'
            : /UPDATE seats.*INSERT INTO hold_seats.*INSERT INTO availability_changes/i.test(s)
              ? 'seats+hold_seats+change'
              : /INSERT INTO outbox/i.test(s)
                ? 'outbox'
                : /FROM events e WHERE event_id/i.test(s)
                  ? 'rules+known seats'
                  : /pg_advisory_xact_lock\(/i.test(s)
                    ? 'sequencer lock'
                    : /UPDATE events .*UPDATE availability_changes/i.test(s)
                      ? 'number changes'
                      : s.slice(0, 60),
    );
    expect(kinds).to.deep.equal([
      'rules+known seats',
      'begin',
      'lock+hold',
      'seats+hold_seats+change',
      'outbox',
      'commit',
      'begin',
      'sequencer lock',
      'number changes',
      'commit',
    ]);
  });

  it('a refused hold (a seat already held) rolls back after the seat statement and numbers nothing', async () => {
    const ev = eventPayload({ seats: 10 });
    await publishEvent(app.deps, ev);
    await app.deps.holds.create('u1', { eventId: ev.eventId, seats: ['s003'] });
    const sql = await statementsOf(() =>
      app.deps.holds.create('u2', { eventId: ev.eventId, seats: ['s003', 's004'] }).catch((err) => err),
    );
    expect(sql.map((s) => s.slice(0, 20))).to.have.length(6); // rules, begin, lock+hold, seats, status, rollback
    expect(sql.at(-1)).to.match(/^ROLLBACK/i);
    expect(sql.some((s) => /UPDATE events/i.test(s))).to.equal(false);
  });
});
