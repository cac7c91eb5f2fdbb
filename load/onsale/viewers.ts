// Live viewers of one event's availability stream, for the on-sale benchmarks: `count` SSE connections through
// the gateway, and for every change the time from when it was caused (the caller's markChange) to its arrival
// at each viewer.
//
//   const viewers = openViewers({ gatewayUrl, eventId, count: 10_000 });
//   await viewers.ready;                              // every viewer has its snapshot (or failed)
//   viewers.markChange(['s0001', 's0002'], performance.now());   // just before sending the hold
//   ... holds ...
//   const stats = await viewers.stop();               // { opened, failed, deliveries, p50Ms, p99Ms, maxMs, ... }
//
// Times are performance.now() milliseconds of this process. A change is matched to its cause by its sequence
// number (markChange(seq, at)) or by its seat ids (markChange(seatIds, at): the change whose seats are exactly
// those; when a seat set was marked several times, the latest mark before the change's first arrival is its
// cause and the older ones are dropped, as attempts that lost). Unmatched changes (expiry, releases nobody
// marked) are counted, not timed.
//
// The client is built to cost little per delivery, so the figures are the server's: one raw node:http socket
// per viewer, the snapshot skipped without parsing, a `changes` message's JSON (an array of changes, the
// contract's batching) parsed once (at its first arrival; the other viewers get the same bytes and find it in a
// cache), and latencies counted in a 0.1 ms histogram instead of kept one by one.
import http from 'node:http';

export interface ViewersOptions {
  gatewayUrl: string;
  eventId: string;
  count: number;
  headers?: Record<string, string>;
  /** Streams being opened at once (default 200). */
  openConcurrency?: number;
}

export interface ViewerStats {
  /** Viewers that got their snapshot. */
  opened: number;
  /** Viewers that got no snapshot (refused, error) or whose stream ended or broke before stop(). */
  failed: number;
  /** Timed deliveries (a matched change arriving at one viewer). */
  deliveries: number;
  /** Matched changes that had not reached every open viewer by stop() (sum over changes). */
  missing: number;
  /** Distinct changes seen, and those matched to a mark. */
  changes: number;
  matched: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface Viewers {
  ready: Promise<void>;
  markChange: (key: number | string[], atMs: number) => void;
  /** Live counters, for a progress line. */
  progress: () => { opened: number; failed: number; deliveries: number };
  stop: () => Promise<ViewerStats>;
}

const BUCKET_MS = 0.1;
const BUCKETS = 600_000; // 60 s

interface ChangeRecord {
  key: string;
  cause?: number;
  arrivals: number;
  /** Arrival times waiting for their cause (a seq mark that comes later). */
  waiting?: number[];
}

export function openViewers(opts: ViewersOptions): Viewers {
  const url = new URL(`/api/events/${encodeURIComponent(opts.eventId)}/availability/stream`, opts.gatewayUrl);
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const histogram = new Uint32Array(BUCKETS + 1);
  let deliveries = 0;
  let maxMs = 0;
  let opened = 0;
  let failed = 0;
  let stopping = false;
  const requests: http.ClientRequest[] = [];
  const changes = new Map<number, ChangeRecord>();
  /** A `changes` message's text → its changes' records (the gateway sends the same bytes to every viewer). */
  const messages = new Map<string, ChangeRecord[]>();
  const seqMarks = new Map<number, number>();
  const seatMarks = new Map<string, number[]>();
  let alive = 0;

  function record(ms: number): void {
    const v = Math.max(0, ms);
    histogram[Math.min(BUCKETS, Math.round(v / BUCKET_MS))]++;
    deliveries++;
    if (v > maxMs) maxMs = v;
  }

  function causeOf(seq: number, key: string, at: number): number | undefined {
    const bySeq = seqMarks.get(seq);
    if (bySeq !== undefined) {
      seqMarks.delete(seq);
      return bySeq;
    }
    const marks = seatMarks.get(key);
    if (!marks) return undefined;
    let cause: number | undefined;
    let keep = 0;
    for (const m of marks) if (m <= at) cause = cause === undefined ? m : Math.max(cause, m);
    for (const m of marks) if (m > at) marks[keep++] = m;
    marks.length = keep;
    if (!keep) seatMarks.delete(key);
    return cause;
  }

  function recordsOf(text: string, at: number): ChangeRecord[] {
    let recs = messages.get(text);
    if (recs) return recs;
    const dataAt = text.indexOf('\ndata: ');
    if (dataAt < 0) return [];
    const batch = JSON.parse(text.slice(dataAt + 7)) as { seq: number; seats?: Record<string, string> }[];
    recs = [];
    for (const change of batch) {
      let rec = changes.get(change.seq);
      if (!rec) {
        const key = Object.keys(change.seats ?? {})
          .sort()
          .join(',');
        rec = { key, arrivals: 0, cause: causeOf(change.seq, key, at) };
        changes.set(change.seq, rec);
      }
      recs.push(rec);
    }
    messages.set(text, recs);
    return recs;
  }

  function onChanges(text: string, at: number): void {
    for (const rec of recordsOf(text, at)) {
      rec.arrivals++;
      if (rec.cause !== undefined) record(at - rec.cause);
      else (rec.waiting ??= []).push(at);
    }
  }

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
      const req = http.get(url, { agent, headers: { accept: 'text/event-stream', ...opts.headers } }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          settle(false);
          return;
        }
        let partial = '';
        let skipping = false;
        let lastNl = false;
        const finish = (at: number) => {
          if (skipping) {
            if (!gotSnapshot) {
              gotSnapshot = true;
              settle(true);
            }
          } else if (partial.startsWith('event: changes')) onChanges(partial, at);
          else if (partial.startsWith('event: snapshot') && !gotSnapshot) {
            gotSnapshot = true;
            settle(true);
          }
          partial = '';
          skipping = false;
        };
        res.on('data', (chunk: Buffer) => {
          const at = performance.now();
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
                skipping = true;
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
        });
        const gone = () => {
          if (!settled) settle(false);
          else if (!stopping && gotSnapshot) {
            // a stream that ends or breaks during the run is a failed stream
            failed++;
            alive--;
            gotSnapshot = false;
          }
        };
        res.on('end', gone);
        res.on('error', gone);
        res.on('close', gone);
      });
      req.on('error', () => {
        if (!settled) settle(false);
      });
      requests.push(req);
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
      const rec = changes.get(key);
      if (rec && rec.cause === undefined) {
        rec.cause = atMs;
        for (const at of rec.waiting ?? []) record(at - atMs);
        rec.waiting = undefined;
      } else seqMarks.set(key, atMs);
      return;
    }
    const k = [...key].sort().join(',');
    const marks = seatMarks.get(k);
    if (marks) marks.push(atMs);
    else seatMarks.set(k, [atMs]);
  }

  function percentile(p: number): number {
    if (!deliveries) return NaN;
    const rank = Math.ceil((p / 100) * deliveries);
    let seen = 0;
    for (let i = 0; i <= BUCKETS; i++) {
      seen += histogram[i];
      if (seen >= rank) return i * BUCKET_MS;
    }
    return maxMs;
  }

  async function stop(): Promise<ViewerStats> {
    await ready;
    // Let the changes in flight arrive (bounded): every matched change at every open viewer.
    const deadline = performance.now() + 5_000;
    const incomplete = () => [...changes.values()].some((c) => c.cause !== undefined && c.arrivals < alive);
    while (incomplete() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    stopping = true;
    for (const req of requests) req.destroy();
    agent.destroy();
    let missing = 0;
    let matched = 0;
    for (const c of changes.values()) {
      if (c.cause === undefined) continue;
      matched++;
      missing += Math.max(0, alive - c.arrivals);
    }
    return {
      opened,
      failed,
      deliveries,
      missing,
      changes: changes.size,
      matched,
      p50Ms: percentile(50),
      p99Ms: percentile(99),
      maxMs,
    };
  }

  return { ready, markChange, progress: () => ({ opened, failed, deliveries }), stop };
}
