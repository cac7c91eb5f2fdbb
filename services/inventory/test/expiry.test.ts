// Expiry is driven by database state: a hold made by one replica is expired by another replica started
// later (nothing kept in process memory), emits hold.expired, frees its seats, and can no longer be confirmed.
import { expect } from 'chai';
import type { InventoryConfig } from '../src/config.ts';
import { expireBatch } from '../src/use-cases/expiry.ts';
import {
  buyer,
  dropDatabase,
  eventPayload,
  ordersService,
  publishEvent,
  query,
  sqlDirect,
  startInstance,
  suiteConfig,
  type Instance,
} from './helpers.ts';
import { waitFor } from '@eventtickets/platform/testing';

describe('inventory: hold expiry across restarts (real Postgres + Redis)', function () {
  let config: InventoryConfig;
  const started: Instance[] = [];

  before(async function () {
    config = await suiteConfig(this);
  });
  after(async () => {
    await Promise.all(started.map((i) => i.stop()));
    await dropDatabase(config);
  });

  async function instance(env: Partial<InventoryConfig>): Promise<Instance> {
    const inst = await startInstance({ ...config, ...env });
    started.push(inst);
    return inst;
  }

  it('a new replica expires the holds of a stopped one; a confirm after expiry fails', async () => {
    const first = await instance({ EXPIRY_INTERVAL_MS: 600_000 });
    const ev = eventPayload({ seats: 10, ga: 10 });
    await publishEvent(first.deps, ev);
    const expiring = (
      await first.call('POST', '/api/holds', {
        as: buyer('u1'),
        body: { eventId: ev.eventId, seats: ['s001', 's002'], ga: [{ areaId: 'floor', quantity: 2 }] },
      })
    ).body;
    const staying = (
      await first.call('POST', '/api/holds', { as: buyer('u2'), body: { eventId: ev.eventId, seats: ['s003'] } })
    ).body;
    await first.stop();

    // Time passes while no replica runs: the reservation window of the first hold is over.
    await sqlDirect(
      config,
      "UPDATE holds SET expires_at = now() - interval '1 minute', created_at = now() - interval '11 minutes' WHERE hold_id = $1",
      [expiring.id],
    );
    const seqBefore = Number(
      (await sqlDirect(config, 'SELECT seq FROM events WHERE event_id = $1', [ev.eventId]))[0].seq,
    );

    const second = await instance({ EXPIRY_INTERVAL_MS: 100 });
    const status = await waitFor('the hold expired by the second replica', async () => {
      const [row] = await query(second.deps, 'SELECT status, end_reason FROM holds WHERE hold_id = $1', [expiring.id]);
      return row.status === 'expired' ? row : undefined;
    });
    expect(status).to.deep.equal({ status: 'expired', end_reason: 'expired' });
    const seats = await query(
      second.deps,
      'SELECT seat_id, status, hold_id FROM seats WHERE event_id = $1 AND seat_id IN ($2, $3, $4) ORDER BY seat_id',
      [ev.eventId, 's001', 's002', 's003'],
    );
    expect(seats).to.deep.equal([
      { seat_id: 's001', status: 'available', hold_id: null },
      { seat_id: 's002', status: 'available', hold_id: null },
      { seat_id: 's003', status: 'held', hold_id: staying.id },
    ]);
    const [ga] = await query(second.deps, 'SELECT held FROM ga_areas WHERE event_id = $1', [ev.eventId]);
    expect(ga.held).to.equal(0);
    const events = await query(second.deps, 'SELECT type, payload FROM outbox WHERE aggregate_id = $1 ORDER BY seq', [
      expiring.id,
    ]);
    expect(events.map((e) => e.type)).to.deep.equal(['hold.created', 'hold.expired']);
    expect(events[1].payload).to.deep.equal({
      holdId: expiring.id,
      eventId: ev.eventId,
      userId: 'u1',
      seats: ['s001', 's002'],
      ga: [{ areaId: 'floor', quantity: 2 }],
    });
    // numbered after the expiry's commit (the sequencer), so it may land a moment after the hold reads expired
    const change = await waitFor('the expiry’s change numbered', async () => {
      const [row] = await query(
        second.deps,
        'SELECT change FROM availability_changes WHERE event_id = $1 AND seq = $2',
        [ev.eventId, seqBefore + 1],
      );
      return row;
    });
    expect(change.change.seats).to.deep.equal({ s001: 'available', s002: 'available' });

    const confirm = await second.call('POST', `/internal/holds/${expiring.id}/confirm`, {
      as: ordersService,
      body: { orderId: 'late-order' },
    });
    expect([confirm.status, confirm.body.type]).to.deep.equal([409, 'https://eventtickets.dev/problems/hold-expired']);
    const owner = await second.call('GET', `/api/holds/${expiring.id}`, { as: buyer('u1') });
    expect(owner.body).to.include({ status: 'expired', endReason: 'expired', confirmedAt: null });

    // the other hold was untouched and confirms, idempotently
    const ok = await second.call('POST', `/internal/holds/${staying.id}/confirm`, {
      as: ordersService,
      body: { orderId: 'o-2' },
    });
    const again = await second.call('POST', `/internal/holds/${staying.id}/confirm`, {
      as: ordersService,
      body: { orderId: 'o-2' },
    });
    expect(ok.status).to.equal(200);
    expect(again.body).to.deep.equal(ok.body);
    expect(
      await query(second.deps, "SELECT 1 FROM outbox WHERE aggregate_id = $1 AND type = 'hold.confirmed'", [
        staying.id,
      ]),
    ).to.have.length(1);
    const metrics = await (await fetch(`${second.url}/metrics`)).text();
    expect(Number(/^inventory_holds_expired_total\{[^}]*\} (\d+)/m.exec(metrics)?.[1])).to.be.at.least(1);
  });

  it('a hold past its window is expired by the confirm itself even before any sweep ran', async () => {
    const inst = await instance({ EXPIRY_INTERVAL_MS: 600_000 });
    const ev = eventPayload({ seats: 5 });
    await publishEvent(inst.deps, ev);
    const hold = (
      await inst.call('POST', '/api/holds', { as: buyer('u3'), body: { eventId: ev.eventId, seats: ['s004'] } })
    ).body;
    await query(inst.deps, "UPDATE holds SET expires_at = now() - interval '1 second' WHERE hold_id = $1", [hold.id]);
    const confirm = await inst.call('POST', `/internal/holds/${hold.id}/confirm`, {
      as: ordersService,
      body: { orderId: 'o-3' },
    });
    expect([confirm.status, confirm.body.type]).to.deep.equal([409, 'https://eventtickets.dev/problems/hold-expired']);
    const [row] = await query(
      inst.deps,
      'SELECT h.status, s.status AS seat FROM holds h, seats s WHERE h.hold_id = $1 AND s.event_id = $2 AND s.seat_id = $3',
      [hold.id, ev.eventId, 's004'],
    );
    expect(row).to.deep.equal({ status: 'expired', seat: 'available' });
    expect(
      (await query(inst.deps, 'SELECT type FROM outbox WHERE aggregate_id = $1 ORDER BY seq', [hold.id])).map(
        (e) => e.type,
      ),
    ).to.deep.equal(['hold.created', 'hold.expired']);
  });

  it('a hold past its expiresAt that no sweep has reached reads as expired (owner and orders), and the read writes nothing', async () => {
    await Promise.all(started.map((i) => i.stop())); // no other replica sweeps meanwhile (stop is idempotent)
    // Its one sweep runs at start, then none for 10 minutes. That sweep ends by pruning old idempotency keys, so
    // an aged key row disappearing says it is over (before any hold below is made due).
    await sqlDirect(
      config,
      "INSERT INTO idempotency_keys (scope, key, request_hash, created_at) VALUES ('sweep-marker', 'marker-key-01', 'x', now() - interval '2 days')",
    );
    const inst = await instance({ EXPIRY_INTERVAL_MS: 600_000 });
    await waitFor(
      'the old idempotency key pruned',
      async () => (await query(inst.deps, "SELECT 1 FROM idempotency_keys WHERE scope = 'sweep-marker'")).length === 0,
    );
    const ev = eventPayload({ seats: 5 });
    await publishEvent(inst.deps, ev);
    const dead = (
      await inst.call('POST', '/api/holds', { as: buyer('u4'), body: { eventId: ev.eventId, seats: ['s001'] } })
    ).body;
    const live = (
      await inst.call('POST', '/api/holds', { as: buyer('u4'), body: { eventId: ev.eventId, seats: ['s002'] } })
    ).body;
    const [{ expires_at: expiresAt }] = await query(
      inst.deps,
      "UPDATE holds SET expires_at = now() - interval '1 second' WHERE hold_id = $1 RETURNING expires_at",
      [dead.id],
    );
    const seqBefore = (await inst.call('GET', `/api/events/${ev.eventId}/availability`)).body.seq;

    for (const path of [`/api/holds/${dead.id}`, `/internal/holds/${dead.id}`]) {
      const res = await inst.call('GET', path, { as: path.startsWith('/internal/') ? ordersService : buyer('u4') });
      expect(res.status).to.equal(200);
      expect(res.body, path).to.include({
        status: 'expired',
        endReason: 'expired',
        endedAt: expiresAt.toISOString(),
        expiresAt: expiresAt.toISOString(),
        confirmedAt: null,
      });
    }
    expect((await inst.call('GET', `/api/holds/${live.id}`, { as: buyer('u4') })).body).to.include({
      status: 'active',
      endedAt: null,
      endReason: null,
    });

    // Reading wrote nothing: the row, its seat, the change log and the outbox wait for the sweeper (or a confirm).
    const [row] = await query(
      inst.deps,
      'SELECT h.status, h.ended_at, s.status AS seat FROM holds h JOIN seats s ON s.hold_id = h.hold_id WHERE h.hold_id = $1',
      [dead.id],
    );
    expect(row).to.deep.equal({ status: 'active', ended_at: null, seat: 'held' });
    expect((await inst.call('GET', `/api/events/${ev.eventId}/availability`)).body.seq).to.equal(seqBefore);
    expect(
      (await query(inst.deps, 'SELECT type FROM outbox WHERE aggregate_id = $1', [dead.id])).map((e) => e.type),
    ).to.deep.equal(['hold.created']);

    // When the sweep does come, the recorded state agrees with what was read.
    await expireBatch({ db: inst.deps.db, publish: inst.deps.hub.publish, batchSize: 10 });
    const swept = (await inst.call('GET', `/api/holds/${dead.id}`, { as: buyer('u4') })).body;
    expect(swept).to.include({ status: 'expired', endReason: 'expired' });
    expect(
      (await query(inst.deps, 'SELECT status FROM seats WHERE event_id = $1 AND seat_id = $2', [ev.eventId, 's001']))[0]
        .status,
    ).to.equal('available');

    // Its owner releasing a dead hold before any sweep: it ends as expired, and counts as one.
    await query(inst.deps, "UPDATE holds SET expires_at = now() - interval '1 second' WHERE hold_id = $1", [live.id]);
    const expiredBefore = await expiredCount(inst);
    expect((await inst.call('DELETE', `/api/holds/${live.id}`, { as: buyer('u4') })).status).to.equal(204);
    expect((await inst.call('GET', `/api/holds/${live.id}`, { as: buyer('u4') })).body).to.include({
      status: 'expired',
      endReason: 'expired',
    });
    expect(await expiredCount(inst)).to.equal(expiredBefore + 1);
  });

  it('three replicas sweeping at once expire every hold exactly once', async () => {
    await Promise.all(started.map((i) => i.stop())); // only these three sweep (stop is idempotent)
    const sweepers = await Promise.all([0, 1, 2].map(() => instance({ EXPIRY_INTERVAL_MS: 20, EXPIRY_BATCH_SIZE: 3 })));
    const ev = eventPayload({ seats: 30, ga: 100, maxSeatsPerOrder: 10 });
    await publishEvent(sweepers[0]!.deps, ev);
    const holds = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        sweepers[i % 3]!.call('POST', '/api/holds', {
          as: buyer(`sweep-${i}`),
          body: {
            eventId: ev.eventId,
            seats: [`s${String(i + 1).padStart(3, '0')}`],
            ga: [{ areaId: 'floor', quantity: 1 + (i % 3) }],
          },
        }),
      ),
    );
    expect(holds.map((h) => h.status)).to.deep.equal(Array(30).fill(201));
    const seqBefore = Number(
      (await query(sweepers[0]!.deps, 'SELECT seq FROM events WHERE event_id = $1', [ev.eventId]))[0].seq,
    );
    const expiredBefore = await Promise.all(sweepers.map((s) => expiredCount(s)));

    await query(sweepers[0]!.deps, "UPDATE holds SET expires_at = now() - interval '1 second' WHERE event_id = $1", [
      ev.eventId,
    ]);
    await waitFor(
      'every hold expired',
      async () =>
        (await query(sweepers[0]!.deps, "SELECT 1 FROM holds WHERE event_id = $1 AND status = 'active'", [ev.eventId]))
          .length === 0,
    );

    const expiredEvents = await query(
      sweepers[0]!.deps,
      "SELECT aggregate_id FROM outbox WHERE type = 'hold.expired' AND payload->>'eventId' = $1",
      [ev.eventId],
    );
    expect(expiredEvents.map((e) => e.aggregate_id).sort()).to.deep.equal(holds.map((h) => h.body.id).sort());
    expect(
      await query(sweepers[0]!.deps, "SELECT 1 FROM seats WHERE event_id = $1 AND status <> 'available'", [ev.eventId]),
    ).to.have.length(0);
    const [area] = await query(sweepers[0]!.deps, 'SELECT held, sold FROM ga_areas WHERE event_id = $1', [ev.eventId]);
    expect(area).to.deep.equal({ held: 0, sold: 0 });
    // one numbered change per batch, no gaps, no repeats; every freed seat announced exactly once
    const changes = await query(
      sweepers[0]!.deps,
      'SELECT seq, change FROM availability_changes WHERE event_id = $1 AND seq > $2 ORDER BY seq',
      [ev.eventId, seqBefore],
    );
    expect(changes.map((c) => Number(c.seq))).to.deep.equal(
      Array.from({ length: changes.length }, (_, i) => seqBefore + 1 + i),
    );
    expect(changes.length).to.be.within(10, 30); // batches of at most 3 holds
    const announced = changes.flatMap((c) => Object.keys(c.change.seats));
    expect(announced.sort()).to.deep.equal(Array.from({ length: 30 }, (_, i) => `s${String(i + 1).padStart(3, '0')}`));
    expect(changes.at(-1)!.change.ga).to.deep.equal([{ areaId: 'floor', remaining: 100 }]);
    const expiredAfter = await Promise.all(sweepers.map((s) => expiredCount(s)));
    expect(expiredAfter.reduce((n, v, i) => n + v - expiredBefore[i]!, 0)).to.equal(30);
  });
});

async function expiredCount(inst: Instance): Promise<number> {
  const text = await (await fetch(`${inst.url}/metrics`)).text();
  return Number(/^inventory_holds_expired_total\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
}
