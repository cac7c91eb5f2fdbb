// Live availability over SSE. Changes travel through Redis pub/sub so a client on any replica sees a change
// made on any replica. Pub/sub is lossy, so each client tracks the last sequence number it was sent and
// fills any gap from the change log in Postgres (or falls back to a full snapshot when the log no longer
// covers it); the heartbeat also compares against the database so even a lost final message arrives.
//
// Changes are batched on the wire (openapi.yaml, streamAvailability): the sequencer publishes one pub/sub
// message per event per numbering batch (a JSON array), each feed coalesces what arrives within
// `coalesceMs` of its last delivery, and a client gets one `event: changes` message per delivery. So what a
// client parses per second is bounded by the window, not by the hold rate.
import { PassThrough } from 'node:stream';
import {
  outageReporter,
  problems,
  type Lifecycle,
  type Logger,
  type PubSub,
  type Sequelize,
} from '@eventtickets/platform';
import { loadSnapshotJson } from '../db/availability.ts';
import { changesSince, hasStalePendingChanges, numberPendingChanges } from '../db/changes.ts';
import { currentSeqs } from '../db/events.ts';
import { sseChanges, sseComment, sseMessageOfJson } from '../domain/sse.ts';
import type { AvailabilityChange, PendingChange } from '../domain/types.ts';
import type { InventoryMetrics } from '../metrics.ts';

export interface HubOptions {
  db: Sequelize;
  pubsub: PubSub;
  logger: Logger;
  metrics: InventoryMetrics;
  heartbeatMs: number;
  lifecycle: Lifecycle;
  /** Bytes waiting for a client that stopped reading before it is dropped (it resumes with Last-Event-ID). */
  maxBufferedBytes: number;
  /** How often unnumbered changes older than this are looked for (default 1 s). */
  sequencerSweepMs?: number;
  /** A feed delivers at most one batch per this window (default 50 ms; the contract promises <= 100 ms). A
   *  change after a quiet spell goes out at once. */
  coalesceMs?: number;
  /** Told each event's changes this replica numbered (ascending seq), before the calls of publish() waiting for
   *  them resolve (the taken-seats view: a hold's own change is in it before its answer). */
  onNumbered?: (eventId: string, changes: AvailabilityChange[]) => void;
}

/** Changes numbered per sequencer transaction at most. */
const SEQUENCER_BATCH = 1_000;

interface ClientContext {
  db: Sequelize;
  logger: Logger;
  maxBufferedBytes: number;
  onClose: (c: StreamClient) => void;
}

/** The pub/sub channel of an event's numbered changes. */
export const channelFor = (eventId: string) => `availability:${eventId}`;

/** The changes of one pub/sub message on that channel (one numbering batch of one event, as broadcast() writes
 *  it; a single object from an older replica), or undefined for a malformed one. */
export function changesOfMessage(message: string): AvailabilityChange[] | undefined {
  try {
    const parsed = JSON.parse(message) as AvailabilityChange | AvailabilityChange[];
    return Array.isArray(parsed) ? parsed : [parsed];
  } catch {
    return undefined;
  }
}

class StreamClient {
  readonly eventId: string;
  readonly out = new PassThrough();
  private lastSeq: number;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly db: Sequelize;
  private readonly logger: Logger;
  private readonly ctx: ClientContext;

  constructor(eventId: string, lastSeq: number, ctx: ClientContext) {
    this.eventId = eventId;
    this.lastSeq = lastSeq;
    this.db = ctx.db;
    this.logger = ctx.logger;
    this.ctx = ctx;
  }

  /** Work for this client runs strictly in order, so ids on the wire only ever increase. */
  private enqueue(task: () => Promise<void>): void {
    this.chain = this.chain
      .then(() => (this.closed ? undefined : task()))
      .catch((err) => {
        this.logger.warn({ err, eventId: this.eventId }, 'availability stream failed; closing it');
        this.close();
      });
  }

  /** The first task of the client: everything a live message triggers queues behind it, so a fresh client
   *  gets its snapshot (or its replay) before any change, even one that arrives as the subscription starts. */
  start(resumeFrom: number | undefined, subscribed: Promise<unknown>): void {
    this.enqueue(async () => {
      await subscribed; // read the database only once live messages can no longer slip past unseen
      const current = (await currentSeqs(this.db, [this.eventId])).get(this.eventId) ?? 0;
      if (resumeFrom === undefined || resumeFrom > current) await this.sendSnapshot();
      else await this.catchUp(current);
    });
  }

  /** Live changes of this event (ascending seq): the ones not sent yet go out as one message; a gap before
   *  or inside them is filled from the change log first. */
  onChanges(changes: AvailabilityChange[]): void {
    this.enqueue(async () => {
      const last = changes[changes.length - 1];
      if (!last || last.seq <= this.lastSeq) return;
      const first = changes.find((c) => c.seq > this.lastSeq)!;
      if (first.seq > this.lastSeq + 1) await this.catchUp(first.seq - 1);
      const run: AvailabilityChange[] = [];
      for (const c of changes) if (c.seq === this.lastSeq + 1 + run.length) run.push(c);
      this.writeChanges(run);
      if (last.seq > this.lastSeq) await this.catchUp(last.seq);
    });
  }

  /** The database says the event is at `seq`: deliver anything this client has not seen. */
  syncTo(seq: number): void {
    this.enqueue(() => this.catchUp(seq));
  }

  heartbeat(): void {
    this.send(sseComment('ping'));
  }

  /** Everything goes out through here. A client that stopped reading (a phone asleep with its connection
   *  open) must not make this replica buffer without bound: past the limit it is dropped, and its
   *  EventSource reconnects with Last-Event-ID and replays what it missed from the change log. */
  send(text: string): void {
    if (this.closed) return;
    // Measured before writing, so one large message (a big venue's snapshot) never counts against the
    // client on its own: it moves on to the socket as soon as the response pipeline flows.
    const waiting = this.out.writableLength + this.out.readableLength;
    if (waiting > this.ctx.maxBufferedBytes) {
      this.logger.warn({ eventId: this.eventId, waiting }, 'availability client is not reading; dropping it');
      this.closed = true;
      this.out.destroy(); // the response pipeline ends with it, closing the connection
      this.ctx.onClose(this);
      return;
    }
    this.out.write(text);
  }

  private async catchUp(upto: number): Promise<void> {
    if (upto <= this.lastSeq) return;
    const missed = await changesSince(this.db, this.eventId, this.lastSeq, upto);
    if (!missed) return this.sendSnapshot();
    this.writeChanges(missed);
  }

  private async sendSnapshot(): Promise<void> {
    const snapshot = await loadSnapshotJson(this.db, this.eventId);
    if (!snapshot) return this.close();
    this.send(sseMessageOfJson('snapshot', snapshot.seq, snapshot.json));
    this.lastSeq = snapshot.seq;
  }

  private writeChanges(changes: AvailabilityChange[]): void {
    if (!changes.length) return;
    this.send(sseChanges(changes));
    this.lastSeq = changes[changes.length - 1]!.seq;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.out.end();
    this.ctx.onClose(this);
  }
}

interface Feed {
  clients: Set<StreamClient>;
  unsubscribe: Promise<() => Promise<void>>;
  /** Changes received and not delivered yet (ascending seq), the pending delivery, and when the last was. */
  pending: AvailabilityChange[];
  timer?: NodeJS.Timeout;
  lastDelivery: number;
}

export function createAvailabilityHub(opts: HubOptions) {
  const feeds = new Map<string, Feed>();
  const { logger, metrics } = opts;

  const coalesceMs = opts.coalesceMs ?? 50;

  function deliver(feed: Feed): void {
    feed.timer = undefined;
    feed.lastDelivery = performance.now();
    const batch = feed.pending.sort((x, y) => x.seq - y.seq);
    feed.pending = [];
    if (batch.length) for (const client of feed.clients) client.onChanges(batch);
  }

  function feedFor(eventId: string): Feed {
    let feed = feeds.get(eventId);
    if (!feed) {
      const clients = new Set<StreamClient>();
      const unsubscribe = opts.pubsub.subscribe(channelFor(eventId), (message) => {
        const changes = changesOfMessage(message);
        if (!changes) return logger.warn({ eventId }, 'ignoring a malformed availability message');
        const f = feed!;
        f.pending.push(...changes);
        if (f.timer) return;
        const wait = f.lastDelivery + coalesceMs - performance.now();
        f.timer = setTimeout(() => deliver(f), Math.max(0, wait));
      });
      feed = { clients, unsubscribe, pending: [], lastDelivery: -Infinity };
      feeds.set(eventId, feed);
    }
    return feed;
  }

  function detach(client: StreamClient): void {
    metrics.sseClients.dec();
    const feed = feeds.get(client.eventId);
    if (!feed) return;
    feed.clients.delete(client);
    if (feed.clients.size === 0) {
      feeds.delete(client.eventId);
      clearTimeout(feed.timer);
      feed.unsubscribe.then((off) => off()).catch((err) => logger.warn({ err }, 'unsubscribe failed'));
    }
  }

  /** The availability document of an event as JSON text (404 event-not-found when inventory does not know it). */
  async function snapshot(eventId: string): Promise<{ seq: number; json: string }> {
    const found = await loadSnapshotJson(opts.db, eventId);
    if (!found) throw problems.notFound(`No event ${eventId}`, 'event-not-found');
    return found;
  }

  /** Opens a stream (404 event-not-found for an unknown event): subscribed first, then the snapshot or the
   *  replay, so nothing falls in between. */
  async function open(
    eventId: string,
    resumeFrom: number | undefined,
  ): Promise<{ stream: PassThrough; close: () => void }> {
    if (!(await currentSeqs(opts.db, [eventId])).has(eventId))
      throw problems.notFound(`No event ${eventId}`, 'event-not-found');
    const client = new StreamClient(eventId, resumeFrom ?? 0, {
      db: opts.db,
      logger,
      maxBufferedBytes: opts.maxBufferedBytes,
      onClose: detach,
    });
    metrics.sseClients.inc();
    const feed = feedFor(eventId);
    feed.clients.add(client);
    client.send('retry: 2000\n\n');
    client.start(resumeFrom, feed.unsubscribe);
    try {
      await feed.unsubscribe;
    } catch (err) {
      client.close();
      throw err;
    }
    return { stream: client.out, close: () => client.close() };
  }

  const heartbeat = setInterval(() => {
    if (!feeds.size) return;
    for (const feed of feeds.values()) for (const c of feed.clients) c.heartbeat();
    currentSeqs(opts.db, [...feeds.keys()])
      .then((seqs) => {
        for (const [eventId, seq] of seqs) for (const c of feeds.get(eventId)?.clients ?? []) c.syncTo(seq);
      })
      .catch((err) => logger.warn({ err }, 'availability sync failed'));
  }, opts.heartbeatMs);
  heartbeat.unref();

  // Publishing failures are logged when they start and when they end, not once per change: while the pub/sub
  // master is down or hanging every hold would otherwise log a line.
  const publishing = outageReporter(
    logger,
    'availability publish',
    {},
    { down: 'failing (clients catch up from the change log)', up: 'works again' },
  );

  /** Publishes committed changes of one event (ascending seq) as one message to every replica (including this one). Never awaited by the request that
   *  made the change: a hanging pub/sub master must not hold its response (the publish is bounded anyway). */
  function broadcast(eventId: string, changes: AvailabilityChange[]): void {
    opts.pubsub.publish(channelFor(eventId), JSON.stringify(changes)).then(
      () => publishing.recovered(publishing),
      // Clients still get it: their next message or heartbeat finds the gap and replays the log.
      (err) => publishing.failed(publishing, err),
    );
  }

  // The sequencer: committed changes are numbered after commit (per event, gap-free, in the order of their
  // log ids), then broadcast. Group commit: a call while a batch runs shares the next batch with every other
  // call made meanwhile, so a burst of holds costs a few batches, not one each.
  const numbering = outageReporter(
    logger,
    'availability change numbering',
    {},
    { down: 'failing (retried by the sweep)', up: 'works again' },
  );
  let current: Promise<void> | undefined;
  let next: Promise<void> | undefined;
  async function numberBatches(): Promise<void> {
    try {
      for (;;) {
        const numbered = await numberPendingChanges(opts.db, SEQUENCER_BATCH);
        // Sorted by event, then seq: one message per event.
        for (let i = 0; i < numbered.length;) {
          let j = i + 1;
          while (j < numbered.length && numbered[j]!.eventId === numbered[i]!.eventId) j++;
          const changes = numbered.slice(i, j);
          try {
            opts.onNumbered?.(numbered[i]!.eventId, changes);
          } catch (err) {
            logger.warn({ err }, 'a numbered-changes observer failed'); // never at the broadcast's expense
          }
          broadcast(numbered[i]!.eventId, changes);
          i = j;
        }
        if (numbered.length < SEQUENCER_BATCH) break;
      }
      numbering.recovered(numbering);
    } catch (err) {
      numbering.failed(numbering, err);
    }
  }
  function sequence(): Promise<void> {
    if (!current) {
      current = numberBatches().finally(() => (current = undefined));
      return current;
    }
    next ??= current.then(() => {
      next = undefined;
      return sequence();
    });
    return next;
  }

  /** A change was committed (by this replica): resolves once it is numbered and broadcast to every replica.
   *  Never rejects (a failed batch is retried by the sweep). */
  function publish(_change?: PendingChange): Promise<void> {
    return sequence();
  }

  // A replica that died between a commit and its batch leaves changes unnumbered: every replica looks for
  // changes older than the sweep interval and numbers them.
  const sweepMs = opts.sequencerSweepMs ?? 1_000;
  const sweep = setInterval(() => {
    hasStalePendingChanges(opts.db, sweepMs)
      .then((stale) => (stale ? sequence() : undefined))
      .catch((err) => numbering.failed(numbering, err));
  }, sweepMs);
  sweep.unref();

  function close(): void {
    clearInterval(heartbeat);
    clearInterval(sweep);
    for (const feed of [...feeds.values()]) {
      clearTimeout(feed.timer);
      for (const c of [...feed.clients]) c.close();
    }
  }
  opts.lifecycle.signal.addEventListener('abort', close, { once: true });

  return {
    snapshot,
    open,
    publish,
    close,
    clientCount: () => [...feeds.values()].reduce((n, f) => n + f.clients.size, 0),
  };
}

export type AvailabilityHub = ReturnType<typeof createAvailabilityHub>;
