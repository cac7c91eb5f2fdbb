// Group commit of the one-statement holds (issue 14, use-cases/hold-batch.ts, migration 0007): holds that queued
// while every batch slot was busy are written by ONE call of inventory_hold_seats_batch, each with the answer it
// would have had alone and in arrival order. The one slot (HOLD_BATCH_SLOTS=1) is kept busy by a hold parked at a
// gate in front of the call (the test seam wraps the real call), so what queues behind it is one batch; a no-op
// locker lets requests for the same seat reach the batch together (Redlock is not what is tested here).
import { expect } from 'chai';
import { withTransaction, type Locker, type Sequelize } from '@eventtickets/platform';
import { waitFor } from '@eventtickets/platform/testing';
import type { InventoryConfig } from '../src/config.ts';
import { holdSeatsInBatch, type BatchedSeatHold } from '../src/db/seats.ts';
import { cancelEvent } from '../src/use-cases/materialise.ts';
import { createSeatHoldBatcher } from '../src/use-cases/hold-batch.ts';
import {
  buyer,
  dropDatabase,
  noLock,
  eventPayload,
  publishEvent,
  query,
  startInstance,
  suiteConfig,
  type CallResult,
  type Instance,
} from './helpers.ts';

/** The call of the batch, wrapped: every call's holds recorded; the next call can be parked at a gate or fail. */
function controlledWrite() {
  const calls: BatchedSeatHold[][] = [];
  let gate: Promise<void> | undefined;
  let openGate: (() => void) | undefined;
  let parked = false;
  let failNext: ((holds: BatchedSeatHold[]) => Error | undefined) | undefined;
  return {
    calls,
    get parked() {
      return parked;
    },
    /** The next call waits until open() (it keeps the one slot busy meanwhile). */
    park() {
      gate = new Promise<void>((r) => (openGate = r));
    },
    open() {
      openGate?.();
    },
    /** Calls for which `fail` returns an error throw it instead of reaching the database. */
    failWhen(fail: ((holds: BatchedSeatHold[]) => Error | undefined) | undefined) {
      failNext = fail;
    },
    write: async (db: Sequelize, holds: BatchedSeatHold[]) => {
      calls.push(holds);
      if (gate) {
        const g = gate;
        gate = undefined;
        parked = true;
        await g;
        parked = false;
      }
      const err = failNext?.(holds);
      if (err) throw err;
      return holdSeatsInBatch(db, holds);
    },
  };
}

describe('inventory: group commit of seats-only holds (real Postgres + Redis)', function () {
  let config: InventoryConfig;
  let app: Instance;
  const ctl = controlledWrite();
  let arrived = 0;
  /** The keys of every lock taken (a no-op locker that records). */
  const locked: string[][] = [];
  const recordingLock: Locker = {
    withLocks: (keys, ttl, fn) => {
      locked.push([...keys].sort());
      return noLock.withLocks(keys, ttl, fn);
    },
  };

  before(async function () {
    config = await suiteConfig(this, {
      HOLD_BATCH_SLOTS: '1',
      HOLD_BATCH_MAX: '64',
      HOLD_RULES_CACHE_MS: '60000',
      EXPIRY_INTERVAL_MS: '600000',
    });
    app = await startInstance(config, {
      locker: recordingLock,
      holdBatchWrite: ctl.write,
      hooks: {
        beforeWrite: async () => {
          arrived++;
        },
      },
    });
  });
  afterEach(() => {
    ctl.failWhen(undefined);
    ctl.open();
  });
  after(async () => {
    await app?.stop();
    await dropDatabase(config);
  });

  function hold(userId: string, eventId: string, seats: string[]): Promise<CallResult> {
    return app.call('POST', '/api/holds', { as: buyer(userId), body: { eventId, seats } });
  }

  /** Parks a blocker hold at the gate, sends `requests` (they queue behind it), then opens the gate; returns the
   *  answers in request order and the size of the call that wrote them. */
  async function oneBatch(
    eventId: string,
    requests: { userId: string; eventId?: string; seats: string[] }[],
    send: (r: { userId: string; eventId: string; seats: string[] }) => Promise<CallResult> = (r) =>
      hold(r.userId, r.eventId, r.seats),
  ): Promise<{ results: CallResult[]; blocker: CallResult; batchSizes: number[] }> {
    const before = ctl.calls.length;
    ctl.park();
    const blocker = hold('blocker', eventId, ['s050']);
    await waitFor('the blocker parked at the gate', () => ctl.parked);
    const start = arrived;
    const pending = requests.map((r) => send({ ...r, eventId: r.eventId ?? eventId }));
    // from beforeWrite to the queue is synchronous: once every request passed it, they are all queued
    await waitFor('every request queued behind it', () => arrived - start >= requests.length);
    ctl.open();
    const results = await Promise.all(pending);
    return {
      results,
      blocker: await blocker,
      batchSizes: ctl.calls.slice(before).map((c) => c.length),
    };
  }

  it('holds queued behind a busy slot are one call; every answer goes to its own request', async () => {
    const ev = eventPayload({ seats: 50 });
    await publishEvent(app.deps, ev);
    const requests = Array.from({ length: 8 }, (_, i) => ({
      userId: `b${i}`,
      seats: [`s0${10 + 2 * i}`, `s0${11 + 2 * i}`],
    }));
    const { results, blocker, batchSizes } = await oneBatch(ev.eventId, requests);
    expect(batchSizes).to.deep.equal([1, 8]);
    expect(blocker.status).to.equal(201);
    results.forEach((res, i) => {
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect(res.body.userId).to.equal(`b${i}`);
      expect(res.body.seats.map((s: { seatId: string }) => s.seatId)).to.deep.equal(requests[i]!.seats);
    });
    // each hold its own rows: hold, seats, hold_seats, one change and one outbox row
    for (const [i, res] of results.entries()) {
      const seats = await query(app.deps, 'SELECT seat_id FROM seats WHERE hold_id = $1 ORDER BY seat_id', [
        res.body.id,
      ]);
      expect(seats.map((r: { seat_id: string }) => r.seat_id)).to.deep.equal(requests[i]!.seats);
      const owned = await query(app.deps, 'SELECT seat_id FROM hold_seats WHERE hold_id = $1 ORDER BY seat_id', [
        res.body.id,
      ]);
      expect(owned.length).to.equal(2);
      const outbox = await query(app.deps, 'SELECT type, payload FROM outbox WHERE aggregate_id = $1', [res.body.id]);
      expect(outbox).to.deep.equal([
        {
          type: 'hold.created',
          payload: { holdId: res.body.id, eventId: ev.eventId, userId: `b${i}`, seats: requests[i]!.seats, ga: [] },
        },
      ]);
    }
    // one change per hold, numbered (before the 201s) in arrival order
    const unnumbered = await query(
      app.deps,
      'SELECT count(*)::int AS n FROM availability_changes WHERE event_id = $1 AND seq IS NULL',
      [ev.eventId],
    );
    expect(unnumbered[0].n).to.equal(0);
    const logged = await query(app.deps, 'SELECT change FROM availability_changes WHERE event_id = $1 ORDER BY seq', [
      ev.eventId,
    ]);
    expect(
      logged.slice(-9).map((c: { change: { seats: Record<string, string> } }) => Object.keys(c.change.seats)),
    ).to.deep.equal([['s050'], ...requests.map((r) => r.seats)]);
  });

  it('two holds of one batch wanting the same seat: the first gets it, the second is a 409 naming only that seat', async () => {
    const ev = eventPayload({ seats: 50 });
    await publishEvent(app.deps, ev);
    const { results, batchSizes } = await oneBatch(ev.eventId, [
      { userId: 'first', seats: ['s001', 's002'] },
      { userId: 'second', seats: ['s002', 's003'] },
      { userId: 'third', seats: ['s003', 's004'] },
    ]);
    expect(batchSizes).to.deep.equal([1, 3]);
    expect(results.map((r) => r.status)).to.deep.equal([201, 409, 201]);
    expect(results[1]!.body.type).to.equal('https://eventtickets.dev/problems/seats-unavailable');
    expect(results[1]!.body.unavailableSeats).to.deep.equal(['s002']); // s003 was still available at its turn
    expect(await query(app.deps, "SELECT 1 FROM holds WHERE user_id = 'second'")).to.deep.equal([]);
    const seats = await query(
      app.deps,
      "SELECT s.seat_id, h.user_id FROM seats s JOIN holds h USING (hold_id) WHERE s.event_id = $1 AND s.seat_id IN ('s001','s002','s003','s004') ORDER BY s.seat_id",
      [ev.eventId],
    );
    expect(seats.map((r: { seat_id: string; user_id: string }) => [r.seat_id, r.user_id])).to.deep.equal([
      ['s001', 'first'],
      ['s002', 'first'],
      ['s003', 'third'],
      ['s004', 'third'],
    ]);
  });

  it('a cancelled event in a mixed batch: that hold is 409 event-cancelled, the others are granted', async () => {
    const live = eventPayload({ seats: 50 });
    const cancelled = eventPayload({ seats: 50 });
    await publishEvent(app.deps, live);
    await publishEvent(app.deps, cancelled);
    // the replica's copy of the rules says published (HOLD_RULES_CACHE_MS 60 s): only the write can refuse
    expect((await hold('warm-up', cancelled.eventId, ['s049'])).status).to.equal(201);
    await withTransaction(app.deps.db, (t) => cancelEvent(app.deps.db, t, cancelled.eventId, app.deps.hub.publish));
    const { results, batchSizes } = await oneBatch(live.eventId, [
      { userId: 'c1', seats: ['s001'] },
      { userId: 'c2', eventId: cancelled.eventId, seats: ['s001', 's002'] },
      { userId: 'c3', seats: ['s002'] },
    ]);
    expect(batchSizes).to.deep.equal([1, 3]);
    expect(results.map((r) => r.status)).to.deep.equal([201, 409, 201]);
    expect(results[1]!.body.type).to.equal('https://eventtickets.dev/problems/event-cancelled');
    expect(await query(app.deps, "SELECT 1 FROM holds WHERE user_id = 'c2'")).to.deep.equal([]);
  });

  it('unknown seats in a batch: 422 unknown-seats for that hold with no second round trip, the others granted', async () => {
    const ev = eventPayload({ seats: 50 });
    await publishEvent(app.deps, ev);
    const { results, batchSizes } = await oneBatch(ev.eventId, [
      { userId: 'u1', seats: ['s001'] },
      { userId: 'u2', seats: ['nope', 's002', 'zz-2'] },
      { userId: 'u3', seats: ['s002'] },
    ]);
    expect(batchSizes).to.deep.equal([1, 3]);
    expect(results.map((r) => r.status)).to.deep.equal([201, 422, 201]);
    expect(results[1]!.body.type).to.equal('https://eventtickets.dev/problems/unknown-seats');
    expect(results[1]!.body.unknownSeats).to.deep.equal(['nope', 'zz-2']);
  });

  it('a deadlock on the batch runs it again: every hold granted once', async () => {
    const ev = eventPayload({ seats: 50 });
    await publishEvent(app.deps, ev);
    let failed = 0;
    ctl.failWhen((holds) =>
      holds.length > 1 && failed++ === 0 ? Object.assign(new Error('deadlock detected'), { code: '40P01' }) : undefined,
    );
    const requests = Array.from({ length: 4 }, (_, i) => ({ userId: `d${i}`, seats: [`s0${10 + i}`] }));
    const { results, batchSizes } = await oneBatch(ev.eventId, requests);
    expect(failed).to.equal(2); // the first call failed, its retry did not
    expect(batchSizes).to.deep.equal([1, 4, 4]);
    expect(results.map((r) => r.status)).to.deep.equal([201, 201, 201, 201]);
    const rows = await query(app.deps, "SELECT count(*)::int AS n FROM holds WHERE user_id LIKE 'd_'");
    expect(rows[0].n).to.equal(4);
  });

  it('any other failure of a batch does not fail its innocent holds: they are written one by one', async () => {
    const ev = eventPayload({ seats: 50 });
    await publishEvent(app.deps, ev);
    // a batch with the culprit fails (a statement error, not retryable); alone, only the culprit's own call fails
    ctl.failWhen((holds) =>
      holds.some((h) => h.userId === 'culprit')
        ? Object.assign(new Error('value too long for something'), { code: '22001' })
        : undefined,
    );
    const requests = [
      { userId: 'i1', seats: ['s001'] },
      { userId: 'culprit', seats: ['s002'] },
      { userId: 'i2', seats: ['s003'] },
    ];
    const { results, batchSizes } = await oneBatch(ev.eventId, requests, (r) =>
      app.deps.holds
        .create(r.userId, { eventId: r.eventId, seats: r.seats })
        .then((created) => ({ status: created.status, body: created.body }) as CallResult)
        .catch((err: Error) => ({ status: 500, body: { message: err.message } }) as CallResult),
    );
    expect(batchSizes).to.deep.equal([1, 3, 1, 1, 1]);
    expect(results.map((r) => r.status)).to.deep.equal([201, 500, 201]);
    expect(results[1]!.body.message).to.equal('value too long for something');
    expect(await query(app.deps, "SELECT 1 FROM holds WHERE user_id = 'culprit'")).to.deep.equal([]);
  });

  it('a lost connection fails the batch’s holds at once (alone they would fail the same way), nothing written', async () => {
    const ev = eventPayload({ seats: 50 });
    await publishEvent(app.deps, ev);
    ctl.failWhen((holds) =>
      holds.length > 1 ? Object.assign(new Error('Connection terminated unexpectedly'), { code: '08006' }) : undefined,
    );
    const requests = [
      { userId: 'l1', seats: ['s001'] },
      { userId: 'l2', seats: ['s002'] },
    ];
    const { results, batchSizes } = await oneBatch(ev.eventId, requests, (r) =>
      app.deps.holds
        .create(r.userId, { eventId: r.eventId, seats: r.seats })
        .then((created) => ({ status: created.status, body: created.body }) as CallResult)
        .catch((err: Error) => ({ status: 500, body: { message: err.message } }) as CallResult),
    );
    expect(batchSizes).to.deep.equal([1, 2]);
    expect(results.map((r) => r.status)).to.deep.equal([500, 500]);
    expect(await query(app.deps, "SELECT 1 FROM holds WHERE user_id IN ('l1', 'l2')")).to.deep.equal([]);
  });

  it('a batch takes its seat locks once, for the seats of all its holds (not once per hold)', async () => {
    const ev = eventPayload({ seats: 50 });
    await publishEvent(app.deps, ev);
    const before = locked.length;
    const requests = [
      { userId: 'k1', seats: ['s001', 's002'] },
      { userId: 'k2', seats: ['s002', 's003'] },
      { userId: 'k3', seats: ['s004'] },
    ];
    const { batchSizes } = await oneBatch(ev.eventId, requests);
    expect(batchSizes).to.deep.equal([1, 3]);
    const key = (s: string) => `seat:${ev.eventId}:${s}`;
    expect(locked.slice(before)).to.deep.equal([
      [key('s050')], // the blocker's batch
      ['s001', 's002', 's002', 's003', 's004'].map(key), // one call; the locker de-duplicates
    ]);
  });

  it('an idle replica sends a hold at once, alone', async () => {
    const ev = eventPayload({ seats: 50 });
    await publishEvent(app.deps, ev);
    const before = ctl.calls.length;
    expect((await hold('alone', ev.eventId, ['s001'])).status).to.equal(201);
    expect(ctl.calls.slice(before).map((c) => c.length)).to.deep.equal([1]);
  });
});

describe('inventory: the hold batcher’s slot (no database)', () => {
  it('a batch frees its slot when its write is over: the next batch writes while the first is being numbered', async () => {
    const writes: string[][] = [];
    let numbered!: () => void;
    const numbering = new Promise<void>((r) => (numbered = r));
    let publishes = 0;
    const batcher = createSeatHoldBatcher({
      db: undefined as never,
      logger: { debug: () => undefined, warn: () => undefined } as never,
      maxBatch: 64,
      slots: 1,
      // the first batch's numbering hangs until released; every later one is immediate
      publish: () => (publishes++ === 0 ? numbering : undefined),
      write: async (_db, holds) => {
        writes.push(holds.map((h) => h.holdId));
        return holds.map(() => ({ ok: true as const, createdAt: new Date(), expiresAt: new Date(), seats: [] }));
      },
    });
    const hold = (holdId: string) =>
      ({ holdId, eventId: 'e', userId: 'u', seatIds: [holdId], reservationMinutes: 10, change: {} }) as never;
    const first = batcher.submit(hold('h1'));
    await waitFor('the first batch written', () => writes.length === 1);
    const second = await batcher.submit(hold('h2')); // written and answered while h1 still waits for its numbering
    expect(second.ok).to.equal(true);
    expect(writes).to.deep.equal([['h1'], ['h2']]);
    numbered();
    expect((await first).ok).to.equal(true);
  });
});
