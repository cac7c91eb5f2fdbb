// The seat invariant under concurrency, through HTTP, with three replicas sharing one Postgres and the three
// Redis masters: no seat in two holds, every 201 backed by the database, every 409 naming real conflicts,
// and the same with the lock bypassed or expiring mid-operation (the database is the authority).
import { waitFor } from '@eventtickets/platform/testing';
import { expect } from 'chai';
import type { InventoryConfig } from '../src/config.ts';
import { holdSeatsInBatch, type BatchedSeatHold } from '../src/db/seats.ts';
import type { HoldHooks } from '../src/use-cases/holds.ts';
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

/** Deterministic pseudo-random numbers so a failure can be replayed. */
function rng(seed: number): () => number {
  return () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
}

/** Overlapping requests: windows of 2..4 neighbouring seats over s001..s050. */
function seatRequests(n: number, seed: number): string[][] {
  const next = rng(seed);
  return Array.from({ length: n }, () => {
    const size = 2 + Math.floor(next() * 3);
    const start = 1 + Math.floor(next() * (50 - size + 1));
    return Array.from({ length: size }, (_, i) => `s${String(start + i).padStart(3, '0')}`);
  });
}

/** Notices when two requests for a common seat are past the lock at the same moment. */
function overlapDetector(pauseMs: (i: number) => number): { hooks: HoldHooks; overlaps: () => number } {
  const inFlight = new Map<string, number>();
  let overlaps = 0;
  let calls = 0;
  return {
    overlaps: () => overlaps,
    hooks: {
      beforeWrite: async (req) => {
        const seats = req.seats ?? [];
        if (seats.some((s) => (inFlight.get(s) ?? 0) > 0)) overlaps++;
        for (const s of seats) inFlight.set(s, (inFlight.get(s) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, pauseMs(calls++)));
        for (const s of seats) inFlight.set(s, inFlight.get(s)! - 1);
      },
    },
  };
}

async function race(instances: Instance[], eventId: string, requests: string[][]): Promise<CallResult[]> {
  return Promise.all(
    requests.map((seats, i) =>
      instances[i % instances.length]!.call('POST', '/api/holds', {
        as: buyer(`racer-${i}`),
        body: { eventId, seats },
      }),
    ),
  );
}

/** Every invariant the race must leave intact; returns the counts by status. */
async function checkInvariant(
  inst: Instance,
  eventId: string,
  requests: string[][],
  results: CallResult[],
): Promise<Record<number, number>> {
  const byStatus: Record<number, number> = {};
  const granted = new Map<string, string>(); // seat → hold id from a 201
  results.forEach((res, i) => {
    byStatus[res.status] = (byStatus[res.status] ?? 0) + 1;
    expect([201, 409, 503], JSON.stringify(res.body)).to.include(res.status);
    if (res.status === 201) {
      expect(res.body.seats.map((s: any) => s.seatId)).to.deep.equal([...requests[i]!].sort());
      for (const s of requests[i]!) {
        expect(granted.has(s), `seat ${s} granted to two holds`).to.equal(false);
        granted.set(s, res.body.id);
      }
    }
  });
  const seats = await query<{ seat_id: string; status: string; hold_id: string | null }>(
    inst.deps,
    'SELECT seat_id, status, hold_id FROM seats WHERE event_id = $1',
    [eventId],
  );
  const dbHeld = new Map(seats.filter((s) => s.status === 'held').map((s) => [s.seat_id, s.hold_id!]));
  // every 201 is backed by the database, and the database holds nothing a 201 did not report
  expect(Object.fromEntries(dbHeld)).to.deep.equal(Object.fromEntries(granted));
  const holds = await query<{ hold_id: string; n: string }>(
    inst.deps,
    'SELECT h.hold_id, count(hs.seat_id) AS n FROM holds h JOIN hold_seats hs USING (hold_id) WHERE h.event_id = $1 GROUP BY h.hold_id',
    [eventId],
  );
  expect(holds).to.have.length(byStatus[201] ?? 0);
  results.forEach((res, i) => {
    if (res.status === 409) {
      expect(res.body.type).to.equal('https://eventtickets.dev/problems/seats-unavailable');
      expect(res.body.unavailableSeats).to.be.an('array').that.is.not.empty;
      for (const s of res.body.unavailableSeats) {
        expect(requests[i]).to.include(s);
        expect(granted.has(s), `409 named ${s}, which nobody holds`).to.equal(true);
      }
    }
    if (res.status === 503) expect(res.body.type).to.equal('https://eventtickets.dev/problems/seats-busy');
  });
  return byStatus;
}

describe('inventory: the seat invariant under concurrent holds (3 replicas, real Postgres + 3 Redis)', function () {
  this.timeout(120_000);
  const configs: InventoryConfig[] = [];
  let running: Instance[] = [];

  afterEach(async () => {
    await Promise.all(running.map((i) => i.stop()));
    running = [];
  });
  after(async () => {
    for (const c of configs) await dropDatabase(c);
  });

  async function replicas(
    ctx: Mocha.Context,
    n: number,
    env: Record<string, string> = {},
    overrides: Parameters<typeof startInstance>[1] = {},
  ): Promise<Instance[]> {
    const config = await suiteConfig(ctx, env);
    configs.push(config);
    running = [];
    for (let i = 0; i < n; i++) running.push(await startInstance(config, overrides));
    return running;
  }

  it('240 overlapping hold requests over 50 seats through 3 replicas with Redlock', async function () {
    const instances = await replicas(this, 3);
    const ev = eventPayload({ seats: 50 });
    await publishEvent(instances[0]!.deps, ev);
    const requests = seatRequests(240, 7);
    const results = await race(instances, ev.eventId, requests);
    const counts = await checkInvariant(instances[0]!, ev.eventId, requests, results);
    expect(counts[201]).to.be.greaterThan(0);
    expect((counts[409] ?? 0) + (counts[503] ?? 0)).to.be.greaterThan(0);
  });

  it('without any lock (a no-op locker) and pauses before the write, the database still never double-holds', async function () {
    const detector = overlapDetector((i) => (i % 5) * 3);
    const instances = await replicas(this, 3, {}, { locker: noLock, hooks: detector.hooks });
    const ev = eventPayload({ seats: 50 });
    await publishEvent(instances[0]!.deps, ev);
    const requests = seatRequests(150, 11);
    const results = await race(instances, ev.eventId, requests);
    const counts = await checkInvariant(instances[0]!, ev.eventId, requests, results);
    expect(detector.overlaps(), 'competing writers reached the database together').to.be.greaterThan(0);
    expect(counts[409], 'the database refused the losers').to.be.greaterThan(0);
    expect(counts[503] ?? 0).to.equal(0);
  });

  it('group commit with one slot and no lock: competing holds share batches, the database still never double-holds', async function () {
    // HOLD_BATCH_SLOTS=1: while one call runs, every other hold queues, so batches hold many holds for common seats
    // (the taken-seats view off: every refusal is the batches' own, not the view's)
    const instances = await replicas(
      this,
      3,
      { HOLD_BATCH_SLOTS: '1', HOLD_BATCH_MAX: '64', HOLD_TAKEN_SEATS_VIEW: 'false' },
      { locker: noLock },
    );
    const ev = eventPayload({ seats: 50 });
    await publishEvent(instances[0]!.deps, ev);
    const requests = seatRequests(150, 31);
    const results = await race(instances, ev.eventId, requests);
    const counts = await checkInvariant(instances[0]!, ev.eventId, requests, results);
    expect(counts[201]).to.be.greaterThan(0);
    expect(counts[409], 'the batches refused the later holds for taken seats').to.be.greaterThan(0);
    const sizes = await Promise.all(
      instances.map(async (i) => {
        const text = await i.deps.metrics.registry.getSingleMetricAsString('inventory_hold_batch_size');
        return {
          calls: Number(/inventory_hold_batch_size_count\S* (\d+)/.exec(text)?.[1] ?? 0),
          holds: Number(/inventory_hold_batch_size_sum\S* (\d+)/.exec(text)?.[1] ?? 0),
        };
      }),
    );
    const calls = sizes.reduce((a, s) => a + s.calls, 0);
    const holds = sizes.reduce((a, s) => a + s.holds, 0);
    expect(holds, 'every hold went through the batcher').to.equal(150);
    expect(calls, 'holds shared calls').to.be.lessThan(150);
  });

  it('with the taken-seats view loaded on every replica: two waves race, the views refuse the second, the invariant holds', async function () {
    const instances = await replicas(this, 3);
    const ev = eventPayload({ seats: 51 }); // s051 is outside the race's seats: it only loads the views
    await publishEvent(instances[0]!.deps, ev);
    for (const i of instances) i.deps.takenSeats!.refusal(ev.eventId, ['s051']);
    for (const i of instances) await waitFor('the view', () => i.deps.takenSeats!.seqOf(ev.eventId) !== undefined);
    const fromView = async () => {
      let n = 0;
      for (const i of instances)
        n += Number(
          /inventory_hold_refusals_from_view_total\S* (\d+)/.exec(
            await i.deps.metrics.registry.getSingleMetricAsString('inventory_hold_refusals_from_view_total'),
          )?.[1] ?? 0,
        );
      return n;
    };
    // The first wave: whether a request meets a view that already has a competitor's hold depends on timing.
    const requests = seatRequests(150, 41);
    const first = await race(instances, ev.eventId, requests);
    // Every view caught up with the database: the same requests again are refused by the views wherever one of
    // their seats was taken in the first wave (every request that got a 201 or a 409 there), with no lock and no write.
    const [seq] = (await query(instances[0]!.deps, 'SELECT seq FROM events WHERE event_id = $1', [ev.eventId])).map(
      (r) => Number(r.seq),
    );
    for (const i of instances) await waitFor('the view caught up', () => i.deps.takenSeats!.seqOf(ev.eventId) === seq);
    const held = new Set(requests.filter((_, i) => first[i]!.status === 201).flat());
    const expected = requests.filter((seats) => seats.some((s) => held.has(s))).length;
    const beforeSecond = await fromView();
    const second = await race(instances, ev.eventId, requests);
    const counts = await checkInvariant(instances[0]!, ev.eventId, [...requests, ...requests], [...first, ...second]);
    expect(counts[201]).to.be.greaterThan(0);
    expect(expected).to.be.greaterThan(0);
    expect((await fromView()) - beforeSecond, 'second-wave requests with a taken seat, refused by the views').to.equal(
      expected,
    );
  });

  it('group commit off (HOLD_BATCH_MAX 0): the one-hold function alone keeps the invariant too', async function () {
    const instances = await replicas(this, 3, { HOLD_BATCH_MAX: '0' }, { locker: noLock });
    const ev = eventPayload({ seats: 50 });
    await publishEvent(instances[0]!.deps, ev);
    const requests = seatRequests(150, 37);
    const results = await race(instances, ev.eventId, requests);
    const counts = await checkInvariant(instances[0]!, ev.eventId, requests, results);
    expect(counts[201]).to.be.greaterThan(0);
    expect(counts[409]).to.be.greaterThan(0);
  });

  it('with a lock that expires mid-operation (tiny TTL, long pause), the database still never double-holds', async function () {
    // Each replica's batch write (inside the batch's Redlock locks) is paused 80 ms with a 30 ms TTL, so locks run
    // out while their holder still believes it owns them (Kleppmann's pause) and a competitor takes the same seats.
    const inFlight = new Map<string, number>();
    let overlaps = 0;
    const pausedWrite = async (db: Parameters<typeof holdSeatsInBatch>[0], holds: BatchedSeatHold[]) => {
      const seats = holds.flatMap((h) => h.seatIds);
      if (seats.some((s) => (inFlight.get(s) ?? 0) > 0)) overlaps++;
      for (const s of seats) inFlight.set(s, (inFlight.get(s) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 80));
      for (const s of seats) inFlight.set(s, inFlight.get(s)! - 1);
      return holdSeatsInBatch(db, holds);
    };
    const instances = await replicas(this, 3, { HOLD_LOCK_TTL_MS: '30' }, { holdBatchWrite: pausedWrite });
    const ev = eventPayload({ seats: 50 });
    await publishEvent(instances[0]!.deps, ev);
    const requests = seatRequests(150, 23);
    const results = await race(instances, ev.eventId, requests);
    const counts = await checkInvariant(instances[0]!, ev.eventId, requests, results);
    expect(overlaps, 'expired locks let competing batches in').to.be.greaterThan(0);
    expect(counts[201]).to.be.greaterThan(0);
  });

  it('GA: 100 concurrent quantity holds never exceed capacity, and none is turned away while enough places remain', async function () {
    const instances = await replicas(this, 3);
    const ev = eventPayload({ seats: 0, ga: 40, maxSeatsPerOrder: 50 });
    await publishEvent(instances[0]!.deps, ev);
    const next = rng(5);
    const quantities = Array.from({ length: 100 }, () => 1 + Math.floor(next() * 4));
    const results = await Promise.all(
      quantities.map((quantity, i) =>
        instances[i % 3]!.call('POST', '/api/holds', {
          as: buyer(`ga-${i}`),
          body: { eventId: ev.eventId, ga: [{ areaId: 'floor', quantity }] },
        }),
      ),
    );
    let granted = 0;
    results.forEach((res, i) => {
      // No lock queue in front of a counter: every request is answered by the database, never seats-busy.
      expect([201, 409], JSON.stringify(res.body)).to.include(res.status);
      if (res.status === 201) granted += quantities[i]!;
      if (res.status === 409) {
        expect(res.body.type).to.equal('https://eventtickets.dev/problems/ga-capacity-exceeded');
        expect(res.body.areas[0].requested).to.equal(quantities[i]);
        expect(res.body.areas[0].remaining, 'refused while enough places remained').to.be.lessThan(quantities[i]!);
      }
    });
    const [area] = await query(instances[0]!.deps, 'SELECT capacity, held, sold FROM ga_areas WHERE event_id = $1', [
      ev.eventId,
    ]);
    expect(area.held).to.equal(granted);
    expect(area.held + area.sold).to.be.at.most(area.capacity);
    expect(granted).to.be.greaterThan(area.capacity - 4); // demand was ~250: at most a few places are left over
    const over = await instances[1]!.call('POST', '/api/holds', {
      as: buyer('ga-over'),
      body: { eventId: ev.eventId, ga: [{ areaId: 'floor', quantity: area.capacity - granted + 1 }] },
    });
    expect([over.status, over.body.type]).to.deep.equal([
      409,
      'https://eventtickets.dev/problems/ga-capacity-exceeded',
    ]);
    const [sum] = await query(
      instances[0]!.deps,
      'SELECT coalesce(sum(quantity), 0)::int AS q FROM hold_ga WHERE event_id = $1',
      [ev.eventId],
    );
    expect(sum.q).to.equal(granted);
  });

  for (const [name, overrides] of [
    ['with Redlock', {}],
    ['without a lock', { locker: noLock }],
  ] as const) {
    it(`seats and GA in one hold: 100 concurrent requests keep both invariants, all or nothing (${name})`, async function () {
      const instances = await replicas(this, 3, {}, overrides);
      const ev = eventPayload({ seats: 50, ga: 60, maxSeatsPerOrder: 10 });
      await publishEvent(instances[0]!.deps, ev);
      const next = rng(11);
      const requests = seatRequests(100, 13).map((seats) => ({ seats, quantity: 1 + Math.floor(next() * 3) }));
      const results = await Promise.all(
        requests.map((r, i) =>
          instances[i % 3]!.call('POST', '/api/holds', {
            as: buyer(`mix-${i}`),
            body: { eventId: ev.eventId, seats: r.seats, ga: [{ areaId: 'floor', quantity: r.quantity }] },
          }),
        ),
      );
      const seatOwner = new Map<string, string>();
      let places = 0;
      results.forEach((res, i) => {
        expect([201, 409, 503], JSON.stringify(res.body)).to.include(res.status);
        if (res.status !== 201) return;
        places += requests[i]!.quantity;
        expect(res.body.ga).to.have.length(1);
        for (const s of requests[i]!.seats) {
          expect(seatOwner.has(s), `seat ${s} granted twice`).to.equal(false);
          seatOwner.set(s, res.body.id);
        }
      });
      const held = await query<{ seat_id: string; hold_id: string }>(
        instances[0]!.deps,
        "SELECT seat_id, hold_id FROM seats WHERE event_id = $1 AND status = 'held'",
        [ev.eventId],
      );
      expect(Object.fromEntries(held.map((r) => [r.seat_id, r.hold_id]))).to.deep.equal(Object.fromEntries(seatOwner));
      const [area] = await query(instances[0]!.deps, 'SELECT capacity, held FROM ga_areas WHERE event_id = $1', [
        ev.eventId,
      ]);
      expect(area.held).to.equal(places).and.to.be.at.most(area.capacity);
      // a refused request left nothing behind: only the granted holds exist
      const [holds] = await query(instances[0]!.deps, 'SELECT count(*)::int AS n FROM holds WHERE event_id = $1', [
        ev.eventId,
      ]);
      expect(holds.n).to.equal(results.filter((r) => r.status === 201).length);
    });
  }

  it('the CHECK constraints refuse GA overselling and a seat status without its hold, even for a write that skips the condition', async function () {
    const [inst] = await replicas(this, 1);
    const ev = eventPayload({ seats: 1, ga: 5 });
    await publishEvent(inst!.deps, ev);
    // Each write on its own: the name of the constraint it violated (both are SQLSTATE 23514, so the code alone
    // would not tell them apart), or 'no violation'.
    const violated = (sql: string) =>
      inst!.deps.db.query(sql, { bind: [ev.eventId] }).then(
        () => 'no violation',
        (err) => (err?.parent?.code === '23514' ? err.parent.constraint : `unexpected error: ${err?.message}`),
      );
    expect(await violated('UPDATE ga_areas SET held = 6 WHERE event_id = $1')).to.equal('ga_within_capacity');
    // a held seat must name its hold (the seats table's unnamed CHECK, which Postgres names seats_check)
    expect(await violated("UPDATE seats SET status = 'held' WHERE event_id = $1")).to.equal('seats_check');
    // and an available seat names none
    expect(await violated('UPDATE seats SET hold_id = gen_random_uuid() WHERE event_id = $1')).to.equal('seats_check');
  });
});
