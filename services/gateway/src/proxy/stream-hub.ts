// Fan-out of a public live stream (a route with `fanout: true`: an event's availability): ONE upstream SSE
// stream per path, however many viewers watch it, shared at the gateway. Each hub keeps the event's current
// snapshot (inventory's last snapshot with every later change folded in) and a short replay buffer of the
// latest changes, so a new viewer gets the snapshot at once and a viewer who reconnects with Last-Event-ID
// gets exactly what it missed, without any upstream call. The upstream request carries no user identity:
// the stream is public and the same for everyone.
//
// Viewers never take a connection from the request/response pool: the upstream streams go through their own
// undici Agent (deps.ts), one connection per watched event, so buyers' calls never queue behind viewers.
//
// Writing one change to 10,000 sockets is 10,000 syscalls, on the event loop that also proxies the holds.
// So changes are coalesced (the contract's batching rule, inventory openapi.yaml streamAvailability): a flush
// writes everything that arrived since the last one as ONE `event: changes` message (data = the array of
// changes, id = the last seq), framed once as the HTTP chunk every viewer's connection carries and written
// straight to each viewer's socket: the same Buffer for every viewer, no copy, no per-viewer chunk header, no
// cork/uncork (ServerResponse.write costs ~4-9 µs of JS per call on top of the ~9-13 µs the kernel spends on
// a loopback write; load/RESULTS.md, "Viewers, second pass"). The writes are sliced by TIME: after `sliceMs`
// (5 ms) of writing, the flush yields with setImmediate, so the I/O that arrived meanwhile (a hold's request,
// its upstream answer, a Redis reply) runs before the next slice; a request/response call waits for at most
// one slice per I/O step, never for a whole flush. Flushes are at least `coalesceMs` (250 ms) apart, and the
// next one also waits FLUSH_COST_FACTOR times the CPU the last one's writing took. A change after a quiet
// spell goes out at once; under an on-sale a viewer gets at most ~4 messages/s whatever the hold rate, and
// fan-out takes at most ~1/(1+FACTOR) of the gateway's time.
import type { ServerResponse } from 'node:http';
import type { Context } from 'koa';
import type { Dispatcher } from 'undici';
import type { Logger } from '@eventtickets/platform';
import { HttpProblem, problems } from '@eventtickets/platform/errors';
import type { Route } from '../domain/routing.ts';
import {
  applyAvailabilityChange,
  type AvailabilityChangeDocument,
  type AvailabilityDocument,
} from '../domain/availability.ts';
import { parseLastEventId, SseParser, sseMessage, type SseMessage } from '../domain/sse.ts';
import { outgoingTraceHeaders } from '../domain/trace.ts';

export interface StreamHubMetrics {
  viewers: { inc: () => void; dec: () => void };
  upstreamStreams: { inc: () => void; dec: () => void };
  viewersDropped: { inc: () => void };
}

export interface StreamHubOptions {
  upstreams: Partial<Record<string, string>>;
  /** The streams' own pool (never the request/response one). */
  dispatcher: Dispatcher;
  logger: Logger;
  metrics: StreamHubMetrics;
  /** How long the first viewer waits for the upstream's answer (the route's timeout). */
  defaultTimeoutMs: number;
  heartbeatMs: number;
  /** Changes kept for Last-Event-ID resume (older ones: the viewer gets the snapshot). */
  replayChanges: number;
  /** Bytes waiting for a viewer that stopped reading before it is dropped (it resumes with Last-Event-ID). */
  maxBufferedBytes: number;
  /** How long a hub outlives its last viewer (a page reload does not reopen the upstream stream). */
  lingerMs: number;
  onFailure?: (service: string, reason: 'unconfigured' | 'unreachable' | 'timeout') => void;
  /** Flushes to viewers are at least this far apart (STREAM_COALESCE_MS; default 250 ms, the contract's window). */
  coalesceMs?: number;
  /** A flush writes for at most this long before yielding to other I/O (default 5 ms; 0: after every write). */
  sliceMs?: number;
}

const PREAMBLE = Buffer.from('retry: 2000\n\n');
const PING = Buffer.from(': ping\n\n');
const CRLF = Buffer.from('\r\n');
/** Writing time per slice of a flush before yielding to other I/O. */
const DEFAULT_SLICE_MS = 5;
/** The pause after a flush is this many times the CPU its writing took (this thread's, kernel part included:
 *  the writes go straight to the sockets; res.write deferred the syscalls to a nextTick uncork, out of the
 *  measured slice, so the old factor 3 gave fan-out ~1/2 of the gateway's time). 2 keeps it below ~1/3 with
 *  about the old cadence (10,000 viewers: ~130 ms of writes, a flush every ~400 ms). CPU, not wall clock: on
 *  a machine where the gateway waits for a core, a wall-clock pause stretched with every preemption (a flush
 *  every ~5 s at load 14 in a smoke run), so viewers were late without any work saved. */
const FLUSH_COST_FACTOR = 2;
/** A snapshot older than this many changes is re-serialised for a new viewer instead of replayed. */
const MAX_SNAPSHOT_TAIL = 64;
/** Changes per `changes` message at most (the contract's maxItems). */
const MAX_CHANGES_PER_MESSAGE = 500;
const DEFAULT_COALESCE_MS = 250;

interface Viewer {
  res: ServerResponse;
  /** The last sequence number this viewer was sent. */
  seq: number;
  closed: boolean;
  /** How a message travels on this viewer's connection once its headers are out: as an HTTP/1.1 chunk, or
   *  as is (HTTP/1.0: the body ends with the connection); undefined: through res.write (no socket of its own
   *  yet, e.g. a pipelined request). */
  framing?: 'chunked' | 'raw';
}

/** One message, encoded once for every viewer: as is, and framed as one HTTP/1.1 chunk. */
interface Outgoing {
  raw: Buffer;
  chunk: Buffer;
}

function outgoing(raw: Buffer): Outgoing {
  return { raw, chunk: Buffer.concat([Buffer.from(`${raw.length.toString(16)}\r\n`, 'latin1'), raw, CRLF]) };
}

const PING_OUT = outgoing(PING);

interface Buffered {
  seq: number;
  /** The hub's sequence number before this change (the changes may skip numbers). */
  prevSeq: number;
  /** The change document as JSON text. */
  json: string;
}

/** `event: changes` messages for consecutive changes (at most MAX_CHANGES_PER_MESSAGE each). */
function changesMessages(changes: readonly Buffered[]): Buffer {
  if (!changes.length) return Buffer.alloc(0);
  let out = '';
  for (let i = 0; i < changes.length; i += MAX_CHANGES_PER_MESSAGE) {
    const part = changes.slice(i, i + MAX_CHANGES_PER_MESSAGE);
    out += `event: changes\nid: ${part[part.length - 1]!.seq}\ndata: [${part.map((c) => c.json).join(',')}]\n\n`;
  }
  return Buffer.from(out);
}

type Failure =
  { kind: 'answer'; status: number; contentType?: string; body: Buffer } | { kind: 'problem'; problem: HttpProblem };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

function errorCode(err: unknown): string | undefined {
  const e = err as { code?: string; cause?: { code?: string } } | null;
  return e?.code ?? e?.cause?.code;
}

class Hub {
  readonly key: string;
  private readonly opts: StreamHubOptions;
  private readonly origin: string;
  private readonly path: string;
  private readonly service: string;
  private readonly timeoutMs: number;
  private readonly onEmpty: (hub: Hub) => void;
  readonly viewers = new Set<Viewer>();
  readonly ready: Promise<void>;
  private resolveReady!: () => void;
  private rejectReady!: (f: Failure) => void;
  private established = false;
  private closed = false;
  private controller?: AbortController;
  private doc?: AvailabilityDocument;
  private seq = 0;
  private ring: Buffered[] = [];
  private snapshot?: { seq: number; bytes: Buffer };
  private pending: Buffered[] = [];
  private pendingFrom = 0;
  private flushing = false;
  private pinging = false;
  private flushTimer?: NodeJS.Timeout;
  private nextFlushAt = 0;
  private lastFlushAt = -Infinity;
  private lingerTimer?: NodeJS.Timeout;

  constructor(
    key: string,
    origin: string,
    path: string,
    route: Route,
    opts: StreamHubOptions,
    onEmpty: (h: Hub) => void,
  ) {
    this.key = key;
    this.origin = origin;
    this.path = path;
    this.service = route.service;
    this.timeoutMs = route.timeoutMs ?? opts.defaultTimeoutMs;
    this.opts = opts;
    this.onEmpty = onEmpty;
    this.ready = new Promise<void>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => undefined); // observed by the viewers that wait for it
    void this.run();
  }

  /** The upstream loop: open, read, and on a break reconnect with Last-Event-ID while viewers stay. */
  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.closed) {
      const controller = new AbortController();
      this.controller = controller;
      let counted = false;
      try {
        const trace = outgoingTraceHeaders(undefined, undefined);
        const headers: Record<string, string> = {
          accept: 'text/event-stream',
          'user-agent': 'eventtickets-gateway-fanout',
          traceparent: trace.traceparent,
        };
        if (this.established) headers['last-event-id'] = String(this.seq);
        const timer = setTimeout(() => controller.abort(new Error('timeout')), this.timeoutMs);
        let res: Dispatcher.ResponseData;
        try {
          res = await this.opts.dispatcher.request({
            origin: this.origin,
            path: this.path,
            method: 'GET',
            headers,
            signal: controller.signal,
            headersTimeout: this.timeoutMs + 1_000,
            bodyTimeout: 0,
          });
        } finally {
          clearTimeout(timer);
        }
        if (res.statusCode !== 200) {
          const body = Buffer.from(await res.body.arrayBuffer());
          const contentType = res.headers['content-type'];
          const answer: Failure = {
            kind: 'answer',
            status: res.statusCode,
            contentType: typeof contentType === 'string' ? contentType : undefined,
            body,
          };
          if (!this.established || res.statusCode < 500) return this.fail(answer); // e.g. 404 event-not-found
          throw new Error(`upstream answered ${res.statusCode}`);
        }
        this.opts.metrics.upstreamStreams.inc();
        counted = true;
        const parser = new SseParser();
        res.body.setEncoding('utf8');
        for await (const chunk of res.body as AsyncIterable<string>) {
          for (const msg of parser.push(chunk)) this.onMessage(msg);
          if (this.established) attempt = 0;
        }
        // The service ended the stream (it is shutting down): reconnect, the viewers stay.
      } catch (err) {
        if (this.closed) return;
        if (!this.established) {
          const timedOut = controller.signal.aborted || /TIMEOUT/.test(errorCode(err) ?? '');
          this.opts.onFailure?.(this.service, timedOut ? 'timeout' : 'unreachable');
          return this.fail({
            kind: 'problem',
            problem: timedOut
              ? problems.gatewayTimeout(`The ${this.service} service did not answer within ${this.timeoutMs} ms`)
              : problems.badGateway(
                  `The ${this.service} service could not be reached (${errorCode(err) ?? 'connection failed'})`,
                ),
          });
        }
        this.opts.logger.warn({ err, path: this.path }, 'shared upstream stream broke; reconnecting');
      } finally {
        if (counted) this.opts.metrics.upstreamStreams.dec();
      }
      if (this.closed) return;
      if (!this.established) {
        // Ended before its first snapshot: nothing to serve.
        return this.fail({ kind: 'problem', problem: problems.badGateway(`The ${this.service} stream ended at once`) });
      }
      await sleep(Math.min(5_000, 250 * 2 ** attempt++));
    }
  }

  private fail(failure: Failure): void {
    if (this.established) {
      // The stream is gone for good (e.g. the event no longer exists): end every viewer; they reconnect
      // and get the service's answer themselves.
      this.close();
      return;
    }
    this.rejectReady(failure);
    this.close();
  }

  private onMessage(msg: SseMessage): void {
    if (msg.commentOnly) return; // heartbeats and retry: the hub sends its own
    if (msg.event === 'snapshot') {
      const doc = JSON.parse(msg.data) as AvailabilityDocument;
      const seq = msg.id !== undefined ? Number(msg.id) : doc.seq;
      this.doc = doc;
      this.seq = seq;
      this.ring = [];
      this.snapshot = { seq, bytes: Buffer.from(msg.raw) };
      if (!this.established) {
        this.established = true;
        this.pendingFrom = seq;
        this.resolveReady();
        if (!this.viewers.size) this.startLinger(); // its first viewer may have left while it opened
        return;
      }
      // A reset (the service's log no longer covered the gap): everyone starts again from this snapshot.
      this.pending = [];
      this.pendingFrom = seq;
      for (const v of this.viewers) {
        this.write(v, this.snapshot.bytes);
        v.seq = seq;
      }
      return;
    }
    if ((msg.event === 'changes' || msg.event === 'change') && this.doc) {
      // `changes`: an array of consecutive changes; `change` (one document): an older inventory's form.
      const parsed = JSON.parse(msg.data) as AvailabilityChangeDocument | AvailabilityChangeDocument[];
      let added = false;
      for (const change of Array.isArray(parsed) ? parsed : [parsed]) {
        const seq = change.seq;
        if (!Number.isSafeInteger(seq) || seq <= this.seq) continue; // already folded in
        applyAvailabilityChange(this.doc, change);
        const entry: Buffered = { seq, prevSeq: this.seq, json: JSON.stringify(change) };
        this.ring.push(entry);
        this.seq = seq;
        this.pending.push(entry);
        added = true;
      }
      if (this.ring.length > this.opts.replayChanges) this.ring.splice(0, this.ring.length - this.opts.replayChanges);
      if (added) this.scheduleFlush();
      return;
    }
    this.opts.logger.warn({ event: msg.event, path: this.path }, 'ignoring an unexpected message on a shared stream');
  }

  private scheduleFlush(): void {
    if (this.flushing || this.flushTimer) return;
    const due = Math.max(this.nextFlushAt, this.lastFlushAt + (this.opts.coalesceMs ?? DEFAULT_COALESCE_MS));
    const wait = due - performance.now();
    if (wait <= 0) {
      this.flushing = true;
      setImmediate(() => void this.flush());
    } else this.flushTimer = setTimeout(() => void this.flush(), wait);
  }

  private async flush(): Promise<void> {
    this.flushTimer = undefined;
    this.flushing = true;
    this.lastFlushAt = performance.now();
    const from = this.pendingFrom;
    const to = this.seq;
    const batch = outgoing(changesMessages(this.pending));
    this.pending = [];
    this.pendingFrom = to;
    const spentUs = await this.sliced((v) => {
      if (v.closed || v.seq >= to) return;
      if (v.seq === from) this.write(v, batch);
      else this.write(v, this.replay(v.seq) ?? this.currentSnapshot());
      v.seq = to;
    });
    this.nextFlushAt = performance.now() + (FLUSH_COST_FACTOR * spentUs) / 1000;
    this.flushing = false;
    if (this.pending.length) this.scheduleFlush();
  }

  /** Calls `each` for every current viewer in time slices of `sliceMs`, yielding with setImmediate between
   *  them so the I/O that arrived meanwhile runs first; resolves with the CPU (µs) the slices took. */
  private async sliced(each: (v: Viewer) => void): Promise<number> {
    const sliceMs = this.opts.sliceMs ?? DEFAULT_SLICE_MS;
    let spentUs = 0;
    const viewers = [...this.viewers];
    let i = 0;
    while (i < viewers.length) {
      if (i > 0) await new Promise<void>((r) => setImmediate(r));
      const cpu0 = process.threadCpuUsage();
      const until = performance.now() + sliceMs;
      do each(viewers[i++]!);
      while (i < viewers.length && performance.now() < until);
      const cpu = process.threadCpuUsage(cpu0);
      spentUs += cpu.user + cpu.system;
    }
    return spentUs;
  }

  /** The changes after `seq` from the replay buffer, or undefined when it no longer covers them. */
  private replay(seq: number): Buffer | undefined {
    if (seq === this.seq) return Buffer.alloc(0);
    if (seq > this.seq || !this.ring.length || seq < this.ring[0]!.prevSeq) return undefined;
    return changesMessages(this.ring.filter((c) => c.seq > seq));
  }

  /** A snapshot of the current state: the last one plus the changes since (when few), else re-serialised. */
  private currentSnapshot(): Buffer {
    const snap = this.snapshot!;
    if (snap.seq !== this.seq) {
      const since =
        this.ring.length && snap.seq >= this.ring[0].prevSeq ? this.ring.filter((c) => c.seq > snap.seq) : undefined;
      if (since && since.length <= MAX_SNAPSHOT_TAIL) return Buffer.concat([snap.bytes, changesMessages(since)]);
      this.snapshot = { seq: this.seq, bytes: Buffer.from(sseMessage('snapshot', this.seq, this.doc)) };
    }
    return this.snapshot!.bytes;
  }

  /** Writes a message (an Outgoing: already framed; a Buffer: one viewer's own, framed by res.write). */
  private write(v: Viewer, bytes: Outgoing | Buffer): void {
    if (v.closed) return;
    const res = v.res;
    // Measured before writing, so one large message (a big venue's snapshot) never counts against a viewer on
    // its own. A viewer that stopped reading is dropped; its EventSource reconnects with Last-Event-ID.
    if (res.writableLength > this.opts.maxBufferedBytes) {
      this.opts.metrics.viewersDropped.inc();
      this.detach(v);
      res.destroy();
      return;
    }
    if (Buffer.isBuffer(bytes)) {
      if (bytes.length) res.write(bytes);
    } else if (!bytes.raw.length) return;
    else if (v.framing && res.socket) res.socket.write(v.framing === 'chunked' ? bytes.chunk : bytes.raw);
    else res.write(bytes.raw);
  }

  /** `: ping` to every viewer, in slices like a flush (10,000 writes at once blocked the loop ~130 ms every
   *  STREAM_HEARTBEAT_MS); skipped when a flush went out within the interval (changes keep the connections
   *  alive, e.g. all through an on-sale). */
  heartbeat(): void {
    if (this.closed || this.pinging || performance.now() - this.lastFlushAt < this.opts.heartbeatMs) return;
    this.pinging = true;
    void this.sliced((v) => this.write(v, PING_OUT)).finally(() => (this.pinging = false));
  }

  /** Starts streaming to a viewer whose response headers are not sent yet. */
  attach(ctx: Context, lastEventId: number | undefined): void {
    if (this.lingerTimer) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
    }
    const res = ctx.res;
    const viewer: Viewer = { res, seq: this.seq, closed: false };
    this.viewers.add(viewer);
    this.opts.metrics.viewers.inc();
    res.once('close', () => this.detach(viewer));
    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    ctx.status = 200; // for the access log and metrics
    ctx.respond = false;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    });
    const resumed = lastEventId === undefined ? undefined : this.replay(lastEventId);
    res.write(PREAMBLE); // the headers go out with it
    // From here the response is its socket's current message with its headers sent (a response still waiting
    // for its socket, behind a pipelined one, keeps going through res.write): flushes frame a message once and
    // write it to the socket directly.
    if (res.socket) viewer.framing = res.chunkedEncoding ? 'chunked' : 'raw';
    this.write(viewer, resumed ?? this.currentSnapshot());
  }

  private detach(v: Viewer): void {
    if (v.closed) return;
    v.closed = true;
    if (!this.viewers.delete(v)) return;
    this.opts.metrics.viewers.dec();
    if (this.viewers.size === 0) this.startLinger();
  }

  private startLinger(): void {
    if (this.closed || this.lingerTimer) return;
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = undefined;
      if (this.viewers.size === 0) this.close();
    }, this.opts.lingerMs).unref();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.flushTimer);
    clearTimeout(this.lingerTimer);
    this.controller?.abort();
    for (const v of [...this.viewers]) {
      this.detach(v);
      v.res.end();
    }
    this.onEmpty(this);
  }
}

export interface StreamHubs {
  /** Serves a fan-out route: attaches the viewer to its path's hub (opening the upstream stream if none). */
  serve: (ctx: Context, route: Route) => Promise<void>;
  /** Open hubs (upstream streams) and their viewers, for tests and the benchmark. */
  stats: () => { hubs: number; viewers: number };
  /** Ends every viewer and upstream stream (shutdown). */
  close: () => void;
}

export function createStreamHubs(opts: StreamHubOptions): StreamHubs {
  const hubs = new Map<string, Hub>();
  const bases = new Map<string, URL>();
  for (const [service, url] of Object.entries(opts.upstreams)) if (url) bases.set(service, new URL(url));
  let closed = false;

  const heartbeat = setInterval(() => {
    for (const hub of hubs.values()) hub.heartbeat();
  }, opts.heartbeatMs);
  heartbeat.unref();

  async function serve(ctx: Context, route: Route): Promise<void> {
    const base = bases.get(route.service);
    if (!base) {
      opts.onFailure?.(route.service, 'unconfigured');
      throw problems.unavailable(`The ${route.service} service is not configured on this gateway`);
    }
    if (closed) throw problems.unavailable('The gateway is shutting down');
    const path = base.pathname.replace(/\/$/, '') + ctx.url;
    const key = `${route.service} ${path}`;
    let hub = hubs.get(key);
    if (!hub) {
      hub = new Hub(key, base.origin, path, route, opts, (h) => {
        if (hubs.get(h.key) === h) hubs.delete(h.key);
      });
      hubs.set(key, hub);
    }
    try {
      await hub.ready;
    } catch (failure) {
      const f = failure as Failure;
      if (f.kind === 'problem') throw f.problem;
      ctx.status = f.status;
      if (f.contentType) ctx.set('content-type', f.contentType);
      ctx.body = f.body;
      return;
    }
    if (ctx.res.destroyed) return; // the viewer left while the stream opened
    hub.attach(ctx, parseLastEventId(ctx.get('last-event-id') || undefined));
  }

  return {
    serve,
    stats: () => ({ hubs: hubs.size, viewers: [...hubs.values()].reduce((n, h) => n + h.viewers.size, 0) }),
    close: () => {
      closed = true;
      clearInterval(heartbeat);
      for (const hub of [...hubs.values()]) hub.close();
    },
  };
}
