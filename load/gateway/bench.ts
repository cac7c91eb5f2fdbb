// Gateway benchmark (not a test): the same GET direct to an upstream and through the real gateway, for two
// upstreams in turn:
//   trivial  - a bare node:http server with a fixed JSON body: the gateway's own overhead ("proxy overhead")
//   catalog  - the real catalog service on embedded Postgres (+ Redis), GET /api/events/{id} of a published
//              event created through its API: what the gateway costs in front of a real service.
// For each: latency with one request in flight (the time the extra hop adds, free of queueing) and
// throughput at BENCH_CONCURRENCY (judged by the ratio gateway/direct), direct and gateway rounds
// alternating so a change in machine load hits both alike, with identical clients on both sides (same
// undici Pool settings, no pipelining). Every server is its own process (load generator, gateway, upstream,
// Postgres, Redis); the CPU each server process burns per request is read from /proc. Goals (issue 4):
// p50 added <= 1 ms, throughput >= 0.6x direct.
// Env: BENCH_UPSTREAMS (trivial,catalog), BENCH_SECONDS (5 per side and phase), BENCH_CONCURRENCY (16),
// BENCH_ROUNDS (5), BENCH_RATE_LIMITS=memory (no Redis for the gateway), BENCH_LOG_LEVEL (info: the gateway
// and catalog write their access logs, as in production), REDIS_URL (else a local redis-server is started).
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool, type Dispatcher } from 'undici';
import {
  findBinary,
  startPostgres,
  startRedis,
  stopChild,
  type PostgresHandle,
  type RedisHandle,
} from '../../scripts/infra/processes.ts';
import {
  drive,
  processCpuMs,
  publishedEvent,
  spawnCatalog,
  startGateway,
  startTrivialUpstream,
  summariseRounds,
  type Result,
  type Round,
} from './driver.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5));
const logLevel = process.env.BENCH_LOG_LEVEL ?? 'info';
const upstreamKinds = (process.env.BENCH_UPSTREAMS ?? 'trivial,catalog')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const GOAL_P50_ADDED_MS = 1;
const GOAL_THROUGHPUT_RATIO = 0.6;

const children: ChildProcess[] = [];
const cleanups: Array<() => Promise<unknown> | unknown> = [];

const loadAverage = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

interface Target {
  name: string;
  description: string;
  upstreamUrl: string;
  upstreamPid?: number;
  gatewayUrl: string;
  gatewayPid?: number;
  path: string;
}

interface Comparison {
  target: Target;
  latency: { direct: Result; through: Result };
  load: { direct: Result; through: Result };
  cpuPerRequestUs: { directUpstream: number; gatewayUpstream: number; gateway: number };
  loadBefore: string;
  loadAfter: string;
  bodyBytes: number;
}

async function compare(target: Target): Promise<Comparison> {
  const request: Dispatcher.RequestOptions = { path: target.path, method: 'GET' };
  // Identical clients on both sides: one keep-alive connection per request in flight, no pipelining.
  const pools = {
    direct: new Pool(target.upstreamUrl, { connections: concurrency, pipelining: 1, keepAliveTimeout: 30_000 }),
    gateway: new Pool(target.gatewayUrl, { connections: concurrency, pipelining: 1, keepAliveTimeout: 30_000 }),
  };
  const sample = await pools.gateway.request(request);
  const bodyBytes = (await sample.body.arrayBuffer()).byteLength;
  if (sample.statusCode !== 200)
    throw new Error(`GET ${target.path} through the gateway answered ${sample.statusCode}`);
  const loadBefore = loadAverage();
  // Warm-up: JIT, keep-alive pools, Redis and Postgres connections, caches.
  await drive(pools.direct, request, 1, concurrency);
  await drive(pools.gateway, request, 1, concurrency);
  const cpu = { directUpstream: 0, gatewayUpstream: 0, gateway: 0 };
  async function phase(inFlight: number, measureCpu: boolean): Promise<{ direct: Result; through: Result }> {
    const directRounds: Round[] = [];
    const gatewayRounds: Round[] = [];
    for (let i = 0; i < rounds; i++) {
      let up = processCpuMs(target.upstreamPid);
      directRounds.push(await drive(pools.direct, request, seconds / rounds, inFlight));
      if (measureCpu) cpu.directUpstream += processCpuMs(target.upstreamPid) - up;
      up = processCpuMs(target.upstreamPid);
      const gw = processCpuMs(target.gatewayPid);
      gatewayRounds.push(await drive(pools.gateway, request, seconds / rounds, inFlight));
      if (measureCpu) {
        cpu.gatewayUpstream += processCpuMs(target.upstreamPid) - up;
        cpu.gateway += processCpuMs(target.gatewayPid) - gw;
      }
    }
    return { direct: summariseRounds('direct', directRounds), through: summariseRounds('gateway', gatewayRounds) };
  }
  const latency = await phase(1, false);
  const load = await phase(concurrency, true);
  await Promise.all([pools.direct.close(), pools.gateway.close()]);
  const served = (r: Result) => r.requests + r.errors;
  return {
    target,
    latency,
    load,
    cpuPerRequestUs: {
      directUpstream: (cpu.directUpstream * 1000) / served(load.direct),
      gatewayUpstream: (cpu.gatewayUpstream * 1000) / served(load.through),
      gateway: (cpu.gateway * 1000) / served(load.through),
    },
    loadBefore,
    loadAfter: loadAverage(),
    bodyBytes,
  };
}

function report(c: Comparison): { p50Met: boolean; throughputMet: boolean } {
  const fmt = (r: Result) =>
    `    ${r.label.padEnd(8)} ${r.rps.toFixed(0).padStart(8)} req/s   p50 ${r.p50.toFixed(3).padStart(7)} ms   p99 ${r.p99.toFixed(3).padStart(8)} ms   (${r.requests} ok, ${r.errors} errors)`;
  const addedP50 = c.latency.through.p50 - c.latency.direct.p50;
  const ratio = c.load.through.rps / c.load.direct.rps;
  const us = (n: number) => (Number.isFinite(n) ? `${n.toFixed(0)} µs` : 'n/a');
  console.log(`\n== upstream: ${c.target.name} (${c.target.description}), GET ${c.target.path} (${c.bodyBytes} bytes)`);
  console.log(`  load average before ${c.loadBefore}, after ${c.loadAfter}`);
  console.log('  latency, 1 request in flight:');
  console.log(fmt(c.latency.direct));
  console.log(fmt(c.latency.through));
  console.log(`  throughput, ${concurrency} in flight:`);
  console.log(fmt(c.load.direct));
  console.log(fmt(c.load.through));
  console.log(
    `  CPU per request at ${concurrency} in flight: gateway ${us(c.cpuPerRequestUs.gateway)}; upstream ${us(c.cpuPerRequestUs.directUpstream)} direct, ${us(c.cpuPerRequestUs.gatewayUpstream)} behind the gateway`,
  );
  const p50Met = addedP50 <= GOAL_P50_ADDED_MS;
  const throughputMet = ratio >= GOAL_THROUGHPUT_RATIO;
  console.log(
    `  p50 added by the gateway (1 in flight): ${addedP50.toFixed(3)} ms (goal <= ${GOAL_P50_ADDED_MS} ms: ${p50Met ? 'met' : 'NOT met'})`,
  );
  console.log(
    `  p50 added at ${concurrency} in flight (queueing included): ${(c.load.through.p50 - c.load.direct.p50).toFixed(3)} ms`,
  );
  console.log(
    `  throughput ratio gateway/direct at ${concurrency} in flight: ${ratio.toFixed(2)}x (goal >= ${GOAL_THROUGHPUT_RATIO}x: ${throughputMet ? 'met' : 'NOT met'})`,
  );
  return { p50Met, throughputMet };
}

async function stopAll(list: ChildProcess[]): Promise<void> {
  for (const child of list.reverse()) await stopChild(child);
}

async function main(): Promise<void> {
  let redis: RedisHandle | undefined;
  const memoryOnly = process.env.BENCH_RATE_LIMITS === 'memory';
  let redisUrl = process.env.REDIS_URL?.split(',')[0];
  if (!redisUrl && findBinary('redis-server')) {
    redis = await startRedis();
    cleanups.push(() => redis?.stop());
    redisUrl = redis.url;
  }
  const gatewayRedis = memoryOnly ? undefined : redisUrl;
  console.log(
    `gateway benchmark: ${seconds} s per side and phase in ${rounds} alternating rounds; ${concurrency} in flight for throughput; gateway rate limits on ${gatewayRedis ? 'Redis' : 'memory'}; log level ${logLevel}`,
  );
  console.log(
    `machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown'}), node ${process.version}, load average at start ${loadAverage()}`,
  );
  const verdicts: Array<[string, { p50Met: boolean; throughputMet: boolean }]> = [];

  if (upstreamKinds.includes('trivial')) {
    const upstream = await startTrivialUpstream();
    children.push(upstream.child);
    const gateway = await startGateway({ upstreams: { catalog: upstream.url }, redisUrl: gatewayRedis, logLevel });
    children.push(gateway.child);
    const result = await compare({
      name: 'trivial',
      description: 'bare node:http, fixed JSON: the proxy overhead',
      upstreamUrl: upstream.url,
      upstreamPid: upstream.child.pid,
      gatewayUrl: gateway.url,
      gatewayPid: gateway.child.pid,
      path: '/api/events/e1',
    });
    verdicts.push(['trivial', report(result)]);
    await stopAll([upstream.child, gateway.child]);
  }

  if (upstreamKinds.includes('catalog')) {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-bench-pg-'));
    const removeDir = () => rmSync(dir, { recursive: true, force: true });
    const pg: PostgresHandle = await startPostgres(dir, { fast: true }).catch((err: unknown) => {
      removeDir();
      throw err;
    });
    cleanups.push(async () => {
      await pg.stop();
      removeDir();
    });
    const catalog = await spawnCatalog(pg.url.replace(/\/postgres$/, '/catalog_bench'), redisUrl, logLevel);
    children.push(catalog.child);
    const eventId = await publishedEvent(catalog.url);
    const gateway = await startGateway({ upstreams: { catalog: catalog.url }, redisUrl: gatewayRedis, logLevel });
    children.push(gateway.child);
    const result = await compare({
      name: 'catalog',
      description: `the real catalog service on embedded Postgres${redisUrl ? ' + Redis' : ''}, a published event with 200 seats`,
      upstreamUrl: catalog.url,
      upstreamPid: catalog.child.pid,
      gatewayUrl: gateway.url,
      gatewayPid: gateway.child.pid,
      path: `/api/events/${eventId}`,
    });
    verdicts.push(['catalog', report(result)]);
    await stopAll([catalog.child, gateway.child]);
  }

  console.log('\nsummary:');
  for (const [name, v] of verdicts)
    console.log(
      `  ${name.padEnd(8)} p50 added <= ${GOAL_P50_ADDED_MS} ms: ${v.p50Met ? 'met' : 'NOT met'}; throughput >= ${GOAL_THROUGHPUT_RATIO}x direct: ${v.throughputMet ? 'met' : 'NOT met'}`,
    );
  console.log(`machine load average at the end: ${loadAverage()} on ${availableParallelism()} cores`);
}

async function cleanup(): Promise<void> {
  await stopAll(children);
  for (const fn of cleanups.reverse()) await fn();
}

main()
  .then(cleanup)
  .catch(async (err) => {
    console.error(err);
    await cleanup();
    process.exit(1);
  });
