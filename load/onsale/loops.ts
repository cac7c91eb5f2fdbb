// The two ways the on-sale drives POST /api/holds through the gateway:
// - closed loop: every buyer keeps exactly one hold request in flight (throughput at saturation);
// - open loop: requests start on a fixed schedule whatever the answers do, and each latency is measured from
//   its scheduled start, so a slow server cannot hide its queueing (no coordinated omission).
// Each request asks for two neighbouring seats chosen at random over the whole event (overlapping pairs).
import { Pool } from 'undici';
import type { Buyer } from './api.ts';
import { HoldConnection } from './hold-client.ts';

export interface GrantedHold {
  holdId: string;
  seats: string[];
}

export interface Tally {
  attempts: number;
  byStatus: Record<string, number>;
  /** ms, every answered request */
  latencies: number[];
  /** performance.now() each answered request started at (its scheduled time in the open loop), as latencies */
  startedAt: number[];
  /** 1 for a 201, else 0, as latencies */
  granted201: number[];
  granted: GrantedHold[];
  /** a few bodies of unexpected answers */
  samples: string[];
  elapsedS: number;
}

export function newTally(): Tally {
  return {
    attempts: 0,
    byStatus: {},
    latencies: [],
    startedAt: [],
    granted201: [],
    granted: [],
    samples: [],
    elapsedS: 0,
  };
}

export function holdPool(gatewayUrl: string, connections: number): Pool {
  return new Pool(gatewayUrl, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
}

/** Deterministic pseudo-random numbers (a run can be replayed with the same seed). */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

/** One buyer's request headers, built once per loop (not per request). */
function buyerHeaders(buyer: Buyer): Record<string, string> {
  return { authorization: `Bearer ${buyer.token}`, 'content-type': 'application/json' };
}

/** A pair's request body, serialised once per loop: the same bytes every time the pair is drawn. */
interface HoldRequestBody {
  seats: string[];
  body: string;
}

function requestBodies(eventId: string, pairs: [string, string][]): HoldRequestBody[] {
  return pairs.map((seats) => ({ seats, body: JSON.stringify({ eventId, seats }) }));
}

/** Counts a 201's hold (its body parsed: the invariant check needs its id and seats) or keeps a few unexpected
 *  answers' bodies; a 409 is counted by its status only. */
function recordAnswer(tally: Tally, status: number, body: string): void {
  if (status === 201) {
    const hold = JSON.parse(body) as { id: string; seats: { seatId: string }[] };
    tally.granted.push({ holdId: hold.id, seats: hold.seats.map((s) => s.seatId) });
  } else if (status !== 409 && tally.samples.length < 5) tally.samples.push(`${status} ${body.slice(0, 300)}`);
}

/** The closed loop's request over a buyer's own raw connection (hold-client.ts): `head` is the buyer's request
 *  head up to its headers, `request.wire` the rest (Content-Length, blank line, body). */
async function rawHoldOnce(
  conn: HoldConnection,
  head: string,
  request: HoldRequestBody & { wire: string },
  tally: Tally,
  startedAt: number,
  o: Pick<LoopOptions, 'markChange' | 'markAnswered'>,
): Promise<void> {
  tally.attempts++;
  const sentAt = performance.now();
  o.markChange?.([...request.seats].sort(), sentAt);
  let status = 'error';
  try {
    const answer = await conn.send(head + request.wire);
    status = String(answer.status);
    if (answer.status === 201) o.markAnswered?.(request.seats, performance.now(), sentAt);
    recordAnswer(tally, answer.status, answer.body);
  } catch (err) {
    if (tally.samples.length < 5) tally.samples.push(String(err));
  }
  tally.byStatus[status] = (tally.byStatus[status] ?? 0) + 1;
  tally.latencies.push(performance.now() - startedAt);
  tally.startedAt.push(startedAt);
  tally.granted201.push(status === '201' ? 1 : 0);
}

async function holdOnce(
  pool: Pool,
  headers: Record<string, string>,
  request: HoldRequestBody,
  tally: Tally,
  startedAt: number,
  markChange?: (seats: string[], atMs: number) => void,
): Promise<void> {
  tally.attempts++;
  markChange?.([...request.seats].sort(), performance.now());
  let status = 'error';
  try {
    const res = await pool.request({ method: 'POST', path: '/api/holds', headers, body: request.body });
    // every answer's status is counted; a 201's body gives the hold (the invariant check needs its id and seats)
    status = String(res.statusCode);
    if (res.statusCode === 201) {
      const hold = (await res.body.json()) as { id: string; seats: { seatId: string }[] };
      tally.granted.push({ holdId: hold.id, seats: hold.seats.map((s) => s.seatId) });
    } else if (res.statusCode === 409) {
      await res.body.dump();
    } else {
      const text = await res.body.text();
      if (tally.samples.length < 5) tally.samples.push(`${res.statusCode} ${text.slice(0, 300)}`);
    }
  } catch (err) {
    if (tally.samples.length < 5) tally.samples.push(String(err));
  }
  tally.byStatus[status] = (tally.byStatus[status] ?? 0) + 1;
  tally.latencies.push(performance.now() - startedAt);
  tally.startedAt.push(startedAt);
  tally.granted201.push(status === '201' ? 1 : 0);
}

export interface LoopOptions {
  pool: Pool;
  buyers: Buyer[];
  eventId: string;
  pairs: [string, string][];
  durationS: number;
  /** closed loop: stop starting requests after this many (a bounded run for the test suite) */
  maxAttempts?: number;
  seed?: number;
  /** live viewers: called with a request's seats just before it is sent (delivery latency starts there) */
  markChange?: (seats: string[], atMs: number) => void;
  /** called about once a second with the tally so far */
  onProgress?: (t: Tally, elapsedS: number) => void;
  /** raw keep-alive connections to this gateway (hold-client.ts) instead of the undici pool: in the closed loop
   *  one per buyer; in the open loop a stack of idle ones, a new one opened when none is idle */
  rawGatewayUrl?: string;
  /** live viewers, with rawGatewayUrl: called with a granted request's seats when its 201 arrives (the pool's
   *  requests report it through viewers.ts reportingAnswers instead) */
  markAnswered?: (seats: string[], answeredAtMs: number, sentAtMs: number) => void;
}

function progressTicker(tally: Tally, started: number, onProgress?: LoopOptions['onProgress']): () => void {
  if (!onProgress) return () => undefined;
  const timer = setInterval(() => onProgress(tally, (performance.now() - started) / 1000), 1000);
  return () => clearInterval(timer);
}

/** The request head up to its headers, for a buyer on a raw connection (the body's part is per request). */
function rawHead(conn: HoldConnection, buyer: Buyer): string {
  return `POST /api/holds HTTP/1.1\r\nHost: ${conn.authority}\r\nAuthorization: Bearer ${buyer.token}\r\nContent-Type: application/json\r\n`;
}

/** The request's part after the head: Content-Length, the blank line, the body. */
const withWire = (r: HoldRequestBody) => ({
  ...r,
  wire: `Content-Length: ${Buffer.byteLength(r.body)}\r\n\r\n${r.body}`,
});

/** Every buyer keeps one hold request in flight until the duration is over. */
export async function closedLoop(o: LoopOptions): Promise<Tally> {
  const tally = newTally();
  const next = rng(o.seed ?? 1);
  const requests = requestBodies(o.eventId, o.pairs).map(withWire);
  const raw = o.rawGatewayUrl;
  const started = performance.now();
  const end = started + o.durationS * 1000;
  const stopTicker = progressTicker(tally, started, o.onProgress);
  await Promise.all(
    o.buyers.map(async (buyer) => {
      const headers = buyerHeaders(buyer);
      const conn = raw ? new HoldConnection(raw) : undefined;
      const head = conn ? rawHead(conn, buyer) : '';
      try {
        while (performance.now() < end && tally.attempts < (o.maxAttempts ?? Infinity)) {
          const request = requests[Math.floor(next() * requests.length)]!;
          if (conn) await rawHoldOnce(conn, head, request, tally, performance.now(), o);
          else await holdOnce(o.pool, headers, request, tally, performance.now(), o.markChange);
        }
      } finally {
        conn?.close();
      }
    }),
  );
  stopTicker();
  tally.elapsedS = (performance.now() - started) / 1000;
  return tally;
}

/** Requests start at `rate` per second (buyers in turn); latency counts from each request's scheduled start.
 *  At most `maxOutstanding` requests are in flight; a start that finds that many is counted as `shed`. */
export async function openLoop(o: LoopOptions & { rate: number; maxOutstanding?: number }): Promise<Tally> {
  const tally = newTally();
  const next = rng(o.seed ?? 2);
  const requests = requestBodies(o.eventId, o.pairs).map(withWire);
  const headers = o.buyers.map(buyerHeaders);
  const raw = o.rawGatewayUrl;
  const idle: HoldConnection[] = [];
  const opened: HoldConnection[] = [];
  const heads = new Map<Buyer, string>();
  /** One request on an idle raw connection (or a new one), given back when its answer is in. */
  const rawHold = async (buyer: Buyer, request: (typeof requests)[number], due: number) => {
    let conn = idle.pop();
    if (!conn) opened.push((conn = new HoldConnection(raw!)));
    let head = heads.get(buyer);
    if (head === undefined) heads.set(buyer, (head = rawHead(conn, buyer)));
    try {
      await rawHoldOnce(conn, head, request, tally, due, o);
    } finally {
      idle.push(conn);
    }
  };
  const started = performance.now();
  const total = Math.floor(o.rate * o.durationS);
  const limit = o.maxOutstanding ?? 5_000;
  const stopTicker = progressTicker(tally, started, o.onProgress);
  const inFlight = new Set<Promise<void>>();
  for (let k = 0; k < total; k++) {
    const due = started + (k * 1000) / o.rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    if (inFlight.size >= limit) {
      tally.byStatus.shed = (tally.byStatus.shed ?? 0) + 1;
      continue;
    }
    const request = requests[Math.floor(next() * requests.length)]!;
    const p = (
      raw
        ? rawHold(o.buyers[k % o.buyers.length]!, request, due)
        : holdOnce(o.pool, headers[k % headers.length]!, request, tally, due, o.markChange)
    ).finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await Promise.all(inFlight);
  for (const conn of opened) conn.close();
  stopTicker();
  tally.elapsedS = (performance.now() - started) / 1000;
  return tally;
}

/** Per `windowS` window since the first request: how many requests started in it, their p99 latency and their
 *  share of 201s (where in the run the tail is, and how many of those requests were grants). */
export function byWindow(t: Tally, windowS: number): { count: number; p99Ms: number; grantedShare: number }[] {
  if (!t.startedAt.length) return [];
  const first = Math.min(...t.startedAt);
  const windows: { latencies: number[]; granted: number }[] = [];
  t.startedAt.forEach((at, i) => {
    const w = (windows[Math.floor((at - first) / (windowS * 1000))] ??= { latencies: [], granted: 0 });
    w.latencies.push(t.latencies[i]!);
    w.granted += t.granted201[i]!;
  });
  return [...windows].map((w) =>
    w
      ? {
          count: w.latencies.length,
          p99Ms: percentiles(w.latencies, [99]).p99!,
          grantedShare: w.granted / w.latencies.length,
        }
      : { count: 0, p99Ms: NaN, grantedShare: NaN },
  );
}

/** The closed loop's grant phase: its first whole seconds in which at least half of the requests started were
 *  granted (at least the first second), as attempts/s and granted/s. With every buyer's request in flight this is
 *  what the stack grants at saturation while an event still has seats: the capacity the open loop's first second
 *  draws on, whatever the loop's average (refusals of a sold-out event are several times cheaper than grants). */
export function grantPhase(t: Tally) {
  const seconds = byWindow(t, 1);
  const last = seconds.length - 1; // a partial window
  let n = 1;
  while (n < last && seconds[n]!.grantedShare >= 0.5) n++;
  const phase = seconds.slice(0, Math.min(n, Math.max(1, last)));
  const attempts = phase.reduce((a, w) => a + w.count, 0);
  const granted = phase.reduce((a, w) => a + w.count * w.grantedShare, 0);
  return { seconds: phase.length, attemptsPerS: attempts / phase.length, grantedPerS: granted / phase.length };
}

/** The p-th percentile (nearest rank) of unsorted values. */
export function percentiles(values: number[], ps: number[]): Record<string, number> {
  const sorted = Float64Array.from(values).sort();
  const out: Record<string, number> = {};
  for (const p of ps)
    out[`p${p}`] = sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN;
  return out;
}
