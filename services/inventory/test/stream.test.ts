// Live availability: a change made through one replica reaches an SSE client of another through Redis pub/sub
// (the suite's heartbeat is far longer than any test, so nothing else could carry it), ids are the per-event
// sequence numbers, Last-Event-ID replays exactly what was missed (or a snapshot when the log no longer covers
// it), heartbeats flow and repair a lost message, and shutdown ends the stream cleanly.
import { expect } from 'chai';
import { createLogger, createLifecycle, createMetrics, withTransaction, type PubSub } from '@eventtickets/platform';
import type { InventoryConfig } from '../src/config.ts';
import { createInventoryMetrics } from '../src/metrics.ts';
import { createAvailabilityHub } from '../src/use-cases/availability-stream.ts';
import { writeHold } from '../src/use-cases/hold-writes.ts';
import {
  buyer,
  dropDatabase,
  eventPayload,
  getContract,
  publishEvent,
  query,
  schemaErrors,
  startInstance,
  suiteConfig,
  type Instance,
} from './helpers.ts';
import { openSse, parseSse, waitFor, type SseClient } from '@eventtickets/platform/testing';

describe('inventory: availability stream across replicas (real Postgres + Redis pub/sub)', function () {
  let config: InventoryConfig;
  let a: Instance;
  let b: Instance;
  const clients: SseClient[] = [];
  const extra: Instance[] = [];

  before(async function () {
    // No heartbeat (and so no database catch-up) during the suite: only pub/sub can deliver a change live.
    config = await suiteConfig(this, { SSE_HEARTBEAT_MS: '300000' });
    a = await startInstance(config);
    b = await startInstance(config);
  });
  after(async () => {
    clients.forEach((c) => c.close());
    await Promise.all([a, b, ...extra].map((i) => i?.stop()));
    await dropDatabase(config);
  });

  async function stream(inst: Instance, eventId: string, lastEventId?: string): Promise<SseClient> {
    const c = await openSse(
      `${inst.url}/api/events/${eventId}/availability/stream`,
      lastEventId ? { 'last-event-id': lastEventId } : {},
    );
    clients.push(c);
    return c;
  }

  it('a hold made through replica A reaches a client of replica B; Last-Event-ID resumes with what was missed', async () => {
    const ev = eventPayload({ seats: 20, ga: 10 });
    await publishEvent(a.deps, ev);
    const client = await stream(b, ev.eventId);
    expect(client.status).to.equal(200);
    expect(client.contentType).to.match(/^text\/event-stream/);
    const snapshot = await client.next();
    expect(snapshot.event).to.equal('snapshot');
    expect(snapshot.id).to.equal('0');
    expect(snapshot.data).to.include({ eventId: ev.eventId, seq: 0, status: 'published' });
    expect(Object.keys(snapshot.data.seats)).to.have.length(20);
    expect(await snapshotContractErrors(snapshot.data)).to.deep.equal([]);

    const hold = (
      await a.call('POST', '/api/holds', {
        as: buyer('u1'),
        body: { eventId: ev.eventId, seats: ['s001'], ga: [{ areaId: 'floor', quantity: 3 }] },
      })
    ).body;
    const change = await client.next();
    expect(change).to.deep.equal({
      event: 'changes',
      id: '1',
      data: [{ eventId: ev.eventId, seq: 1, seats: { s001: 'held' }, ga: [{ areaId: 'floor', remaining: 7 }] }],
    });
    expect(await changeContractErrors(change.data)).to.deep.equal([]);
    client.close();

    // Two changes while disconnected, made through A.
    await a.call('POST', '/api/holds', { as: buyer('u2'), body: { eventId: ev.eventId, seats: ['s002', 's003'] } });
    await a.call('DELETE', `/api/holds/${hold.id}`, { as: buyer('u1') });
    const resumed = await stream(b, ev.eventId, change.id);
    // The replay is one `changes` message: both missed changes, in order, its id the last one's.
    const replay = await resumed.next();
    expect([replay.event, replay.id, replay.data.length]).to.deep.equal(['changes', '3', 2]);
    const [first, second] = replay.data;
    expect([first.seq, first.seats]).to.deep.equal([2, { s002: 'held', s003: 'held' }]);
    expect([second.seq, second.seats, second.ga]).to.deep.equal([
      3,
      { s001: 'available' },
      [{ areaId: 'floor', remaining: 10 }],
    ]);
    expect(await changeContractErrors(replay.data)).to.deep.equal([]);

    // And it keeps streaming live changes made on A.
    await a.call('POST', '/api/holds', { as: buyer('u3'), body: { eventId: ev.eventId, seats: ['s010'] } });
    expect(await resumed.next()).to.deep.include({ event: 'changes', id: '4' });
    // the same client would get nothing twice: the snapshot endpoint agrees with what it saw
    const snap = (await b.call('GET', `/api/events/${ev.eventId}/availability`)).body;
    expect(snap.seq).to.equal(4);
    expect([snap.seats.s001, snap.seats.s002, snap.seats.s010]).to.deep.equal(['available', 'held', 'held']);
  });

  it('a hold expired by the sweeper of replica A reaches a client of replica B', async () => {
    const ev = eventPayload({ seats: 5 });
    await publishEvent(a.deps, ev);
    const hold = (
      await a.call('POST', '/api/holds', { as: buyer('u1'), body: { eventId: ev.eventId, seats: ['s002'] } })
    ).body;
    const client = await stream(b, ev.eventId);
    expect((await client.next()).data.seats.s002).to.equal('held');
    await query(a.deps, "UPDATE holds SET expires_at = now() - interval '1 second' WHERE hold_id = $1", [hold.id]);
    const expired = await client.next(); // the sweepers run every 100 ms in this suite
    expect([expired.event, expired.data.map((c: { seats: unknown }) => c.seats)]).to.deep.equal([
      'changes',
      [{ s002: 'available' }],
    ]);
    expect((await query(a.deps, 'SELECT status FROM holds WHERE hold_id = $1', [hold.id]))[0].status).to.equal(
      'expired',
    );
  });

  it('heartbeats flow, and a change whose pub/sub message was lost still arrives with the next heartbeat', async () => {
    const c = await startInstance({ ...config, SSE_HEARTBEAT_MS: 200 });
    extra.push(c);
    const ev = eventPayload({ seats: 5 });
    await publishEvent(c.deps, ev);
    const client = await stream(c, ev.eventId);
    expect((await client.next()).event).to.equal('snapshot');
    expect(await client.next((m) => m.comment === 'ping')).to.have.property('comment', 'ping');
    // A committed hold whose publish never happened (as if Redis dropped the message).
    await withTransaction(c.deps.db, (t) =>
      writeHold(
        c.deps.db,
        t,
        { eventId: ev.eventId, seats: ['s003'], userId: 'u1', reservationMinutes: 10 },
        () => undefined,
      ),
    );
    expect(await client.next()).to.deep.include({
      event: 'changes',
      id: '1',
      data: [{ eventId: ev.eventId, seq: 1, seats: { s003: 'held' }, ga: [] }],
    });
  });

  it('a fresh client gets its snapshot first even when a change arrives while its subscription starts', async () => {
    const ev = eventPayload({ seats: 5 });
    await publishEvent(a.deps, ev);
    await a.call('POST', '/api/holds', { as: buyer('u1'), body: { eventId: ev.eventId, seats: ['s001'] } });
    const [change] = await query(a.deps, 'SELECT change FROM availability_changes WHERE event_id = $1 AND seq = 1', [
      ev.eventId,
    ]);
    // A pub/sub whose subscription confirms only after a message was already delivered to it.
    const slowPubSub: PubSub = {
      publish: async () => undefined,
      subscribe: (_channel, handler) =>
        new Promise((resolve) =>
          setImmediate(() => {
            handler(JSON.stringify(change.change), _channel);
            resolve(async () => undefined);
          }),
        ),
      close: async () => undefined,
    };
    const lifecycle = createLifecycle();
    const hub = createAvailabilityHub({
      db: a.deps.db,
      pubsub: slowPubSub,
      logger: createLogger('inventory', { level: 'silent' }),
      lifecycle,
      heartbeatMs: 300_000,
      maxBufferedBytes: 1_048_576,
      metrics: createInventoryMetrics(createMetrics('inventory').registry, a.deps.db),
    });
    try {
      const { stream: out } = await hub.open(ev.eventId, undefined);
      const messages = await parseSse(out, 1);
      expect([messages[0]!.event, messages[0]!.id, messages[0]!.data.seats.s001]).to.deep.equal([
        'snapshot',
        '1',
        'held',
      ]);
    } finally {
      lifecycle.shutdown();
    }
  });

  it('a client that stops reading is dropped once too much waits for it; a reading client misses nothing', async () => {
    const ev = eventPayload({ seats: 10 });
    await publishEvent(a.deps, ev);
    const reader = await stream(b, ev.eventId);
    expect((await reader.next()).event).to.equal('snapshot');
    const lifecycle = createLifecycle();
    const metrics = createInventoryMetrics(createMetrics('inventory').registry, a.deps.db);
    const hub = createAvailabilityHub({
      db: a.deps.db,
      pubsub: a.deps.pubsub,
      logger: createLogger('inventory', { level: 'silent' }),
      lifecycle,
      heartbeatMs: 300_000,
      maxBufferedBytes: 2_048,
      metrics,
    });
    try {
      const { stream: stalled } = await hub.open(ev.eventId, undefined); // nobody ever reads this one
      const closed = new Promise((resolve) => stalled.once('close', resolve));
      let changes = 0;
      while (!stalled.destroyed) {
        expect(changes, 'the stalled client was never dropped').to.be.lessThan(100);
        const hold = (
          await a.call('POST', '/api/holds', {
            as: buyer('u1'),
            body: { eventId: ev.eventId, seats: ['s001', 's002'] },
          })
        ).body;
        await a.call('DELETE', `/api/holds/${hold.id}`, { as: buyer('u1') });
        changes += 2;
      }
      await closed;
      expect(hub.clientCount()).to.equal(0);
      expect((await metrics.sseClients.get()).values[0]!.value).to.equal(0);
      // The reader got every change exactly once, in order, however they were batched.
      const seen: number[] = [];
      while (seen.length < changes) {
        const m = await reader.next();
        expect(m.event).to.equal('changes');
        for (const c of m.data as { seq: number }[]) seen.push(c.seq);
        expect(m.id).to.equal(String(seen.at(-1)));
      }
      expect(seen).to.deep.equal(Array.from({ length: changes }, (_, i) => i + 1));
    } finally {
      lifecycle.shutdown();
    }
  });

  it('a Last-Event-ID the change log no longer covers gets a full snapshot', async () => {
    const ev = eventPayload({ seats: 5 });
    await publishEvent(a.deps, ev);
    for (const seat of ['s001', 's002', 's003'])
      await a.call('POST', '/api/holds', { as: buyer(`u-${seat}`), body: { eventId: ev.eventId, seats: [seat] } });
    await query(a.deps, 'DELETE FROM availability_changes WHERE event_id = $1 AND seq <= 2', [ev.eventId]); // pruned
    const client = await stream(b, ev.eventId, '1');
    const msg = await client.next();
    expect([msg.event, msg.id, msg.data.seq]).to.deep.equal(['snapshot', '3', 3]);
    expect(msg.data.seats).to.include({ s001: 'held', s002: 'held', s003: 'held', s004: 'available' });
  });

  it('an unknown event is a 404 problem (snapshot and stream); a malformed Last-Event-ID a 400', async () => {
    const res = await b.call('GET', '/api/events/nope/availability/stream');
    expect([res.status, res.body.type]).to.deep.equal([404, 'https://eventtickets.dev/problems/event-not-found']);
    const snapshot = await b.call('GET', '/api/events/nope/availability');
    expect([snapshot.status, snapshot.body.type]).to.deep.equal([
      404,
      'https://eventtickets.dev/problems/event-not-found',
    ]);
    const ev = eventPayload({ seats: 1 });
    await publishEvent(a.deps, ev);
    const bad = await b.call('GET', `/api/events/${ev.eventId}/availability/stream`, {
      headers: { 'last-event-id': 'abc' },
    });
    expect(bad.status).to.equal(400);
  });

  it('shutdown ends open streams cleanly and the gauge counts clients', async () => {
    const c = await startInstance(config);
    const ev = eventPayload({ seats: 2 });
    await publishEvent(c.deps, ev);
    const client = await stream(c, ev.eventId);
    await client.next();
    const metrics = await (await fetch(`${c.url}/metrics`)).text();
    expect(/^inventory_sse_clients\{[^}]*\} (\d+)/m.exec(metrics)?.[1]).to.equal('1');
    const second = await stream(c, ev.eventId);
    await second.next();
    second.close(); // a client that goes away is dropped
    await waitFor('the gauge back to one client', async () =>
      /^inventory_sse_clients\{[^}]*\} 1$/m.test(await (await fetch(`${c.url}/metrics`)).text()),
    );
    await c.stop();
    await client.ended; // resolves only because the server ended the response
    const after = await client.next().then(
      () => 'message',
      (err: Error) => err.message,
    );
    expect(after).to.equal('stream ended');
  });
});

/** An SSE snapshot's data is the same document as GET /availability. */
async function snapshotContractErrors(data: { eventId: string }): Promise<string[]> {
  return (await getContract()).responseErrors('GET', `/api/events/${data.eventId}/availability`, 200, data);
}

/** A `changes` message's data is the contract's AvailabilityChanges schema. */
async function changeContractErrors(data: unknown): Promise<string[]> {
  return schemaErrors('AvailabilityChanges', data);
}
