// Live viewers of one event's availability stream, for the on-sale benchmarks: `count` SSE connections through
// the gateway, and for every change two latencies to each viewer (both printed, both in the JSON):
//
//   hold sent -> viewer      from the moment the hold that caused the change was SENT (its scheduled time in an
//                            open loop) to the change's arrival at each viewer. It contains the hold's own
//                            queueing before its commit (gateway, inventory, database): on a saturated machine
//                            with 500 requests in flight that is seconds, and not the streams' doing. Kept, as
//                            the figure of the earlier runs (same rule).
//   hold answered -> viewer  THE DELIVERY LATENCY: from the moment the hold's 201 reached the client (its
//                            commit, seen from outside) to the change's arrival at each viewer. A viewer that
//                            had the change before the buyer had the 201 counts 0 ms (counted: beforeAnswer).
//
//   const viewers = openViewers({ gatewayUrl, eventId, count: 10_000 });
//   await viewers.ready;                                        // every viewer has its snapshot (or failed)
//   viewers.markChange(['s0001', 's0002'], performance.now());   // just before sending the hold
//   viewers.markAnswered(['s0001', 's0002'], performance.now(), sentAt);   // its 201 arrived
//   const stats = await viewers.stop();   // { opened, failed, sentToViewer, answeredToViewer, definitions, ... }
//
// Times given to openViewers' handle are the caller's performance.now(). By default the viewers run in a worker
// thread (load/onsale/viewers-worker.ts) with their own event loop, so reading 10,000 sockets never delays the
// caller's holds nor the times it records (before, a flush to 10,000 viewers held the hold driver's event loop
// as long as it held the gateway's); `inProcess: true` keeps the old arrangement. Across the two threads times
// travel as epoch milliseconds (performance.timeOrigin + performance.now()).
//
// Matching a change to its cause: a 201 (markAnswered) is matched to the change whose seats are exactly its
// seats, all 'held' (a granted hold's seats belong to no other granted hold); its send time, when given, is the
// change's cause. Otherwise the cause is a sequence-number mark (markChange(seq, at)) or a seat mark
// (markChange(seatIds, at)): the latest mark of that seat set before the change's first arrival (older marks of
// the same set are dropped, as attempts that lost). Every arrival time is kept until stop(), so the order in
// which marks and arrivals reach the viewers' thread does not matter. Unmatched changes (expiry, releases
// nobody marked) are counted, not timed.
//
// The client is built to cost little per delivery, so the figures are the server's: one raw TCP socket per
// viewer (the HTTP/1.1 request written by hand, the response's head checked, its chunked body decoded here,
// every read into one buffer shared by all sockets through `onread`: ~40% less CPU per message than node:http's
// parser and IncomingMessage stream, 25 -> 14 µs with 2,000 viewers), the snapshot skipped without parsing, a
// `changes` message's JSON (an array of changes, the contract's batching) parsed once (at its first arrival; the
// other viewers get the same bytes and find it in a cache), one arrival time kept per message and viewer (not
// per change), and latencies counted in a 0.1 ms histogram at stop().
import net from 'node:net';
import { Worker } from 'node:worker_threads';

export interface ViewersOptions {
  gatewayUrl: string;
  eventId: string;
  count: number;
  headers?: Record<string, string>;
  /** Streams being opened at once (default 200). */
  openConcurrency?: number;
  /** Read the streams on the caller's event loop instead of a worker thread (the arrangement before). */
  inProcess?: boolean;
}

export interface Latency {
  /** Timed deliveries (a matched change arriving at one viewer). */
  deliveries: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

export const DEFINITIONS = {
  sentToViewer:
    "hold sent -> viewer: from the moment the hold request that caused the change was sent (its scheduled time in an open loop) to the change's arrival at each viewer; includes the hold's own queueing before its commit",
  answeredToViewer:
    "hold answered -> viewer (the delivery latency): from the moment the hold's 201 reached the client (the commit, seen from outside) to the change's arrival at each viewer; a viewer that had the change before the buyer had the 201 counts 0 (beforeAnswer)",
} as const;

export interface ViewerStats {
  /** Viewers that got their snapshot. */
  opened: number;
  /** Viewers that got no snapshot (refused, error) or whose stream ended or broke before stop(). */
  failed: number;
  /** Deliveries timed from the hold's send (sentToViewer.deliveries; the name of the earlier runs). */
  deliveries: number;
  /** Matched changes that had not reached every open viewer by stop() (sum over changes). */
  missing: number;
  /** Distinct changes seen, and those matched to a cause. */
  changes: number;
  matched: number;
  /** hold sent -> viewer, as in the earlier runs (= sentToViewer). */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  sentToViewer: Latency;
  answeredToViewer: Latency & {
    /** Changes matched to a 201. */
    changes: number;
    /** Deliveries that reached the viewer before the buyer had the 201 (counted as 0 ms). */
    beforeAnswer: number;
  };
  definitions: typeof DEFINITIONS;
  client: 'worker thread' | 'in process';
}

export interface Viewers {
  ready: Promise<void>;
  /** A hold is about to be sent (its seats, or the change's sequence number), at the caller's performance.now(). */
  markChange: (key: number | string[], atMs: number) => void;
  /** A hold's 201 arrived (at `answeredAtMs`); `sentAtMs`, when given, is its request's send time. */
  markAnswered: (seats: string[], answeredAtMs: number, sentAtMs?: number) => void;
  /** Live counters, for a progress line: deliveries are changes × viewers, messages the `changes` messages
   *  received by all viewers (one socket write each at the gateway). */
  progress: () => { opened: number; failed: number; deliveries: number; messages: number };
  stop: () => Promise<ViewerStats>;
}

/** The same, every time in epoch milliseconds (performance.timeOrigin + performance.now()). */
export type ViewerClient = Viewers;

const BUCKET_MS = 0.1;
const BUCKETS = 600_000; // 60 s

function histogram() {
  const counts = new Uint32Array(BUCKETS + 1);
  let n = 0;
  let max = 0;
  return {
    record(ms: number): void {
      const v = Math.max(0, ms);
      counts[Math.min(BUCKETS, Math.round(v / BUCKET_MS))]++;
      n++;
      if (v > max) max = v;
    },
    summary(): Latency {
      const at = (p: number) => {
        if (!n) return NaN;
        const rank = Math.ceil((p / 100) * n);
        let seen = 0;
        for (let i = 0; i <= BUCKETS; i++) {
          seen += counts[i];
          if (seen >= rank) return i * BUCKET_MS;
        }
        return max;
      };
      return { deliveries: n, p50Ms: at(50), p95Ms: at(95), p99Ms: at(99), maxMs: n ? max : NaN };
    },
  };
}

interface ChangeRecord {
  seq: number;
  /** Its seat ids, sorted, joined by ','. */
  key: string;
  /** Every seat of the change is 'held' (a grant). */
  held: boolean;
  /** The messages that carried it (a batch; a lagging viewer's replay). */
  messages: Message[];
}

/** A `changes` message (the same bytes for every viewer it was written to) and its arrival times. */
interface Message {
  records: ChangeRecord[];
  /** Arrival times (epoch ms) at the viewers, in the order this thread saw them. */
  arrivals: number[];
}

const arrivalsOf = (rec: ChangeRecord) => rec.messages.reduce((n, m) => n + m.arrivals.length, 0);

const now = () => performance.timeOrigin + performance.now();
const keyOf = (seats: readonly string[]) => [...seats].sort().join(',');

/** The viewers on this thread's event loop; every time is in epoch milliseconds. */
export function createViewerClient(opts: ViewersOptions, client: ViewerStats['client'] = 'in process'): ViewerClient {
  const url = new URL(`/api/events/${encodeURIComponent(opts.eventId)}/availability/stream`, opts.gatewayUrl);
  const requestHead =
    `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nAccept: text/event-stream\r\n` +
    Object.entries(opts.headers ?? {})
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('') +
    '\r\n';
  let arrivals = 0;
  /** `changes` messages received, all viewers (= the gateway's socket writes of changes). */
  let messagesIn = 0;
  let opened = 0;
  let failed = 0;
  let stopping = false;
  const sockets: net.Socket[] = [];
  const readBuffer = Buffer.allocUnsafe(256 * 1024);
  const changes = new Map<number, ChangeRecord>();
  /** A `changes` message's text → its changes' records (the gateway sends the same bytes to every viewer). */
  const messages = new Map<string, Message>();
  const seqMarks = new Map<number, number>();
  const seatMarks = new Map<string, number[]>();
  const answers = new Map<string, { at: number; sentAt?: number }[]>();
  let alive = 0;

  function messageOf(text: string): Message {
    let message = messages.get(text);
    if (message) return message;
    message = { records: [], arrivals: [] };
    messages.set(text, message);
    const dataAt = text.indexOf('\ndata: ');
    if (dataAt < 0) return message;
    const batch = JSON.parse(text.slice(dataAt + 7)) as { seq: number; seats?: Record<string, string> }[];
    for (const change of batch) {
      let rec = changes.get(change.seq);
      if (!rec) {
        const seats = change.seats ?? {};
        const ids = Object.keys(seats);
        rec = {
          seq: change.seq,
          key: keyOf(ids),
          held: ids.length > 0 && ids.every((id) => seats[id] === 'held'),
          messages: [],
        };
        changes.set(change.seq, rec);
      }
      rec.messages.push(message);
      message.records.push(rec);
    }
    return message;
  }

  function onChanges(text: string, at: number): void {
    messagesIn++;
    const message = messageOf(text);
    message.arrivals.push(at);
    arrivals += message.records.length;
  }

  /** Feeds a viewer's SSE bytes (the body, de-chunked) and calls back per complete message. */
  function sseScanner(onSnapshot: () => void): (chunk: Buffer, at: number) => void {
    let partial = '';
    let skipping = false;
    let lastNl = false;
    const finish = (at: number) => {
      if (skipping) onSnapshot();
      else if (partial.startsWith('event: changes')) onChanges(partial, at);
      else if (partial.startsWith('event: snapshot')) onSnapshot();
      partial = '';
      skipping = false;
    };
    return (chunk, at) => {
      let pos = 0;
      if (lastNl && chunk[0] === 10) {
        finish(at);
        pos = 1;
      }
      lastNl = false;
      while (pos < chunk.length) {
        const end = chunk.indexOf('\n\n', pos, 'latin1');
        const stop = end < 0 ? chunk.length : end;
        if (!skipping) {
          partial += chunk.toString('latin1', pos, stop);
          if (partial.length >= 15 && partial.startsWith('event: snapshot')) {
            skipping = true; // a snapshot (~250 KB for 10,000 seats) is not parsed
            partial = '';
          }
        }
        if (end < 0) {
          lastNl = chunk[chunk.length - 1] === 10;
          break;
        }
        finish(at);
        pos = end + 2;
      }
    };
  }

  /** One viewer: a raw socket, the request written by hand, the response head checked, the chunked body
   *  decoded here (no HTTP parser, no IncomingMessage stream per read: the client's CPU per message is a
   *  fraction of node:http's, and the bench's own work is what competes with the servers for the cores). */
  function openOne(): Promise<void> {
    return new Promise<void>((resolve) => {
      let settled = false;
      let gotSnapshot = false;
      const settle = (ok: boolean) => {
        if (settled) return;
        settled = true;
        if (ok) {
          opened++;
          alive++;
        } else failed++;
        resolve();
      };
      const scan = sseScanner(() => {
        if (!gotSnapshot) {
          gotSnapshot = true;
          settle(true);
        }
      });
      let state: 'head' | 'size' | 'data' | 'crlf' | 'raw' | 'done' = 'head';
      let head = '';
      let sizeLine = '';
      let remaining = 0;
      const onRead = (nread: number, into: Uint8Array) => {
        const at = now();
        const buf = Buffer.from(into.buffer, into.byteOffset, nread);
        let pos = 0;
        if (state === 'head') {
          const before = head.length;
          head += buf.toString('latin1');
          const end = head.indexOf('\r\n\r\n');
          if (end < 0) return;
          if (!/^HTTP\/1\.[01] 200 /.test(head)) {
            state = 'done';
            socket.destroy();
            settle(false);
            return;
          }
          state = /\r\ntransfer-encoding:[ \t]*chunked/i.test(head.slice(0, end)) ? 'size' : 'raw';
          pos = end + 4 - before;
          head = '';
        }
        while (pos < buf.length) {
          if (state === 'raw') {
            scan(pos ? buf.subarray(pos) : buf, at);
            pos = buf.length;
          } else if (state === 'size') {
            const nl = buf.indexOf(10, pos);
            sizeLine += buf.toString('latin1', pos, nl < 0 ? buf.length : nl);
            if (nl < 0) break;
            pos = nl + 1;
            remaining = parseInt(sizeLine, 16);
            sizeLine = '';
            if (!(remaining > 0)) {
              state = 'done'; // the last chunk: the stream ended
              socket.destroy();
              return;
            }
            state = 'data';
          } else if (state === 'data') {
            const take = Math.min(remaining, buf.length - pos);
            scan(buf.subarray(pos, pos + take), at);
            pos += take;
            remaining -= take;
            if (remaining === 0) {
              state = 'crlf';
              remaining = 2;
            }
          } else if (state === 'crlf') {
            const take = Math.min(remaining, buf.length - pos);
            pos += take;
            remaining -= take;
            if (remaining === 0) state = 'size';
          } else return;
        }
      };
      // `onread`: every read lands in one buffer shared by all the viewers (what is kept is copied out by
      // the scanner at once), no Buffer per read, no stream push or 'data' event
      const socket = net.connect({
        host: url.hostname,
        port: Number(url.port) || 80,
        onread: {
          buffer: readBuffer,
          callback: (nread, into) => {
            onRead(nread, into);
            return true; // keep reading
          },
        },
      });
      sockets.push(socket);
      socket.setNoDelay(true);
      socket.on('connect', () => socket.write(requestHead));
      const gone = () => {
        if (!settled) settle(false);
        else if (!stopping && gotSnapshot) {
          // a stream that ends or breaks during the run is a failed stream
          failed++;
          alive--;
          gotSnapshot = false;
        }
      };
      socket.on('error', gone);
      socket.on('close', gone);
    });
  }

  const ready = (async () => {
    let next = 0;
    const lanes = Array.from({ length: Math.min(opts.openConcurrency ?? 200, opts.count) }, async () => {
      while (next < opts.count) {
        next++;
        await openOne();
      }
    });
    await Promise.all(lanes);
  })();

  function markChange(key: number | string[], atMs: number): void {
    if (typeof key === 'number') {
      seqMarks.set(key, atMs);
      return;
    }
    const k = keyOf(key);
    const marks = seatMarks.get(k);
    if (marks) marks.push(atMs);
    else seatMarks.set(k, [atMs]);
  }

  function markAnswered(seats: string[], answeredAtMs: number, sentAtMs?: number): void {
    const k = keyOf(seats);
    const list = answers.get(k);
    const answer = { at: answeredAtMs, sentAt: sentAtMs };
    if (list) list.push(answer);
    else answers.set(k, [answer]);
  }

  /** The old rule: the latest mark of the seat set before the change's first arrival; older ones dropped. */
  function seatCause(key: string, firstArrival: number): number | undefined {
    const marks = seatMarks.get(key);
    if (!marks) return undefined;
    let cause: number | undefined;
    const later: number[] = [];
    for (const m of marks) {
      if (m <= firstArrival) cause = cause === undefined ? m : Math.max(cause, m);
      else later.push(m);
    }
    if (later.length) seatMarks.set(key, later);
    else seatMarks.delete(key);
    return cause;
  }

  async function stop(): Promise<ViewerStats> {
    await ready;
    // Let the changes in flight arrive (bounded): every change at every open viewer, and a change for every 201.
    const deadline = performance.now() + 5_000;
    const incomplete = () => {
      const seen = new Set<string>();
      for (const c of changes.values()) {
        if (arrivalsOf(c) < alive) return true;
        if (c.held) seen.add(c.key);
      }
      for (const key of answers.keys()) if (!seen.has(key)) return true;
      return false;
    };
    while (incomplete() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    stopping = true;
    for (const socket of sockets) socket.destroy();

    const sent = histogram();
    const answered = histogram();
    let missing = 0;
    let matched = 0;
    let answeredChanges = 0;
    let beforeAnswer = 0;
    for (const rec of [...changes.values()].sort((a, b) => a.seq - b.seq)) {
      const first = Math.min(...rec.messages.map((m) => m.arrivals[0]!)); // each message's are in order
      const answer = rec.held ? answers.get(rec.key)?.shift() : undefined;
      const bySeq = seqMarks.get(rec.seq);
      const bySeats = seatCause(rec.key, first); // consumed whatever the cause, as the marks of lost attempts
      const cause = answer?.sentAt ?? bySeq ?? bySeats;
      if (cause === undefined && !answer) continue;
      matched++;
      missing += Math.max(0, alive - arrivalsOf(rec));
      if (answer) answeredChanges++;
      for (const message of rec.messages)
        for (const at of message.arrivals) {
          if (cause !== undefined) sent.record(at - cause);
          if (answer) {
            if (at < answer.at) beforeAnswer++;
            answered.record(at - answer.at);
          }
        }
    }
    const s = sent.summary();
    return {
      opened,
      failed,
      deliveries: s.deliveries,
      missing,
      changes: changes.size,
      matched,
      p50Ms: s.p50Ms,
      p99Ms: s.p99Ms,
      maxMs: s.maxMs,
      sentToViewer: s,
      answeredToViewer: { ...answered.summary(), changes: answeredChanges, beforeAnswer },
      definitions: DEFINITIONS,
      client,
    };
  }

  return {
    ready,
    markChange,
    markAnswered,
    progress: () => ({ opened, failed, deliveries: arrivals, messages: messagesIn }),
    stop,
  };
}

/** Opens the viewers (in a worker thread unless opts.inProcess); times given are the caller's performance.now(). */
export function openViewers(opts: ViewersOptions): Viewers {
  const abs = (ms: number) => performance.timeOrigin + ms;
  if (opts.inProcess) {
    const c = createViewerClient(opts, 'in process');
    return {
      ready: c.ready,
      markChange: (key, at) => c.markChange(key, abs(at)),
      markAnswered: (seats, at, sentAt) =>
        c.markAnswered(seats, abs(at), sentAt === undefined ? undefined : abs(sentAt)),
      progress: c.progress,
      stop: c.stop,
    };
  }
  const worker = new Worker(new URL('./viewers-worker.ts', import.meta.url), { workerData: opts });
  let last = { opened: 0, failed: 0, deliveries: 0, messages: 0 };
  let resolveReady!: () => void;
  let rejectAll!: (err: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectAll = reject;
  });
  let resolveStats: ((s: ViewerStats) => void) | undefined;
  let rejectStats: ((err: Error) => void) | undefined;
  worker.on('message', (m: { type: string; progress?: typeof last; stats?: ViewerStats }) => {
    if (m.progress) last = m.progress;
    if (m.type === 'ready') resolveReady();
    else if (m.type === 'stats') resolveStats?.(m.stats!);
  });
  worker.on('error', (err) => {
    rejectAll(err);
    rejectStats?.(err);
  });
  return {
    ready,
    markChange: (key, at) => worker.postMessage({ type: 'mark', key, at: abs(at) }),
    markAnswered: (seats, at, sentAt) =>
      worker.postMessage({
        type: 'answered',
        seats,
        at: abs(at),
        sentAt: sentAt === undefined ? undefined : abs(sentAt),
      }),
    progress: () => last,
    stop: async () => {
      const stats = await new Promise<ViewerStats>((resolve, reject) => {
        resolveStats = resolve;
        rejectStats = reject;
        worker.postMessage({ type: 'stop' });
      });
      await worker.terminate();
      return stats;
    },
  };
}

/** Wraps a hold pool so that every 201 to POST /api/holds is reported to the viewers: the time its answer
 *  (status and headers) arrived, and the time its request was handed to the pool. Seats are read from the JSON
 *  body the caller sends. The hold driver itself is untouched. */
export function reportingAnswers<P extends { request: (o: any) => Promise<{ statusCode: number }> }>(
  pool: P,
  viewers: Pick<Viewers, 'markAnswered'>,
): P {
  return new Proxy(pool, {
    get(target, prop) {
      if (prop !== 'request') {
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return async (options: { path?: string; method?: string; body?: unknown }) => {
        const sentAt = performance.now();
        const res = await target.request(options);
        if (res.statusCode === 201 && options.method === 'POST' && options.path === '/api/holds') {
          const answeredAt = performance.now();
          try {
            const seats = (JSON.parse(String(options.body)) as { seats?: unknown }).seats;
            if (Array.isArray(seats)) viewers.markAnswered(seats as string[], answeredAt, sentAt);
          } catch {
            /* not a JSON hold body: nothing to report */
          }
        }
        return res;
      };
    },
  });
}
