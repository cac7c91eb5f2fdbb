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
//   3. the same holds with the viewers watching; each change timed from its hold's send to each viewer.
// Prints delivery p50/p99/max against the goal (p99 <= 1 s, 0 failed streams), memory per viewer, and hold
// latency with and without viewers. BENCH_JSON=<file> also writes the figures as JSON.
//
// Env: BENCH_VIEWERS (10000), BENCH_SEATS (10000), BENCH_HOLD_RATE (20), BENCH_HOLD_S (15), BENCH_BUYERS (50).
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
import { openViewers, type ViewerStats } from './viewers.ts';

const VIEWERS = Number(process.env.BENCH_VIEWERS ?? 10_000);
const SEATS = Number(process.env.BENCH_SEATS ?? 10_000);
const HOLD_RATE = Number(process.env.BENCH_HOLD_RATE ?? 20);
const HOLD_S = Number(process.env.BENCH_HOLD_S ?? 15);
const BUYERS = Number(process.env.BENCH_BUYERS ?? 50);
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
  const gateway = spawn(process.execPath, ['services/gateway/src/main.ts'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
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
  async function holdRound(label: string, mark?: (seatIds: string[], at: number) => void): Promise<HoldRound> {
    const latencies: number[] = [];
    const statuses: Record<string, number> = {};
    const inFlight: Promise<void>[] = [];
    const total = Math.round(HOLD_RATE * HOLD_S);
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
    latencies.sort((a, b) => a - b);
    return { sent: total, statuses, p50: pct(latencies, 50), p99: pct(latencies, 99), max: latencies.at(-1) ?? NaN };
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
  const viewers = openViewers({ gatewayUrl, eventId, count: VIEWERS });
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
  const watched = await holdRound('holds watched', (pair, at) => viewers.markChange(pair, at));
  const stats: ViewerStats = await viewers.stop();
  clearInterval(progress);
  await pool.close();

  const perViewerKb = (mb: number) => ((mb * 1024) / Math.max(1, stats.opened)).toFixed(1);
  const gwDelta = rssAfter.gateway - rssBefore.gateway;
  const invDelta = rssAfter.inventory - rssBefore.inventory;
  const line = (r: HoldRound) =>
    `p50 ${fmt(r.p50)} ms  p99 ${fmt(r.p99)} ms  max ${fmt(r.max)} ms  ${JSON.stringify(r.statuses)}`;
  console.log('');
  console.log(`viewers: ${stats.opened} opened, ${stats.failed} failed streams (of ${VIEWERS})`);
  console.log(
    `  change delivery (hold sent -> viewer): p50 ${fmt(stats.p50Ms)} ms  p99 ${fmt(stats.p99Ms)} ms  max ${fmt(stats.maxMs)} ms; ${stats.deliveries} deliveries of ${stats.matched} changes, ${stats.missing} missing`,
  );
  console.log(
    `  goal: p99 <= ${GOAL_P99_MS} ms and 0 failed: ${stats.p99Ms <= GOAL_P99_MS && stats.failed === 0 && stats.missing === 0 ? 'met' : 'NOT met'}`,
  );
  console.log(
    `  memory: gateway RSS ${rssBefore.gateway.toFixed(0)} -> ${rssAfter.gateway.toFixed(0)} MB (${perViewerKb(gwDelta)} KB per viewer); inventory ${rssBefore.inventory.toFixed(0)} -> ${rssAfter.inventory.toFixed(0)} MB (${perViewerKb(invDelta)} KB per viewer)`,
  );
  console.log(`  upstream cost: ${upstreamClients} inventory SSE client(s) for ${stats.opened} viewers`);
  console.log(`holds without viewers: ${line(alone)}`);
  console.log(`holds with viewers:    ${line(watched)}`);

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
