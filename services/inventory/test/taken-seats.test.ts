// The taken-seats view (issue 14): a hold of seats the replica's view of committed changes shows taken is
// refused with the write's own 409 and no lock or database call; everything else (a seat freed, an unknown
// seat, a cancelled event, a change still missing) takes the full path, so the view never refuses a hold the
// database would grant once the change that freed its seats has reached the replica.
import { AsyncLocalStorage } from 'node:async_hooks';
import { withTransaction, type Locker, type PubSub } from '@eventtickets/platform';
import { waitFor } from '@eventtickets/platform/testing';
import { expect } from 'chai';
import pg from 'pg';
import type { InventoryConfig } from '../src/config.ts';
import { EventSeatState } from '../src/domain/seat-state.ts';
import type { AvailabilityChange } from '../src/domain/types.ts';
import { cancelEvent } from '../src/use-cases/materialise.ts';
import { createTakenSeatsView } from '../src/use-cases/taken-seats.ts';
import { dropDatabase, eventPayload, publishEvent, startInstance, suiteConfig, type Instance } from './helpers.ts';

const change = (seq: number, seats: AvailabilityChange['seats'], status?: 'cancelled'): AvailabilityChange => ({
  eventId: 'e',
  seq,
  seats,
  ga: [],
  ...(status ? { status } : {}),
});

describe('inventory: one event’s seat state from numbered changes (pure)', () => {
  const snapshot = { seq: 3, status: 'published' as const, seats: { a: 'available', b: 'held', c: 'available' } };

  it('applies changes in seq order whatever order they arrive in, ignoring the ones it has', () => {
    const s = new EventSeatState({ ...snapshot, seats: { ...snapshot.seats } as never });
    s.apply([change(5, { a: 'available' }), change(3, { c: 'sold' }), change(4, { a: 'held' })]);
    expect(s.seq).to.equal(5);
    expect(s.takenAmong(['a', 'b', 'c'])).to.deep.equal(['b']); // a held at 4, free again at 5; 3 was in the snapshot
  });

  it('says nothing while a change is missing before later ones, and again once it arrives', () => {
    const s = new EventSeatState({ ...snapshot, seats: { ...snapshot.seats } as never });
    s.apply([change(6, { c: 'held' })]);
    expect([s.seq, s.gapBefore, s.takenAmong(['b'])]).to.deep.equal([3, 6, undefined]);
    s.apply([change(4, { b: 'available' }), change(5, {})]);
    expect([s.seq, s.gapBefore, s.takenAmong(['b', 'c'])]).to.deep.equal([6, undefined, ['c']]);
  });

  it('says nothing for a seat it does not know or a cancelled event; [] when every seat is available', () => {
    const s = new EventSeatState({ ...snapshot, seats: { ...snapshot.seats } as never });
    expect(s.takenAmong(['b', 'zz'])).to.equal(undefined);
    expect(s.takenAmong(['a', 'c'])).to.deep.equal([]);
    s.apply([change(4, { a: 'void', b: 'void', c: 'void' }, 'cancelled')]);
    expect(s.takenAmong(['a'])).to.equal(undefined);
  });
});

describe('inventory: holds refused from the taken-seats view (real Postgres + Redis)', function () {
  let config: InventoryConfig;
  let app: Instance;
  let other: Instance;
  let lockCalls = 0;
  const scope = new AsyncLocalStorage<string[]>();
  const originalQuery = pg.Client.prototype.query;

  before(async function () {
    config = await suiteConfig(this, { HOLD_TAKEN_SEATS_SYNC_MS: '100' });
    app = await startInstance(config);
    // the same replica's locker, counted (a refusal from the view must not take one)
    const counted: Locker = {
      withLocks: (keys, ttl, fn) => {
        lockCalls++;
        return app.deps.locker.withLocks(keys, ttl, fn);
      },
    };
    other = await startInstance(config, { locker: counted });
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const q = args[0] as string | { text?: string };
      scope.getStore()?.push(String(typeof q === 'string' ? q : q?.text));
      return (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof pg.Client.prototype.query;
  });
  after(async () => {
    pg.Client.prototype.query = originalQuery;
    await other?.stop();
    await app?.stop();
    await dropDatabase(config);
  });

  /** Holds seats on `instance`; the answer's status and slug, and the SQL statements it sent. */
  async function hold(instance: Instance, userId: string, eventId: string, seats: string[]) {
    const sql: string[] = [];
    const result = await scope.run(sql, () =>
      instance.deps.holds.create(userId, { eventId, seats }).then(
        (h) => ({ status: 201, id: h.body.id, slug: undefined, detail: undefined as unknown }),
        (e) => ({ status: e.status as number, id: undefined, slug: e.slug as string, detail: e.extensions }),
      ),
    );
    return { ...result, sql };
  }

  /** An event on sale whose view `instance` has loaded (its first hold starts the load). */
  async function viewedEvent(instance: Instance, seats = 20) {
    const ev = eventPayload({ seats });
    await publishEvent(instance.deps, ev);
    expect((await hold(instance, 'first', ev.eventId, ['s020'])).status).to.equal(201);
    await waitFor('the view of the event', () =>
      instance.deps.takenSeats!.refusal(ev.eventId, ['s020']) ? true : undefined,
    );
    return ev;
  }

  it('a hold of a taken seat: the 409 seats-unavailable of the write, no statement, no lock, counted', async () => {
    const ev = await viewedEvent(other);
    expect((await hold(other, 'u1', ev.eventId, ['s001', 's002'])).status).to.equal(201);
    const callsBefore = lockCalls;
    const refused = await hold(other, 'u2', ev.eventId, ['s003', 's002', 's001']);
    expect([refused.status, refused.slug, refused.detail]).to.deep.equal([
      409,
      'seats-unavailable',
      { unavailableSeats: ['s001', 's002'] },
    ]);
    expect(refused.sql).to.deep.equal([]);
    expect(lockCalls).to.equal(callsBefore);
    const text = await other.deps.metrics.registry.getSingleMetricAsString('inventory_hold_refusals_from_view_total');
    expect(Number(/ (\d+)$/m.exec(text)?.[1])).to.be.greaterThan(0);
    // the seat it did not refuse is still free
    expect((await hold(other, 'u3', ev.eventId, ['s003'])).status).to.equal(201);
  });

  it('a seat released on this replica can be held again at once (the view has the change before the answer)', async () => {
    const ev = await viewedEvent(app);
    const first = await hold(app, 'u1', ev.eventId, ['s005']);
    expect((await hold(app, 'u2', ev.eventId, ['s005'])).sql).to.deep.equal([]); // refused by the view
    await app.deps.holds.release(first.id!, 'u1');
    expect((await hold(app, 'u2', ev.eventId, ['s005'])).status).to.equal(201);
  });

  it('a seat released on another replica is seen through pub/sub', async () => {
    const ev = await viewedEvent(app);
    const first = await hold(other, 'u1', ev.eventId, ['s006']);
    await waitFor('the other replica’s hold in this view', async () =>
      (await hold(app, 'probe', ev.eventId, ['s006'])).sql.length === 0 ? true : undefined,
    );
    await other.deps.holds.release(first.id!, 'u1');
    const granted = await waitFor('the seat free in this view', async () => {
      const h = await hold(app, 'u2', ev.eventId, ['s006']);
      return h.status === 201 ? h : undefined;
    });
    expect(granted.status).to.equal(201);
  });

  it('a change whose pub/sub message was lost is read from the database at the next sync', async () => {
    const silent: PubSub = {
      publish: async () => undefined,
      subscribe: async () => async () => undefined, // never delivers
      close: async () => undefined,
    };
    const view = createTakenSeatsView({
      db: app.deps.db,
      pubsub: silent,
      logger: app.deps.logger,
      syncMs: 50,
      idleMs: 60_000,
    });
    try {
      const ev = eventPayload({ seats: 10 });
      await publishEvent(app.deps, ev);
      expect(view.refusal(ev.eventId, ['s001'])).to.equal(undefined); // starts tracking
      await waitFor('the snapshot', () => view.seqOf(ev.eventId));
      const h = await hold(app, 'u1', ev.eventId, ['s001']);
      expect(h.status).to.equal(201);
      expect(await waitFor('the hold in the view', () => view.refusal(ev.eventId, ['s001', 's002']))).to.deep.equal([
        's001',
      ]);
      await app.deps.holds.release(h.id!, 'u1');
      await waitFor('the release in the view', () => (view.refusal(ev.eventId, ['s001']) ? undefined : true));
    } finally {
      view.close();
    }
  });

  it('an unknown seat next to a taken one is the write’s 422; a cancelled event is the write’s 409 event-cancelled', async () => {
    const ev = await viewedEvent(app);
    const unknown = await hold(app, 'u1', ev.eventId, ['s020', 'nope']);
    expect([unknown.status, unknown.slug]).to.deep.equal([422, 'unknown-seats']);
    await withTransaction(app.deps.db, (t) => cancelEvent(app.deps.db, t, ev.eventId, app.deps.hub.publish));
    const cancelled = await hold(app, 'u1', ev.eventId, ['s020']);
    expect([cancelled.status, cancelled.slug]).to.deep.equal([409, 'event-cancelled']);
  });

  it('HOLD_TAKEN_SEATS_VIEW=false: no view, every refusal from the database', async () => {
    const off = await startInstance({ ...config, HOLD_TAKEN_SEATS_VIEW: false });
    try {
      expect(off.deps.takenSeats).to.equal(undefined);
      const ev = eventPayload({ seats: 5 });
      await publishEvent(off.deps, ev);
      expect((await hold(off, 'u1', ev.eventId, ['s001'])).status).to.equal(201);
      const refused = await hold(off, 'u2', ev.eventId, ['s001']);
      expect(refused.status).to.equal(409);
      expect(refused.sql.length).to.be.greaterThan(0);
    } finally {
      await off.stop();
    }
  });
});
