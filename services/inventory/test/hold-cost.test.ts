// What one hold costs the database (issue 14), counted statement by statement (every statement is one round
// trip): a granted seats-only hold writes everything in ONE call of inventory_hold_seats (its own transaction),
// its event's sale rules coming from the replica's copy (read once per HOLD_RULES_CACHE_MS), and never touches
// the events row; its change is numbered after commit by the sequencer's batch (one call, shared with every
// change committed meanwhile). A refused one reads which of its seats are unknown. A regression that adds a
// round trip or a per-event lock fails here.
import { AsyncLocalStorage } from 'node:async_hooks';
import { withTransaction } from '@eventtickets/platform';
import { waitFor } from '@eventtickets/platform/testing';
import { expect } from 'chai';
import pg from 'pg';
import type { InventoryConfig } from '../src/config.ts';
import { holdSeatsInBatch } from '../src/db/seats.ts';
import { cancelEvent } from '../src/use-cases/materialise.ts';
import {
  dropDatabase,
  eventPayload,
  publishEvent,
  query,
  startInstance,
  suiteConfig,
  type Instance,
} from './helpers.ts';

describe('inventory: round trips of one hold (real Postgres + Redis)', function () {
  let config: InventoryConfig;
  let app: Instance;
  const scope = new AsyncLocalStorage<string[]>();
  const originalQuery = pg.Client.prototype.query;

  before(async function () {
    // background loops far apart: only what the hold does is counted (and only inside its scope anyway)
    // (the rules copy kept for the whole suite: whether a read happens must not depend on the machine's speed)
    config = await suiteConfig(this, {
      EXPIRY_INTERVAL_MS: '600000',
      SSE_HEARTBEAT_MS: '300000',
      HOLD_RULES_CACHE_MS: '60000',
      // the full path's round trips (taken-seats.test.ts counts the refusals the view answers: none)
      HOLD_TAKEN_SEATS_VIEW: 'false',
    });
    app = await startInstance(config);
    // Counted where every statement leaves: the pg client (Sequelize's queries and the direct hot-path ones).
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const q = args[0] as string | { text?: string };
      scope.getStore()?.push(String(typeof q === 'string' ? q : q?.text).replace(/\s+/g, ' '));
      return (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof pg.Client.prototype.query;
  });
  after(async () => {
    pg.Client.prototype.query = originalQuery;
    await app?.stop();
    await dropDatabase(config);
  });

  /** The statements fn sent, without a new pool connection's own set-up (Sequelize's SET commands on connect):
   *  whether the pool opens one during fn depends on the machine's speed, not on the hold. */
  async function statementsOf(fn: () => Promise<unknown>): Promise<string[]> {
    const seen: string[] = [];
    await scope.run(seen, fn);
    return seen.filter((s) => !/^SET client_min_messages/i.test(s));
  }

  function kindOf(s: string): string {
    return /^START TRANSACTION/i.test(s)
      ? 'begin'
      : /^COMMIT/i.test(s)
        ? 'commit'
        : /^ROLLBACK/i.test(s)
          ? 'rollback'
          : /SELECT inventory_hold_seats\(/i.test(s)
            ? 'hold function'
            : /SELECT inventory_hold_seats_batch\(/i.test(s)
              ? 'batch function'
              : /SELECT inventory_number_changes\(/i.test(s)
                ? 'numbering function'
                : /pg_advisory_xact_lock_shared.*INSERT INTO holds/i.test(s)
                  ? 'lock+hold'
                  : /UPDATE seats.*INSERT INTO hold_seats/i.test(s)
                    ? 'seats+hold_seats'
                    : /INSERT INTO availability_changes/i.test(s)
                      ? 'change'
                      : /INSERT INTO outbox/i.test(s)
                        ? 'outbox'
                        : /^SELECT status, sales_start_at.* FROM events WHERE event_id/i.test(s)
                          ? 'rules'
                          : /^SELECT seat_id FROM seats WHERE event_id = \$1 AND seat_id = ANY/i.test(s)
                            ? 'known seats'
                            : s.slice(0, 60);
  }

  it('a two-seat hold: 1 call of the batch function (its own transaction), 1 for the shared numbering batch; the first hold of an event also reads its rules', async () => {
    const ev = eventPayload({ seats: 10 });
    await publishEvent(app.deps, ev);
    const first = await statementsOf(() => app.deps.holds.create('warm-up', { eventId: ev.eventId, seats: ['s009'] }));
    expect(first.map(kindOf)).to.deep.equal(['rules', 'batch function', 'numbering function']);
    const sql = await statementsOf(() => app.deps.holds.create('u1', { eventId: ev.eventId, seats: ['s001', 's002'] }));
    expect(sql.map(kindOf)).to.deep.equal(['batch function', 'numbering function']);
    // ... and it wrote what the transactional path writes: hold, seats, hold_seats, change (numbered), outbox.
    const [hold] = await query(app.deps, "SELECT hold_id, status FROM holds WHERE user_id = 'u1'");
    expect(hold.status).to.equal('active');
    const seats = await query(
      app.deps,
      'SELECT seat_id, status, hold_id FROM seats WHERE event_id = $1 AND hold_id = $2 ORDER BY seat_id',
      [ev.eventId, hold.hold_id],
    );
    expect(seats.map((r: { seat_id: string; status: string }) => [r.seat_id, r.status])).to.deep.equal([
      ['s001', 'held'],
      ['s002', 'held'],
    ]);
    const owned = await query(app.deps, 'SELECT seat_id FROM hold_seats WHERE hold_id = $1 ORDER BY seat_id', [
      hold.hold_id,
    ]);
    expect(owned.map((r: { seat_id: string }) => r.seat_id)).to.deep.equal(['s001', 's002']);
    const changes = await query(
      app.deps,
      'SELECT seq, change FROM availability_changes WHERE event_id = $1 ORDER BY id',
      [ev.eventId],
    );
    expect(changes.at(-1).change).to.deep.equal({
      eventId: ev.eventId,
      seq: 2,
      seats: { s001: 'held', s002: 'held' },
      ga: [],
    });
    const [outbox] = await query(app.deps, 'SELECT type, payload FROM outbox WHERE aggregate_id = $1', [hold.hold_id]);
    expect(outbox).to.deep.equal({
      type: 'hold.created',
      payload: { holdId: hold.hold_id, eventId: ev.eventId, userId: 'u1', seats: ['s001', 's002'], ga: [] },
    });
  });

  it('a refused hold (a seat already held): the batch function alone (it names unknown seats too); writes nothing and numbers nothing', async () => {
    const ev = eventPayload({ seats: 10 });
    await publishEvent(app.deps, ev);
    await app.deps.holds.create('u1', { eventId: ev.eventId, seats: ['s003'] });
    let refusal: unknown;
    const err = await statementsOf(() =>
      app.deps.holds.create('u2', { eventId: ev.eventId, seats: ['s003', 's004'] }).catch((e) => (refusal = e)),
    );
    expect(err.map(kindOf)).to.deep.equal(['batch function']);
    expect((refusal as { slug?: string }).slug).to.equal('seats-unavailable');
    expect(await query(app.deps, "SELECT 1 FROM holds WHERE user_id = 'u2'")).to.deep.equal([]);
    expect(
      (await query(app.deps, "SELECT status FROM seats WHERE event_id = $1 AND seat_id = 's004'", [ev.eventId]))[0]
        .status,
    ).to.equal('available');
  });

  it('a hold with GA places or an Idempotency-Key keeps the transaction: read, begin, lock+hold, writes, outbox, commit', async () => {
    const ev = eventPayload({ seats: 10 });
    await publishEvent(app.deps, ev);
    await app.deps.holds.create('warm-up', { eventId: ev.eventId, seats: ['s009'] });
    const sql = await statementsOf(() =>
      app.deps.holds.create('u3', { eventId: ev.eventId, seats: ['s005', 's006'] }, 'key-hold-cost-1'),
    );
    const kinds = sql.map(kindOf);
    expect(kinds.slice(0, 2)).to.deep.equal([
      'SELECT request_hash, status, response FROM idempotency_keys ',
      'known seats',
    ]);
    expect(kinds).to.include.members(['begin', 'lock+hold', 'seats+hold_seats', 'commit', 'numbering function']);
    expect(kinds.some((k) => /UPDATE events/i.test(k))).to.equal(false);
  });

  it('an unknown seat: 422 unknown-seats named by the batch function’s refusal, nothing written', async () => {
    const ev = eventPayload({ seats: 10 });
    await publishEvent(app.deps, ev);
    await app.deps.holds.create('warm-up', { eventId: ev.eventId, seats: ['s009'] });
    const err = await app.deps.holds.create('u4', { eventId: ev.eventId, seats: ['s001', 'nope'] }).catch((e) => e);
    expect([err.status, err.slug, err.extensions?.unknownSeats]).to.deep.equal([422, 'unknown-seats', ['nope']]);
    expect(await query(app.deps, "SELECT 1 FROM holds WHERE user_id = 'u4'")).to.deep.equal([]);
  });

  it('a cancelled event refuses holds although the replica’s copy of its rules still says published', async () => {
    const ev = eventPayload({ seats: 10 });
    await publishEvent(app.deps, ev);
    await app.deps.holds.create('warm-up', { eventId: ev.eventId, seats: ['s009'] }); // the copy: published
    await withTransaction(app.deps.db, (t) => cancelEvent(app.deps.db, t, ev.eventId, app.deps.hub.publish));
    for (const key of [undefined, 'key-hold-cost-cancelled']) {
      const sql: string[] = [];
      const err = await scope.run(sql, () =>
        app.deps.holds.create('u5', { eventId: ev.eventId, seats: ['s001', 's002'] }, key).catch((e) => e),
      );
      expect([err.status, err.slug], `with key ${key}`).to.deep.equal([409, 'event-cancelled']);
      expect(sql.map(kindOf)).to.not.include('rules'); // the copy answered: the write itself refused
    }
    expect(await query(app.deps, "SELECT 1 FROM holds WHERE user_id = 'u5'")).to.deep.equal([]);
  });
  it('with HOLD_BATCH_MAX 0 (group commit off): the one-hold function and the numbering; a refusal adds the unknown-seats read', async () => {
    const off = await startInstance({ ...config, HOLD_BATCH_MAX: 0 });
    try {
      const ev = eventPayload({ seats: 10 });
      await publishEvent(off.deps, ev);
      await off.deps.holds.create('warm-up', { eventId: ev.eventId, seats: ['s009'] });
      const sql = await statementsOf(() =>
        off.deps.holds.create('o1', { eventId: ev.eventId, seats: ['s001', 's002'] }),
      );
      expect(sql.map(kindOf)).to.deep.equal(['hold function', 'numbering function']);
      const refused = await statementsOf(() =>
        off.deps.holds.create('o2', { eventId: ev.eventId, seats: ['s002', 's003'] }).catch(() => undefined),
      );
      expect(refused.map(kindOf)).to.deep.equal(['hold function', 'known seats']);
    } finally {
      await off.stop();
    }
  });

  it('a batch: 11 holds arriving while the one slot is busy cost at most 2 calls of the batch function and 2 numbering batches', async () => {
    // one slot, kept busy by a hold parked in front of the call until the 10 others have queued behind it
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let calls: number[] = [];
    let arrived = 0;
    let armed = false;
    const batched = await startInstance(
      { ...config, HOLD_BATCH_SLOTS: 1 },
      {
        holdBatchWrite: async (db, holds) => {
          calls.push(holds.length);
          if (armed) {
            armed = false;
            await gate;
          }
          return holdSeatsInBatch(db, holds);
        },
        hooks: {
          beforeWrite: async () => {
            arrived++;
          },
        },
      },
    );
    try {
      const ev = eventPayload({ seats: 30 });
      await publishEvent(batched.deps, ev);
      await batched.deps.holds.create('warm-up', { eventId: ev.eventId, seats: ['s030'] }); // the rules copy
      calls = [];
      arrived = 0;
      armed = true;
      const seen: string[] = [];
      const all = scope.run(seen, () =>
        Promise.all(
          Array.from({ length: 11 }, (_, i) =>
            batched.deps.holds.create(`q${i}`, { eventId: ev.eventId, seats: [`s0${10 + i}`] }),
          ),
        ),
      );
      await waitFor('all 11 holds at the write (1 parked, 10 queued)', () => arrived === 11);
      release();
      const created = await all;
      expect(created.map((c) => c.status)).to.deep.equal(Array(11).fill(201));
      const kinds = seen.filter((q) => !/^SET client_min_messages/i.test(q)).map(kindOf);
      // the first call took every hold already at the write in its event-loop turn; the rest queued behind it
      expect(calls.length).to.be.within(1, 2);
      expect(calls.reduce((a, b) => a + b)).to.equal(11);
      expect(kinds.filter((k) => k === 'batch function').length).to.equal(calls.length);
      expect(kinds.filter((k) => k === 'numbering function').length).to.be.within(1, calls.length);
      expect(kinds.filter((k) => k !== 'batch function' && k !== 'numbering function')).to.deep.equal([]);
    } finally {
      await batched.stop();
    }
  });
});
