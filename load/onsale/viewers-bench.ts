// npm run bench:viewers: V live viewers (default 10,000) of one event's availability stream through the gateway,
// while holds are made at a fixed rate; and the same holds without the viewers, for comparison.
//
// It starts what it needs, each server in its own process: embedded Postgres (the stack's durable settings),
// one redis-server, the real inventory and gateway (services/*/src/main.ts) and, in this process, a JWKS for the
// buyers' tokens (the gateway verifies them as it would users'). The event is materialised straight into
// inventory's database. Then:
//   1. holds alone: BENCH_HOLD_RATE holds/s (open loop: latency from each hold's scheduled time, so a stall is
//      not hidden by waiting) for BENCH_HOLD_S seconds, two distinct seats each, through the gateway;
//   2. V viewers open (load/onsale/viewers.ts); the gateway's and inventory's RSS before and after give the
//      memory per viewer; inventory's SSE client count shows what the viewers cost upstream;
//   3. the same holds with the viewers watching; each change timed to each viewer twice (load/onsale/viewers.ts):
//      from its hold's send (scheduled time), and from its hold's 201 arriving (the delivery latency).
// Prints both delivery latencies (p50/p99/max, with their definitions) against the goal (p99 <= 1 s, 0 failed
// streams), memory per viewer, hold latency with and without viewers, and the gateway's and inventory's CPU
// (from /proc) during each round: the gateway's extra CPU with viewers, per delivery, is the fan-out's cost of
// one socket write. BENCH_JSON=<file> also writes the figures as JSON.
//
// The viewers read their sockets on a worker thread (viewers.ts), so the holds' driver and its clock are not
// delayed by 10,000 socket reads per flush; BENCH_VIEWERS_IN_PROCESS=1 reads them on the driver's event loop
// as the runs before 2026-12-02 did (their hold latencies with viewers contain that delay).
//
// Env: BENCH_VIEWERS (10000), BENCH_SEATS (10000), BENCH_HOLD_RATE (20), BENCH_HOLD_S (15), BENCH_BUYERS (50),
// BENCH_VIEWERS_IN_PROCESS (unset), BENCH_GATEWAY_MAIN (services/gateway/src/main.ts: another checkout's gateway
// for an A/B; extra gateway env as BENCH_GATEWAY_<NAME>=value, e.g. BENCH_GATEWAY_STREAM_FLUSH_SLICE_MS=1000).
// File descriptors: each viewer is one socket here and one in the gateway; `ulimit -n` must exceed V + ~1000
// (checked below; raise it in the shell that runs the bench, e.g. `ulimit -n 65536`, where the hard limit allows).
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { Pool } from 'undici';
import { createDatabase, ensureDatabase, migrate, withTransaction } from '@eventtickets/platform';
import { freePort } from '@eventtickets/platform/testing';
import { startPostgres, startRedis, stopChild, type RedisHandle } from '../../scripts/infra/processes.ts';
import { migrations } from '../../services/inventory/src/db/migrations.ts';
import { materialiseEvent } from '../../services/inventory/src/use-cases/materialise.ts';
import { root, spawnService, waitForHealth } from '../gateway/driver.ts';
import { DEFINITIONS, openViewers, type Latency, type ViewerStats } from './viewers.ts';
import { cpuMeter } from './observe.ts';

const VIEWERS = Number(process.env.BENCH_VIEWERS ?? 10_000);
const SEATS = Number(process.env.BENCH_SEATS ?? 10_000);
const HOLD_RATE = Number(process.env.BENCH_HOLD_RATE ?? 20);
const HOLD_S = Number(process.env.BENCH_HOLD_S ?? 15);
const BUYERS = Number(process.env.BENCH_BUYERS ?? 50);
const IN_PROCESS = process.env.BENCH_VIEWERS_IN_PROCESS === '1';
const GOAL_P99_MS = 1000;
const INTERNAL_TOKEN_SECRET = randomBytes(32).toString('base64url');

function openFileLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  return Number(line?.split(/\s+/)[3] ?? NaN);
}

function rssMb(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'));
  return line ? Number(line.split(' ').at(-1)) : NaN;
}

function pct(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN;
}

interface HoldRound {
  sent: number;
  statuses: Record<string, number>;
  p50: number;
  p99: number;
  max: number;
  /** CPU ms of each process during the round (/proc, children included). */
  cpuMs: Record<string, number>;
  /** The gateway's event-loop delay during the round (its nodejs_eventloop_lag_* metrics, reset by the read
   *  before the round): how long a request that became ready waited for the loop, i.e. for a flush's slice. */
  gatewayLoopLagMs: { p99: number; max: number };
}

const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');

const dir = mkdtempSync(join(tmpdir(), 'bench-viewers-'));
const children: ChildProcess[] = [];
let redis: RedisHandle | undefined;
let pgStop: (() => Promise<void>) | undefined;
let jwks: Server | undefined;
try {
  const limit = openFileLimit();
  console.log(`open-file limit (ulimit -n): ${limit}; ${VIEWERS} viewers need about ${VIEWERS + 1000}`);
  if (!(limit > VIEWERS + 500))
    throw new Error(`ulimit -n is ${limit}: raise it (ulimit -n ${VIEWERS + 2000}) or lower BENCH_VIEWERS`);

  const pg = await startPostgres(dir); // the stack's durable settings
  pgStop = pg.stop;
  redis = await startRedis();
  const databaseUrl = pg.url.replace(/\/postgres$/, '/inventory_viewers');
  await ensureDatabase(databaseUrl);
  const db = createDatabase(databaseUrl);
  await migrate(db, migrations);
  const eventId = `viewers-${Date.now()}`;
  const seats = Array.from({ length: SEATS }, (_, i) => ({
    seatId: `s${String(i + 1).padStart(5, '0')}`,
    label: `R${Math.floor(i / 50) + 1}-${(i % 50) + 1}`,
    section: 'Stalls',
    row: String(Math.floor(i / 50) + 1),
    tierId: 'std',
    x: i % 50,
    y: Math.floor(i / 50),
  }));
  await withTransaction(db, (t) =>
    materialiseEvent(
      db,
      t,
      {
        eventId,
        organizerId: 'org-bench',
        title: 'Viewers bench',
        salesStartAt: new Date(Date.now() - 3_600_000).toISOString(),
        salesEndAt: new Date(Date.now() + 86_400_000).toISOString(),
        reservationMinutes: 30,
        maxSeatsPerOrder: 8,
        tiers: [{ tierId: 'std', name: 'Standard', amount: 1000, currency: 'EUR' }],
        seats,
        gaAreas: [],
      } as any,
      () => undefined,
    ),
  );
  await db.close();

  // The buyers' tokens: the gateway verifies them against this JWKS as it would against users'.
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256', use: 'sig' };
  const jwksPort = await freePort();
  jwks = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => jwks!.listen(jwksPort, '127.0.0.1', r));
  const tokens = await Promise.all(
    Array.from({ length: BUYERS }, (_, i) =>
      new SignJWT({ role: 'buyer', email: `buyer${i}@example.com` })
        .setProtectedHeader({ alg: 'ES256', kid: 'bench' })
        .setSubject(`bench-buyer-${i}`)
        .setIssuer('eventtickets')
        .setAudience('eventtickets-api')
        .setIssuedAt()
        .setExpirationTime('2h')
        .sign(privateKey),
    ),
  );

  const inventory = await spawnService('inventory', {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redis.url,
    REDIS_PREFIX: `bench-viewers-${process.pid}:`,
    INTERNAL_TOKEN_SECRET,
    LOG_LEVEL: 'warn',
  });
  children.push(inventory.child);
  const gwPort = await freePort();
  const gateway = spawn(process.execPath, [process.env.BENCH_GATEWAY_MAIN ?? 'services/gateway/src/main.ts'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    // BENCH_GATEWAY_MAIN: another checkout's gateway (an A/B of the fan-out against an older commit)
    env: {
      PATH: process.env.PATH,
      PORT: String(gwPort),
      HOST: '127.0.0.1',
      INVENTORY_URL: inventory.url,
      USERS_URL: `http://127.0.0.1:${jwksPort}`,
      REDIS_URL: redis.url,
      REDIS_PREFIX: `bench-viewers-gw-${process.pid}:`,
      INTERNAL_TOKEN_SECRET,
      LOG_LEVEL: 'warn',
      // Every viewer and buyer comes from 127.0.0.1: the limits are raised, never turned off.
      RATE_LIMIT_IP_POINTS: '1000000000',
      RATE_LIMIT_USER_POINTS: '1000000',
      RATE_LIMIT_HOLDS_POINTS: '1000000',
      ...Object.fromEntries(
        Object.entries(process.env)
          .filter(([k]) => k.startsWith('BENCH_GATEWAY_') && k !== 'BENCH_GATEWAY_MAIN')
          .map(([k, v]) => [k.slice('BENCH_GATEWAY_'.length), v]),
      ),
    },
  });
  children.push(gateway);
  const gatewayUrl = `http://127.0.0.1:${gwPort}`;
  await waitForHealth(gatewayUrl);

  const pool = new Pool(gatewayUrl, { connections: 64, pipelining: 1 });
  let nextPair = 0;
  const takePair = () => {
    const i = nextPair++ * 2;
    if (i + 1 >= seats.length) throw new Error('out of seats: lower BENCH_HOLD_RATE or BENCH_HOLD_S');
    return [seats[i].seatId, seats[i + 1].seatId];
  };

  /** Holds at a fixed rate for HOLD_S seconds; latency from each hold's scheduled time. */
  const servicePids = new Map([
    ['gateway', gateway.pid!],
    ['inventory', inventory.child.pid!],
  ]);
  async function holdRound(
    label: string,
    mark?: (seatIds: string[], at: number) => void,
    answered?: (seatIds: string[], at: number) => void,
  ): Promise<HoldRound> {
    const latencies: number[] = [];
    const statuses: Record<string, number> = {};
    const inFlight: Promise<void>[] = [];
    const total = Math.round(HOLD_RATE * HOLD_S);
    await metric(gatewayUrl, 'nodejs_eventloop_lag_max_seconds'); // a read resets the gateway's lag histogram
    const cpu = cpuMeter(servicePids); // 'load generator': this process, the viewers' thread included
    const start = performance.now();
    let lastProgress = start;
    for (let n = 0; n < total; n++) {
      const due = start + (n * 1000) / HOLD_RATE;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const pair = takePair();
      mark?.(pair, due);
      inFlight.push(
        (async () => {
          try {
            const res = await pool.request({
              path: '/api/holds',
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[n % tokens.length]}` },
              body: JSON.stringify({ eventId, seats: pair }),
            });
            if (res.statusCode === 201) answered?.(pair, performance.now());
            await res.body.dump();
            statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
          } catch {
            statuses.error = (statuses.error ?? 0) + 1;
          }
          latencies.push(performance.now() - due);
        })(),
      );
      if (performance.now() - lastProgress > 5_000) {
        lastProgress = performance.now();
        console.log(`  ${label}: ${n + 1}/${total} holds sent`);
      }
    }
    await Promise.all(inFlight);
    const cpuMs = cpu.stop();
    const lagText = await (await fetch(`${gatewayUrl}/metrics`)).text();
    const lag = (name: string) =>
      1000 *
      Number(
        lagText
          .split('\n')
          .find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
          ?.split(' ')
          .at(-1),
      );
    const gatewayLoopLagMs = {
      p99: lag('nodejs_eventloop_lag_p99_seconds'),
      max: lag('nodejs_eventloop_lag_max_seconds'),
    };
    latencies.sort((a, b) => a - b);
    return {
      sent: total,
      statuses,
      p50: pct(latencies, 50),
      p99: pct(latencies, 99),
      max: latencies.at(-1) ?? NaN,
      cpuMs,
      gatewayLoopLagMs,
    };
  }

  // Warm-up (JIT, JWKS, pools), then the holds alone.
  for (let i = 0; i < 20; i++) {
    const res = await pool.request({
      path: '/api/holds',
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[i % tokens.length]}` },
      body: JSON.stringify({ eventId, seats: takePair() }),
    });
    await res.body.dump();
  }
  console.log(`holds alone: ${HOLD_RATE}/s for ${HOLD_S} s through the gateway`);
  const alone = await holdRound('holds alone');

  const rssBefore = { gateway: rssMb(gateway.pid), inventory: rssMb(inventory.child.pid) };
  console.log(`opening ${VIEWERS} viewers of ${eventId} (${SEATS} seats) through the gateway`);
  const t0 = performance.now();
  const viewers = openViewers({ gatewayUrl, eventId, count: VIEWERS, inProcess: IN_PROCESS });
  const progress = setInterval(() => {
    const p = viewers.progress();
    console.log(`  viewers: ${p.opened} open, ${p.failed} failed, ${p.deliveries} deliveries`);
  }, 5_000);
  await viewers.ready;
  const openS = (performance.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 2_000)); // let the snapshots' buffers drain before measuring
  const rssAfter = { gateway: rssMb(gateway.pid), inventory: rssMb(inventory.child.pid) };
  const upstreamClients = await metric(inventory.url, 'inventory_sse_clients');
  const gatewayStreams = await metric(gatewayUrl, 'gateway_upstream_streams');
  console.log(
    `  ${viewers.progress().opened} viewers open in ${openS.toFixed(1)} s; inventory sees ${upstreamClients} SSE client(s), the gateway holds ${gatewayStreams} upstream stream(s)`,
  );

  console.log(`holds with ${VIEWERS} viewers watching: ${HOLD_RATE}/s for ${HOLD_S} s`);
  const watched = await holdRound(
    'holds watched',
    (pair, at) => viewers.markChange(pair, at),
    (pair, at) => viewers.markAnswered(pair, at),
  );
  const stats: ViewerStats = await viewers.stop();
  clearInterval(progress);
  await pool.close();

  const perViewerKb = (mb: number) => ((mb * 1024) / Math.max(1, stats.opened)).toFixed(1);
  const gwDelta = rssAfter.gateway - rssBefore.gateway;
  const invDelta = rssAfter.inventory - rssBefore.inventory;
  const line = (r: HoldRound) =>
    `p50 ${fmt(r.p50)} ms  p99 ${fmt(r.p99)} ms  max ${fmt(r.max)} ms  ${JSON.stringify(r.statuses)}; gateway event-loop delay p99 ${fmt(r.gatewayLoopLagMs.p99)} ms max ${fmt(r.gatewayLoopLagMs.max)} ms`;
  const lat = (l: Latency) =>
    `p50 ${fmt(l.p50Ms)} ms  p95 ${fmt(l.p95Ms)} ms  p99 ${fmt(l.p99Ms)} ms  max ${fmt(l.maxMs)} ms`;
  const a = stats.answeredToViewer;
  const okStreams = stats.failed === 0 && stats.missing === 0;
  console.log('');
  console.log(
    `viewers: ${stats.opened} opened, ${stats.failed} failed streams (of ${VIEWERS}); client on a ${stats.client}`,
  );
  console.log(
    `  change delivery, hold answered -> viewer: ${lat(a)}; ${a.deliveries} deliveries of ${a.changes} changes (${a.beforeAnswer} before the 201)`,
  );
  console.log(
    `  change delivery, hold sent -> viewer:     ${lat(stats.sentToViewer)}; ${stats.deliveries} deliveries of ${stats.matched} changes, ${stats.missing} missing`,
  );
  console.log(`    answered -> viewer = ${DEFINITIONS.answeredToViewer}`);
  console.log(`    sent -> viewer = ${DEFINITIONS.sentToViewer}`);
  console.log(
    `  goal: delivery (answered -> viewer) p99 <= ${GOAL_P99_MS} ms and 0 failed: ${a.p99Ms <= GOAL_P99_MS && okStreams ? 'met' : 'NOT met'}; sent -> viewer p99 <= ${GOAL_P99_MS} ms: ${stats.p99Ms <= GOAL_P99_MS ? 'yes' : 'no'}`,
  );
  console.log(
    `  memory: gateway RSS ${rssBefore.gateway.toFixed(0)} -> ${rssAfter.gateway.toFixed(0)} MB (${perViewerKb(gwDelta)} KB per viewer); inventory ${rssBefore.inventory.toFixed(0)} -> ${rssAfter.inventory.toFixed(0)} MB (${perViewerKb(invDelta)} KB per viewer)`,
  );
  console.log(`  upstream cost: ${upstreamClients} inventory SSE client(s) for ${stats.opened} viewers`);
  console.log(`holds without viewers: ${line(alone)}`);
  console.log(`holds with viewers:    ${line(watched)}`);
  const cpuLine = (r: HoldRound) =>
    Object.entries(r.cpuMs)
      .map(([k, v]) => `${k} ${v.toFixed(0)} ms`)
      .join(', ');
  console.log(`CPU during the holds without viewers: ${cpuLine(alone)}`);
  console.log(`CPU during the holds with viewers:    ${cpuLine(watched)}`);
  const extraGatewayMs = watched.cpuMs.gateway! - alone.cpuMs.gateway!;
  const received = viewers.progress();
  console.log(
    `  the gateway's extra CPU with viewers: ${extraGatewayMs.toFixed(0)} ms for ${received.messages} changes messages written (${received.deliveries} deliveries) = ${((extraGatewayMs * 1000) / Math.max(1, received.messages)).toFixed(1)} µs per socket write (folding and encoding the changes included)`,
  );

  if (process.env.BENCH_JSON)
    writeFileSync(
      process.env.BENCH_JSON,
      JSON.stringify(
        {
          date: new Date().toISOString(),
          viewers: VIEWERS,
          seats: SEATS,
          holdRate: HOLD_RATE,
          holdSeconds: HOLD_S,
          openSeconds: openS,
          stats,
          viewersClient: stats.client,
          rssBefore,
          rssAfter,
          upstreamClients,
          holdsAlone: alone,
          holdsWatched: watched,
        },
        null,
        2,
      ),
    );
} finally {
  jwks?.close();
  await Promise.all(children.map((c) => stopChild(c)));
  await redis?.stop();
  await pgStop?.();
  rmSync(dir, { recursive: true, force: true });
}
