// Live availability through the gateway against a real inventory (real Postgres and Redis): one upstream
// stream per watched event, fanned out to its viewers; snapshot, ordered changes and Last-Event-ID resume
// served by the gateway's hub; and viewers that can never starve buyers of upstream connections.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { openSse, waitFor, type SseClient } from '@eventtickets/platform/testing';
import { compileTable } from '../src/domain/routing.ts';
import { DEFAULT_TABLE_FILE } from '../src/routing/table.ts';
import {
  counterValue,
  newSigningKey,
  signToken,
  startGateway,
  startUsersWithJwks,
  type RunningGateway,
  type SigningKey,
} from './helpers.ts';
import {
  dropDatabase,
  eventPayload,
  publishEvent,
  schemaErrors,
  startInstance,
  suiteConfig,
  type Instance,
} from '../../inventory/test/helpers.ts';
import type { InventoryConfig } from '../../inventory/src/config.ts';

type Doc = { seq: number; seats: Record<string, string> };

/** The stack-wide secret the gateway signs forwarded identities with and inventory verifies them by. */
const INTERNAL_TOKEN_SECRET = 'fanout-test-internal-token-secret-0123456789';

describe('gateway/fanout: live availability through one shared upstream stream per event', function () {
  let config: InventoryConfig;
  let inventory: Instance;
  let users: Awaited<ReturnType<typeof startUsersWithJwks>>;
  let key: SigningKey;
  let gw: RunningGateway;
  const open: SseClient[] = [];

  const env = () => ({
    INVENTORY_URL: inventory.url,
    USERS_URL: users.url,
    INTERNAL_TOKEN_SECRET,
    // Benchmarks and tests raise the per-IP limit through the environment (every viewer comes from 127.0.0.1).
    RATE_LIMIT_IP_POINTS: '100000',
    RATE_LIMIT_HOLDS_POINTS: '1000',
    RATE_LIMIT_USER_POINTS: '1000',
  });

  before(async function () {
    config = await suiteConfig(this, { INTERNAL_TOKEN_SECRET });
    inventory = await startInstance(config);
    key = await newSigningKey('k1');
    users = await startUsersWithJwks([key]);
    gw = await startGateway({ ...env(), STREAM_LINGER_MS: '0' });
  });
  afterEach(() => {
    for (const c of open.splice(0)) c.close();
  });
  after(async () => {
    await gw?.close();
    await users?.close();
    await inventory?.stop();
    await dropDatabase(config);
  });

  async function newEvent(seats = 20): Promise<string> {
    const payload = eventPayload({ seats });
    await publishEvent(inventory.deps, payload);
    return payload.eventId;
  }

  async function viewer(url: string, eventId: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const c = await openSse(`${url}/api/events/${eventId}/availability/stream`, headers);
    open.push(c);
    expect(c.status).to.equal(200);
    return c;
  }

  async function hold(url: string, eventId: string, seats: string[], userId = 'buyer-1'): Promise<Response> {
    return fetch(`${url}/api/holds`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${await signToken(key, { sub: userId })}`,
      },
      body: JSON.stringify({ eventId, seats }),
    });
  }

  /** Folds the changes a client reads after its snapshot until it reaches `seq` (as the seat map does). */
  async function readUpTo(c: SseClient, doc: Doc, seq: number): Promise<Doc> {
    while (doc.seq < seq) {
      const m = await c.next((x) => x.event === 'changes' || x.event === 'snapshot');
      if (m.event === 'snapshot') doc = m.data;
      else {
        expect(Number(m.id)).to.be.greaterThan(doc.seq);
        expect(Number(m.id)).to.equal(m.data.at(-1).seq);
        for (const change of m.data) {
          if (change.seq <= doc.seq) continue;
          expect(change.seq).to.equal(doc.seq + 1);
          Object.assign(doc.seats, change.seats);
          doc.seq = change.seq;
        }
      }
    }
    return doc;
  }

  it('many viewers of one event cost one upstream stream, and every viewer gets each change', async () => {
    const eventId = await newEvent();
    const before = inventory.deps.hub.clientCount();
    const viewers: SseClient[] = [];
    for (let i = 0; i < 25; i++) viewers.push(await viewer(gw.url, eventId));
    for (const v of viewers) expect((await v.next()).event).to.equal('snapshot');
    // Inventory sees ONE stream client for the 25 viewers (its own gauge of SSE clients counts the same).
    expect(inventory.deps.hub.clientCount() - before).to.equal(1);
    expect(await counterValue(gw, 'gateway_stream_viewers', {})).to.equal(25);
    expect(await counterValue(gw, 'gateway_upstream_streams', {})).to.equal(1);

    const res = await hold(gw.url, eventId, ['s011', 's012']);
    expect(res.status).to.equal(201);
    for (const v of viewers) {
      const change = await v.next((m) => m.event === 'changes');
      expect(change.data.map((c: { seats: unknown }) => c.seats)).to.deep.equal([{ s011: 'held', s012: 'held' }]);
    }

    // The last viewer gone, the upstream stream closes too (STREAM_LINGER_MS=0 here).
    for (const v of open.splice(0)) v.close();
    await waitFor('the shared upstream stream to close', async () => inventory.deps.hub.clientCount() === before, {
      timeoutMs: 10_000,
    });
  });

  it('a viewer receives the snapshot, then the changes in order, and resumes with Last-Event-ID', async () => {
    const eventId = await newEvent();
    // Someone else keeps watching throughout, so the event's hub stays open while the first viewer is away.
    const bystander = await viewer(gw.url, eventId);
    expect((await bystander.next()).event).to.equal('snapshot');
    const first = await viewer(gw.url, eventId);
    const snapshot = await first.next();
    expect(snapshot.event).to.equal('snapshot');
    expect(Number(snapshot.id)).to.equal(snapshot.data.seq);
    expect(await schemaErrors('Availability', snapshot.data)).to.deep.equal([]);

    const seen: number[] = [];
    for (const pair of [
      ['s011', 's012'],
      ['s013', 's014'],
      ['s015', 's016'],
    ]) {
      expect((await hold(gw.url, eventId, pair)).status).to.equal(201);
      const change = await first.next((m) => m.event === 'changes');
      expect(await schemaErrors('AvailabilityChanges', change.data)).to.deep.equal([]);
      expect(change.data).to.have.length(1);
      expect(change.data[0].seats).to.deep.equal({ [pair[0]]: 'held', [pair[1]]: 'held' });
      expect(Number(change.id)).to.equal(change.data[0].seq);
      seen.push(Number(change.id));
    }
    expect(seen[0]).to.be.greaterThan(Number(snapshot.id));
    expect([...seen].sort((a, b) => a - b)).to.deep.equal(seen);
    first.close();

    // Missed while away: two more changes. Resuming from the last id seen replays exactly those, no snapshot.
    expect((await hold(gw.url, eventId, ['s017'])).status).to.equal(201);
    expect((await hold(gw.url, eventId, ['s018'])).status).to.equal(201);
    const resumed = await viewer(gw.url, eventId, { 'last-event-id': String(seen.at(-1)) });
    // (One `changes` message, or two when the second change reached the gateway after the viewer came back.)
    const replayed: { seq: number; seats: Record<string, string> }[] = [];
    while (replayed.length < 2) {
      const m = await resumed.next();
      expect(m.event).to.equal('changes');
      expect(await schemaErrors('AvailabilityChanges', m.data)).to.deep.equal([]);
      expect(Number(m.id)).to.equal(m.data.at(-1).seq);
      replayed.push(...m.data);
    }
    const [r1, r2] = replayed;
    expect(replayed).to.have.length(2);
    expect(r1!.seats).to.deep.equal({ s017: 'held' });
    expect(r2!.seats).to.deep.equal({ s018: 'held' });
    expect(r1!.seq).to.be.greaterThan(seen.at(-1)!);
    expect(r2!.seq).to.equal(r1!.seq + 1);

    // A newcomer's snapshot (with any changes that follow it) is inventory's own snapshot.
    const truth = (await inventory.call('GET', `/api/events/${eventId}/availability`)).body as Doc;
    const late = await viewer(gw.url, eventId);
    const lateFirst = await late.next();
    expect(lateFirst.event).to.equal('snapshot');
    const folded = await readUpTo(late, lateFirst.data, truth.seq);
    expect(folded.seq).to.equal(truth.seq);
    expect(folded.seats).to.deep.equal(truth.seats);

    // A Last-Event-ID the gateway cannot serve from its replay buffer (from the future) gets a snapshot.
    const reset = await viewer(gw.url, eventId, { 'last-event-id': String(truth.seq + 1000) });
    expect((await reset.next()).event).to.equal('snapshot');
  });

  it('changes that arrive within STREAM_COALESCE_MS of the last flush reach a viewer as one message', async () => {
    const windowed = await startGateway({ ...env(), STREAM_COALESCE_MS: '1000', STREAM_LINGER_MS: '0' });
    try {
      const eventId = await newEvent();
      const c = await viewer(windowed.url, eventId);
      expect((await c.next()).event).to.equal('snapshot');
      // after a quiet spell a change goes out at once
      expect((await hold(windowed.url, eventId, ['s001'])).status).to.equal(201);
      const first = await c.next((m) => m.event === 'changes');
      expect(first.data.map((ch: { seats: object }) => ch.seats)).to.deep.equal([{ s001: 'held' }]);
      // the next two, 400 ms apart but inside the 1 s window, wait for the next flush and travel together (with
      // the default 250 ms window they would be two messages)
      expect((await hold(windowed.url, eventId, ['s002'])).status).to.equal(201);
      await new Promise((r) => setTimeout(r, 400));
      expect((await hold(windowed.url, eventId, ['s003'])).status).to.equal(201);
      const next = await c.next((m) => m.event === 'changes');
      expect(next.data.map((ch: { seats: object }) => ch.seats)).to.deep.equal([{ s002: 'held' }, { s003: 'held' }]);
      expect(Number(next.id)).to.equal(next.data.at(-1).seq);
    } finally {
      await windowed.close();
    }
  });

  it('a request/response call is answered while a flush to many viewers is still being written', async () => {
    // The hub writes a flush in time slices and yields to other I/O between them. With STREAM_FLUSH_SLICE_MS=0
    // every slice is one write, so what is checked is an order of events, not a duration: a plain call made
    // when the first viewer has the change is answered before the last viewer gets it. A flush written in one
    // event-loop run (e.g. sliced by a count larger than the viewers) reaches all of them first.
    const sliced = await startGateway({ ...env(), STREAM_FLUSH_SLICE_MS: '0', STREAM_LINGER_MS: '0' });
    try {
      const eventId = await newEvent();
      const count = 200;
      const viewers: SseClient[] = [];
      for (let i = 0; i < count; i += 50)
        viewers.push(...(await Promise.all(Array.from({ length: 50 }, () => viewer(sliced.url, eventId)))));
      for (const v of viewers) expect((await v.next()).event).to.equal('snapshot');
      expect((await fetch(`${sliced.url}/healthz`)).status).to.equal(200); // a kept-alive connection for the call

      let got = 0;
      let call: Promise<{ status: number; viewersWithChange: number }> | undefined;
      const delivered = viewers.map((v) =>
        v
          .next((m) => m.event === 'changes')
          .then(() => {
            got++;
            call ??= fetch(`${sliced.url}/healthz`).then(async (res) => {
              await res.arrayBuffer();
              return { status: res.status, viewersWithChange: got };
            });
          }),
      );
      expect((await hold(sliced.url, eventId, ['s001', 's002'], 'buyer-sliced')).status).to.equal(201);
      await Promise.all(delivered); // every viewer still gets the change
      const answered = await call!;
      expect(answered.status).to.equal(200);
      expect(answered.viewersWithChange).to.be.lessThan(count);
    } finally {
      for (const c of open.splice(0)) c.close();
      await sliced.close();
    }
  });

  it('a viewer of a quiet stream gets a `: ping` comment every STREAM_HEARTBEAT_MS', async () => {
    const pinging = await startGateway({ ...env(), STREAM_HEARTBEAT_MS: '100', STREAM_LINGER_MS: '0' });
    try {
      const eventId = await newEvent();
      const c = await viewer(pinging.url, eventId);
      expect((await c.next()).event).to.equal('snapshot');
      const ping = await c.next((m) => m.comment !== undefined);
      expect(ping.comment).to.equal('ping');
      expect(ping.event).to.equal(undefined);
    } finally {
      for (const c of open.splice(0)) c.close();
      await pinging.close();
    }
  });

  it('an unknown event answers 404 event-not-found, as inventory does, and leaves no stream open', async () => {
    const res = await fetch(`${gw.url}/api/events/ev-unknown/availability/stream`);
    expect(res.status).to.equal(404);
    expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect((await res.json()).type).to.match(/event-not-found$/);
    expect(await counterValue(gw, 'gateway_upstream_streams', {})).to.equal(0);
  });

  it('with the request pool at 2 connections, 3 events watched do not stop POST /api/holds from answering 201', async () => {
    const small = await startGateway({ ...env(), UPSTREAM_CONNECTIONS: '2', UPSTREAM_TIMEOUT_MS: '5000' });
    try {
      const events = [await newEvent(), await newEvent(), await newEvent()];
      for (const eventId of events)
        expect((await (await viewer(small.url, eventId)).next()).event).to.equal('snapshot');
      expect(await counterValue(small, 'gateway_upstream_streams', {})).to.equal(3);
      const res = await hold(small.url, events[0], ['s020'], 'buyer-small');
      expect(res.status).to.equal(201);
    } finally {
      for (const c of open.splice(0)) c.close();
      await small.close();
    }
  });

  it('plain (not shared) stream routes use the streams pool too: 3 open streams, request pool of 2, hold 201', async () => {
    const passThrough = compileTable({
      routes: (parse(readFileSync(DEFAULT_TABLE_FILE, 'utf8')) as { routes: object[] }).routes.map((r) => ({
        ...r,
        fanout: false,
      })),
    });
    const small = await startGateway(
      { ...env(), UPSTREAM_CONNECTIONS: '2', UPSTREAM_TIMEOUT_MS: '5000' },
      { table: passThrough },
    );
    try {
      const eventId = await newEvent();
      const before = inventory.deps.hub.clientCount();
      for (let i = 0; i < 3; i++) expect((await (await viewer(small.url, eventId)).next()).event).to.equal('snapshot');
      expect(inventory.deps.hub.clientCount() - before).to.equal(3); // one upstream connection per client here
      const res = await hold(small.url, eventId, ['s019'], 'buyer-plain');
      expect(res.status).to.equal(201);
    } finally {
      for (const c of open.splice(0)) c.close();
      await small.close();
    }
  });
});
