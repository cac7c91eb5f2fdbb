// POST /api/holds with an Idempotency-Key, against real Postgres and the three Redis masters: a retry after a
// lost response gets its own hold back (never a 409/503 over its own seats), duplicates racing each other create
// one hold (with Redlock, past a lock held by the first attempt, and with no lock at all), a reused key with
// another body is a 422 that changes nothing, keys are per user, and old keys are pruned by the expiry worker.
import { expect } from 'chai';
import type { InventoryConfig } from '../src/config.ts';
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
import { waitFor } from '@eventtickets/platform/testing';

describe('inventory: retry-safe holds with Idempotency-Key (real Postgres + Redis)', function () {
  let config: InventoryConfig;
  let app: Instance;
  const extra: Instance[] = [];

  before(async function () {
    config = await suiteConfig(this);
    app = await startInstance(config);
  });
  after(async () => {
    await Promise.all([app, ...extra].map((i) => i?.stop()));
    await dropDatabase(config);
  });

  async function replica(overrides: Parameters<typeof startInstance>[1] = {}): Promise<Instance> {
    const inst = await startInstance(config, overrides);
    extra.push(inst);
    return inst;
  }
  function hold(inst: Instance, user: string, body: unknown, key?: string): Promise<CallResult> {
    return inst.call('POST', '/api/holds', { as: buyer(user), body, headers: key ? { 'idempotency-key': key } : {} });
  }
  async function holdsOf(eventId: string) {
    return query<{ hold_id: string; user_id: string }>(
      app.deps,
      'SELECT hold_id, user_id FROM holds WHERE event_id = $1 ORDER BY created_at',
      [eventId],
    );
  }
  async function heldSeats(eventId: string) {
    return query<{ seat_id: string; hold_id: string }>(
      app.deps,
      "SELECT seat_id, hold_id FROM seats WHERE event_id = $1 AND status <> 'available' ORDER BY seat_id",
      [eventId],
    );
  }
  async function seq(eventId: string): Promise<number> {
    return (await app.call('GET', `/api/events/${eventId}/availability`)).body.seq;
  }
  async function holdsCreatedMetric(inst: Instance): Promise<number> {
    const text = await (await fetch(`${inst.url}/metrics`)).text();
    return Number(/^inventory_holds_created_total(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? 0);
  }

  it('a retry after a lost response gets the same hold back (201, replayed) and holds nothing more', async () => {
    const ev = eventPayload({ seats: 10, ga: 20 });
    await publishEvent(app.deps, ev);
    const body = { eventId: ev.eventId, seats: ['s003', 's001'], ga: [{ areaId: 'floor', quantity: 2 }] };
    const createdBefore = await holdsCreatedMetric(app);
    const first = await hold(app, 'retry-user', body, 'retry-key-0001');
    expect(first.status).to.equal(201);
    expect(first.headers.get('idempotent-replayed')).to.equal(null);
    const seqAfterFirst = await seq(ev.eventId);

    // The client never saw `first` (connection dropped) and sends the same request again.
    const retry = await hold(app, 'retry-user', body, 'retry-key-0001');
    expect(retry.status).to.equal(201);
    expect(retry.headers.get('idempotent-replayed')).to.equal('true');
    expect(retry.headers.get('location')).to.equal(`/api/holds/${first.body.id}`);
    expect(retry.body).to.deep.equal(first.body);

    expect(await holdsOf(ev.eventId)).to.deep.equal([{ hold_id: first.body.id, user_id: 'retry-user' }]);
    expect(await heldSeats(ev.eventId)).to.deep.equal([
      { seat_id: 's001', hold_id: first.body.id },
      { seat_id: 's003', hold_id: first.body.id },
    ]);
    const [ga] = await query(app.deps, 'SELECT held FROM ga_areas WHERE event_id = $1', [ev.eventId]);
    expect(ga.held).to.equal(2);
    expect(await seq(ev.eventId)).to.equal(seqAfterFirst);
    expect(
      await query(app.deps, "SELECT 1 FROM outbox WHERE type = 'hold.created' AND aggregate_id = $1", [first.body.id]),
    ).to.have.length(1);
    expect((await holdsCreatedMetric(app)) - createdBefore).to.equal(1);

    // A replay takes no seat lock: even with the seats locked elsewhere on every master it is answered at once.
    const lockKey = (seat: string) => `${config.REDIS_PREFIX}lock:seat:${ev.eventId}:${seat}`;
    await Promise.all(app.deps.redis.map((r) => r.set(lockKey('s001'), 'elsewhere', 'PX', 60_000)));
    const locked = await hold(app, 'retry-user', body, 'retry-key-0001');
    expect([locked.status, locked.body.id, locked.headers.get('idempotent-replayed')]).to.deep.equal([
      201,
      first.body.id,
      'true',
    ]);
    await Promise.all(app.deps.redis.map((r) => r.del(lockKey('s001'))));

    // The replay is the response as created; GET shows the hold as it is now.
    expect((await app.call('DELETE', `/api/holds/${first.body.id}`, { as: buyer('retry-user') })).status).to.equal(204);
    const afterRelease = await hold(app, 'retry-user', body, 'retry-key-0001');
    expect([afterRelease.status, afterRelease.body]).to.deep.equal([201, first.body]);
    expect((await app.call('GET', `/api/holds/${first.body.id}`, { as: buyer('retry-user') })).body.status).to.equal(
      'released',
    );
    expect(await heldSeats(ev.eventId)).to.deep.equal([]);
    expect(await holdsOf(ev.eventId)).to.have.length(1);
  });

  it('10 concurrent duplicates through 2 replicas with Redlock create exactly one hold, and every 201 is that hold', async () => {
    const second = await replica();
    const ev = eventPayload({ seats: 10 });
    await publishEvent(app.deps, ev);
    const body = { eventId: ev.eventId, seats: ['s004', 's005'] };
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => hold(i % 2 ? second : app, 'racer', body, 'race-key-0001')),
    );
    const holds = await holdsOf(ev.eventId);
    expect(holds).to.have.length(1);
    const holdId = holds[0]!.hold_id;
    for (const res of results) {
      // 503 seats-busy would only mean "retry": it never creates anything (checked above) and a retry replays.
      expect([201, 503], JSON.stringify(res.body)).to.include(res.status);
      if (res.status === 201) expect(res.body.id).to.equal(holdId);
    }
    expect(results.filter((r) => r.status === 201 && !r.headers.get('idempotent-replayed'))).to.have.length(1);
    for (const busy of results.filter((r) => r.status === 503)) {
      expect(busy.body.type).to.equal('https://eventtickets.dev/problems/seats-busy');
      const again = await hold(app, 'racer', body, 'race-key-0001');
      expect([again.status, again.body.id]).to.deep.equal([201, holdId]);
    }
    expect(await heldSeats(ev.eventId)).to.deep.equal([
      { seat_id: 's004', hold_id: holdId },
      { seat_id: 's005', hold_id: holdId },
    ]);
  });

  it('10 concurrent duplicates with no lock at all and a pause before the write still create one hold (the key row decides)', async () => {
    const unlocked = await replica({
      locker: noLock,
      hooks: { beforeWrite: () => new Promise((r) => setTimeout(r, 30)) },
    });
    const ev = eventPayload({ seats: 10, ga: 10 });
    await publishEvent(app.deps, ev);
    const body = { eventId: ev.eventId, seats: ['s001'], ga: [{ areaId: 'floor', quantity: 3 }] };
    const results = await Promise.all(
      Array.from({ length: 10 }, () => hold(unlocked, 'nolock-user', body, 'nolock-key-0001')),
    );
    expect(results.map((r) => r.status)).to.deep.equal(Array(10).fill(201));
    const holds = await holdsOf(ev.eventId);
    expect(holds).to.have.length(1);
    expect(new Set(results.map((r) => r.body.id))).to.deep.equal(new Set([holds[0]!.hold_id]));
    expect(results.filter((r) => r.headers.get('idempotent-replayed') === 'true')).to.have.length(9);
    const [ga] = await query(app.deps, 'SELECT held FROM ga_areas WHERE event_id = $1', [ev.eventId]);
    expect(ga.held).to.equal(3);
  });

  it('a retry that finds the seats locked by its own first attempt (still writing) waits for it and gets its hold', async () => {
    let releaseFirst!: () => void;
    const firstPaused = new Promise<void>((r) => (releaseFirst = r));
    let paused = 0;
    // The first attempt stops inside its transaction, after the write, with its Redlock seat locks held.
    const slow = await replica({
      hooks: {
        beforeCommit: async () => {
          if (paused++ === 0) await firstPaused;
        },
      },
    });
    const ev = eventPayload({ seats: 10 });
    await publishEvent(app.deps, ev);
    const body = { eventId: ev.eventId, seats: ['s007'] };
    const first = hold(slow, 'patient', body, 'slow-key-0001');
    await waitFor('the first attempt paused before its write', async () => paused === 1);
    const retry = hold(app, 'patient', body, 'slow-key-0001');
    // The retry cannot get the locks; it then waits on the first attempt's uncommitted key row.
    await waitFor(
      "the retry waiting on the first attempt's key row",
      async () =>
        (
          await query(
            app.deps,
            "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO idempotency_keys%'",
          )
        ).length > 0,
    );
    releaseFirst();
    const [a, b] = await Promise.all([first, retry]);
    expect([a.status, a.headers.get('idempotent-replayed')]).to.deep.equal([201, null]);
    expect([b.status, b.headers.get('idempotent-replayed')]).to.deep.equal([201, 'true']);
    expect(b.body).to.deep.equal(a.body);
    expect(await holdsOf(ev.eventId)).to.have.length(1);
  });

  it('the same key with another body is 422 idempotency-key-reused and changes nothing', async () => {
    const ev = eventPayload({ seats: 10 });
    await publishEvent(app.deps, ev);
    const first = await hold(app, 'reuser', { eventId: ev.eventId, seats: ['s001'] }, 'reuse-key-0001');
    expect(first.status).to.equal(201);
    const seqBefore = await seq(ev.eventId);
    for (const other of [
      { eventId: ev.eventId, seats: ['s002'] },
      { eventId: ev.eventId, seats: ['s001', 's002'] },
    ]) {
      const res = await hold(app, 'reuser', other, 'reuse-key-0001');
      expect([res.status, res.body.type]).to.deep.equal([
        422,
        'https://eventtickets.dev/problems/idempotency-key-reused',
      ]);
      expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
    }
    expect(await heldSeats(ev.eventId)).to.deep.equal([{ seat_id: 's001', hold_id: first.body.id }]);
    expect(await holdsOf(ev.eventId)).to.have.length(1);
    expect(await seq(ev.eventId)).to.equal(seqBefore);
    // the original request under that key still replays
    expect((await hold(app, 'reuser', { eventId: ev.eventId, seats: ['s001'] }, 'reuse-key-0001')).body.id).to.equal(
      first.body.id,
    );
  });

  it('keys are per user: two users with the same key get their own holds', async () => {
    const ev = eventPayload({ seats: 10 });
    await publishEvent(app.deps, ev);
    const a = await hold(app, 'user-a', { eventId: ev.eventId, seats: ['s001'] }, 'shared-key-0001');
    const b = await hold(app, 'user-b', { eventId: ev.eventId, seats: ['s002'] }, 'shared-key-0001');
    expect([a.status, b.status]).to.deep.equal([201, 201]);
    expect(b.headers.get('idempotent-replayed')).to.equal(null);
    expect(a.body.id).to.not.equal(b.body.id);
    // in user-c's scope the key is unused: a fresh request, refused over user-a's seat, never a replay of a's hold
    const c = await hold(app, 'user-c', { eventId: ev.eventId, seats: ['s001'] }, 'shared-key-0001');
    expect([c.status, c.body.type]).to.deep.equal([409, 'https://eventtickets.dev/problems/seats-unavailable']);
    expect((await holdsOf(ev.eventId)).map((h) => h.user_id)).to.deep.equal(['user-a', 'user-b']);
  });

  it('without the header nothing changes: a repeat is a 409 over the seats; a malformed key is a 400 that holds nothing', async () => {
    const ev = eventPayload({ seats: 10 });
    await publishEvent(app.deps, ev);
    const body = { eventId: ev.eventId, seats: ['s001', 's002'] };
    const first = await hold(app, 'plain', body);
    expect([first.status, first.headers.get('idempotent-replayed')]).to.deep.equal([201, null]);
    const repeat = await hold(app, 'plain', body);
    expect([repeat.status, repeat.body.type, repeat.body.unavailableSeats]).to.deep.equal([
      409,
      'https://eventtickets.dev/problems/seats-unavailable',
      ['s001', 's002'],
    ]);
    for (const bad of ['short', 'has space in it', 'x'.repeat(129)]) {
      const res = await hold(app, 'plain', { eventId: ev.eventId, seats: ['s003'] }, bad);
      expect(res.status, bad).to.equal(400);
    }
    expect(await holdsOf(ev.eventId)).to.have.length(1);
    expect((await heldSeats(ev.eventId)).map((s) => s.seat_id)).to.deep.equal(['s001', 's002']);
  });

  it('a refused attempt is not remembered: the same key applies once the seats are free', async () => {
    const ev = eventPayload({ seats: 10 });
    await publishEvent(app.deps, ev);
    const blocker = await hold(app, 'blocker', { eventId: ev.eventId, seats: ['s001'] });
    const body = { eventId: ev.eventId, seats: ['s001'] };
    const refused = await hold(app, 'waiter', body, 'wait-key-0001');
    expect([refused.status, refused.body.type]).to.deep.equal([
      409,
      'https://eventtickets.dev/problems/seats-unavailable',
    ]);
    expect(await query(app.deps, 'SELECT 1 FROM idempotency_keys WHERE scope = $1', ['waiter'])).to.have.length(0);
    await app.call('DELETE', `/api/holds/${blocker.body.id}`, { as: buyer('blocker') });
    const later = await hold(app, 'waiter', body, 'wait-key-0001');
    expect([later.status, later.headers.get('idempotent-replayed'), later.body.userId]).to.deep.equal([
      201,
      null,
      'waiter',
    ]);
  });

  it('the expiry worker forgets keys older than IDEMPOTENCY_KEY_RETENTION_MS and keeps young ones', async () => {
    const ev = eventPayload({ seats: 10 });
    await publishEvent(app.deps, ev);
    await hold(app, 'pruned', { eventId: ev.eventId, seats: ['s001'] }, 'old-key-00001');
    await hold(app, 'pruned', { eventId: ev.eventId, seats: ['s002'] }, 'young-key-0001');
    await query(
      app.deps,
      "UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE scope = 'pruned' AND key = 'old-key-00001'",
    );
    // A replica prunes on its first sweep (then once a minute).
    await replica();
    await waitFor(
      'the old key pruned',
      async () =>
        (await query(app.deps, "SELECT 1 FROM idempotency_keys WHERE scope = 'pruned' AND key = 'old-key-00001'"))
          .length === 0,
    );
    expect(await query(app.deps, "SELECT key FROM idempotency_keys WHERE scope = 'pruned'")).to.deep.equal([
      { key: 'young-key-0001' },
    ]);
  });
});
