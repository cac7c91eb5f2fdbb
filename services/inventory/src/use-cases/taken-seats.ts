// Refusing a hold of seats that are already taken without a lock or a database call (issue 14). In an on-sale
// most attempts ask for seats somebody already holds: each of them cost six Redlock scripts and a place in a
// hold batch to learn what the availability stream already says. So each replica keeps, for the events buyers
// are holding seats of now, every seat's status as of a sequence number: the event's snapshot with every later
// numbered change applied in order (domain/seat-state.ts). Changes carry absolute states and every seat status
// change is one (changes.ts), so that state is the database's at that seq.
//
// Only a refusal is answered from it, never a grant: Postgres's conditional write still decides every hold
// that may succeed, so the view can make no seat be sold twice. What it can do is refuse a seat freed a moment
// ago: it learns this replica's own changes when the sequencer numbers them (before the answer of the request
// that made them), and other replicas' through the same pub/sub message the live streams get (milliseconds
// later), or, if that message was lost, from the database at the next sync (`syncMs`). While a change is
// missing before later ones, or the event is cancelled, or a requested seat is not in the view, the view says
// nothing and the hold takes the full path (openapi.yaml, createHold, says the same).
import type { Logger, PubSub, Sequelize } from '@eventtickets/platform';
import { loadSnapshotJson } from '../db/availability.ts';
import { changesSince } from '../db/changes.ts';
import { currentSeqs } from '../db/events.ts';
import { EventSeatState } from '../domain/seat-state.ts';
import { changesOfMessage, channelFor } from './availability-stream.ts';
import type { AvailabilityChange, AvailabilitySnapshot } from '../domain/types.ts';

export interface TakenSeatsOptions {
  db: Sequelize;
  pubsub: PubSub;
  logger: Logger;
  /** How often each tracked event's seq is compared with the database's (a lost pub/sub message). */
  syncMs: number;
  /** An event nobody tried to hold seats of for this long is dropped (and its subscription ended). */
  idleMs: number;
  /** Events tracked at once; the least recently used is dropped for a new one. */
  maxEvents?: number;
}

interface Tracked {
  /** Undefined while the snapshot loads. */
  state?: EventSeatState;
  /** Changes received while the snapshot loads. */
  early: AvailabilityChange[];
  usedAt: number;
  subscription: Promise<() => Promise<void>>;
  filling: boolean;
}

export interface TakenSeatsView {
  /** The requested seats known to be taken (sorted), or undefined when the view cannot refuse this hold (it
   *  starts tracking an event it does not know yet). */
  refusal: (eventId: string, seatIds: readonly string[]) => string[] | undefined;
  /** Changes of one event numbered by this replica's sequencer (ascending seq). */
  observe: (eventId: string, changes: AvailabilityChange[]) => void;
  /** The seq the view of an event is at (undefined: not tracked or still loading). */
  seqOf: (eventId: string) => number | undefined;
  close: () => void;
}

const DEFAULT_MAX_EVENTS = 64;

export function createTakenSeatsView(opts: TakenSeatsOptions): TakenSeatsView {
  const { db, logger } = opts;
  const tracked = new Map<string, Tracked>();
  const maxEvents = opts.maxEvents ?? DEFAULT_MAX_EVENTS;

  function forget(eventId: string): void {
    const entry = tracked.get(eventId);
    if (!entry) return;
    tracked.delete(eventId);
    entry.subscription
      .then((off) => off())
      .catch((err) => logger.warn({ err, eventId }, 'taken-seats view: unsubscribe failed'));
  }

  function track(eventId: string): void {
    if (tracked.size >= maxEvents) {
      let oldest: [string, Tracked] | undefined;
      for (const e of tracked) if (!oldest || e[1].usedAt < oldest[1].usedAt) oldest = e;
      if (oldest) forget(oldest[0]);
    }
    const entry: Tracked = {
      early: [],
      usedAt: Date.now(),
      filling: false,
      subscription: opts.pubsub.subscribe(channelFor(eventId), (message) => onMessage(eventId, message)),
    };
    tracked.set(eventId, entry);
    void load(eventId, entry);
  }

  /** Subscribed first, then the snapshot: a change committed meanwhile is either in it or arrives after. */
  async function load(eventId: string, entry: Tracked): Promise<void> {
    try {
      await entry.subscription;
      const snapshot = await loadSnapshotJson(db, eventId);
      if (tracked.get(eventId) !== entry) return;
      if (!snapshot) return forget(eventId);
      const state = new EventSeatState(JSON.parse(snapshot.json) as AvailabilitySnapshot);
      state.apply(entry.early);
      entry.early = [];
      entry.state = state;
      if (state.gapBefore !== undefined) await fill(eventId, entry, state.gapBefore - 1);
    } catch (err) {
      logger.warn({ err, eventId }, 'taken-seats view: could not load the event; holds take the full path');
      forget(eventId);
    }
  }

  /** Reads the changes after the state's seq up to `upto` from the change log (pruned: the event is dropped and
   *  loaded again by its next hold). */
  async function fill(eventId: string, entry: Tracked, upto: number): Promise<void> {
    const state = entry.state;
    if (!state || entry.filling || upto <= state.seq) return;
    entry.filling = true;
    try {
      const missed = await changesSince(db, eventId, state.seq, upto);
      if (tracked.get(eventId) !== entry) return;
      if (!missed) return forget(eventId);
      state.apply(missed);
    } finally {
      entry.filling = false;
    }
  }

  function observe(eventId: string, changes: AvailabilityChange[]): void {
    const entry = tracked.get(eventId);
    if (!entry) return;
    if (!entry.state) {
      entry.early.push(...changes);
      return;
    }
    entry.state.apply(changes);
    const gap = entry.state.gapBefore;
    if (gap !== undefined)
      fill(eventId, entry, gap - 1).catch((err) => logger.warn({ err, eventId }, 'taken-seats view: fill failed'));
  }

  function onMessage(eventId: string, message: string): void {
    const changes = changesOfMessage(message);
    if (changes) observe(eventId, changes);
    else logger.warn({ eventId }, 'taken-seats view: ignoring a malformed availability message');
  }

  function refusal(eventId: string, seatIds: readonly string[]): string[] | undefined {
    const entry = tracked.get(eventId);
    if (!entry) {
      track(eventId);
      return undefined;
    }
    entry.usedAt = Date.now();
    const taken = entry.state?.takenAmong(seatIds);
    return taken?.length ? taken.sort() : undefined;
  }

  /** Drops idle events; brings every other one up to the database's seq (a lost message, a quiet replica). */
  async function sync(): Promise<void> {
    const now = Date.now();
    for (const [eventId, entry] of tracked) if (now - entry.usedAt > opts.idleMs) forget(eventId);
    const ready = [...tracked].filter(([, e]) => e.state && !e.filling);
    if (!ready.length) return;
    const seqs = await currentSeqs(
      db,
      ready.map(([id]) => id),
    );
    for (const [eventId, entry] of ready) {
      const dbSeq = seqs.get(eventId);
      if (dbSeq === undefined) forget(eventId);
      else await fill(eventId, entry, dbSeq);
    }
  }

  let syncing = false;
  const timer = setInterval(() => {
    if (syncing || !tracked.size) return;
    syncing = true;
    sync()
      .catch((err) => logger.warn({ err }, 'taken-seats view: sync failed'))
      .finally(() => (syncing = false));
  }, opts.syncMs);
  timer.unref();

  function close(): void {
    clearInterval(timer);
    for (const eventId of [...tracked.keys()]) forget(eventId);
  }

  return { refusal, observe, seqOf: (eventId) => tracked.get(eventId)?.state?.seq, close };
}
