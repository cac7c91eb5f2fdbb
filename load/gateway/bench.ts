// Gateway benchmark (not a test): the same GET direct to an upstream and through the gateway, each driven
// by a bounded concurrent loop for a fixed time; prints requests/s, p50/p99 and the ratios against the
// goals (p50 added <= 1 ms, throughput >= 0.6x direct). Two phases: latency with one request in flight
// (the time the extra hop adds, free of queueing) and throughput at BENCH_CONCURRENCY (where p50 is
// mostly queueing, so it is printed but judged through the throughput ratio). Upstream and gateway run as child processes so
// the load generator never shares their event loop. Direct and gateway runs alternate in short rounds so
// that a change in machine load during the run hits both sides alike. Env: BENCH_SECONDS (5), BENCH_CONCURRENCY (16),
// BENCH_ROUNDS (5), BENCH_RATE_LIMITS (memory: no Redis), BENCH_LOG_LEVEL (info: the gateway writes its access log, as in production), REDIS_URL (else a local
// redis-server is started when installed, else the gateway runs its in-memory limiter).
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { freePort, findBinary, startRedis, stopChild, type RedisHandle } from '@eventtickets/platform/testing/processes';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
const root = fileURLToPath(new URL('../../', import.meta.url));
const children: ChildProcess[] = [];

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (line) => { rl.close(); resolve(line.trim()); });
    child.once('exit', (code) => reject(new Error(`child exited with ${code} before it was ready`)));
  });
}

async function waitForHealth(url: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gateway not healthy at ${url}`);
}

interface Round { latencies: number[]; errors: number; elapsedS: number }
interface Result { label: string; requests: number; errors: number; rps: number; p50: number; p99: number }

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** `concurrency` loops issue the request back to back for `durationS`; latencies in ms. */
async function drive(pool: Pool, path: string, durationS: number, inFlight: number): Promise<Round> {
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + durationS * 1000;
  async function loop(): Promise<void> {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const res = await pool.request({ path, method: 'GET' });
        await res.body.dump();
        if (res.statusCode !== 200) errors++;
        else latencies.push(performance.now() - t0);
      } catch {
        errors++;
      }
    }
  }
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, loop));
  return { latencies, errors, elapsedS: (performance.now() - started) / 1000 };
}

function summarise(label: string, rounds: Round[]): Result {
  const all = rounds.flatMap((r) => r.latencies);
  const elapsed = rounds.reduce((s, r) => s + r.elapsedS, 0);
  const sorted = Float64Array.from(all).sort();
  return { label, requests: all.length, errors: rounds.reduce((s, r) => s + r.errors, 0), rps: all.length / elapsed, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

async function main(): Promise<void> {
  let redis: RedisHandle | undefined;
  const memoryOnly = process.env.BENCH_RATE_LIMITS === 'memory';
  let redisUrl = memoryOnly ? undefined : process.env.REDIS_URL?.split(',')[0];
  if (!redisUrl && !memoryOnly && findBinary('redis-server')) {
    redis = await startRedis();
    redisUrl = redis.url;
  }

  const upstream = spawn(process.execPath, [fileURLToPath(new URL('./upstream.ts', import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(upstream);
  const upstreamUrl = await firstLine(upstream);

  const port = await freePort();
  const gateway = spawn(process.execPath, ['services/gateway/src/main.ts'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      HOST: '127.0.0.1',
      CATALOG_URL: upstreamUrl,
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
      ...(redisUrl ? { REDIS_URL: redisUrl, REDIS_PREFIX: `bench-${process.pid}:` } : {}),
      RATE_LIMIT_IP_POINTS: '1000000000',
      RATE_LIMIT_IP_WINDOW_S: '60',
    },
  });
  children.push(gateway);
  const gatewayUrl = `http://127.0.0.1:${port}`;
  await waitForHealth(gatewayUrl);

  const path = '/api/events/e1';
  console.log(`gateway benchmark: GET ${path}, ${seconds} s per side and phase (alternating rounds), rate limits on ${redisUrl ? 'Redis' : 'memory'}, gateway log level ${process.env.BENCH_LOG_LEVEL ?? 'info'}`);
  const pools = {
    direct: new Pool(upstreamUrl, { connections: concurrency, pipelining: 1, keepAliveTimeout: 30_000 }),
    gateway: new Pool(gatewayUrl, { connections: concurrency, pipelining: 1, keepAliveTimeout: 30_000 }),
  };
  // Warm-up: JIT, keep-alive pools, Redis connection.
  await drive(pools.direct, path, 1, concurrency);
  await drive(pools.gateway, path, 1, concurrency);
  const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5));
  async function phase(inFlight: number): Promise<{ direct: Result; through: Result }> {
    const directRounds: Round[] = [];
    const gatewayRounds: Round[] = [];
    for (let i = 0; i < rounds; i++) {
      directRounds.push(await drive(pools.direct, path, seconds / rounds, inFlight));
      gatewayRounds.push(await drive(pools.gateway, path, seconds / rounds, inFlight));
    }
    return { direct: summarise('direct', directRounds), through: summarise('gateway', gatewayRounds) };
  }
  const latency = await phase(1);
  const load = await phase(concurrency);
  await Promise.all([pools.direct.close(), pools.gateway.close()]);

  const fmt = (r: Result) => `  ${r.label.padEnd(8)} ${r.rps.toFixed(0).padStart(8)} req/s   p50 ${r.p50.toFixed(3).padStart(7)} ms   p99 ${r.p99.toFixed(3).padStart(8)} ms   (${r.requests} ok, ${r.errors} errors)`;
  console.log('latency, 1 request in flight:');
  console.log(fmt(latency.direct));
  console.log(fmt(latency.through));
  console.log(`throughput, ${concurrency} in flight:`);
  console.log(fmt(load.direct));
  console.log(fmt(load.through));
  const addedP50 = latency.through.p50 - latency.direct.p50;
  const ratio = load.through.rps / load.direct.rps;
  console.log(`p50 added by the gateway (1 in flight): ${addedP50.toFixed(3)} ms (goal <= 1 ms: ${addedP50 <= 1 ? 'met' : 'NOT met'})`);
  console.log(`p50 added at ${concurrency} in flight (queueing included): ${(load.through.p50 - load.direct.p50).toFixed(3)} ms`);
  console.log(`throughput ratio gateway/direct at ${concurrency} in flight: ${ratio.toFixed(2)}x (goal >= 0.6x: ${ratio >= 0.6 ? 'met' : 'NOT met'})`);
  console.log(`machine load average at the end: ${(await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ')} on ${(await import('node:os')).availableParallelism()} cores`);

  for (const child of children.reverse()) await stopChild(child);
  await redis?.stop();
}

main().catch(async (err) => {
  console.error(err);
  for (const child of children) await stopChild(child);
  process.exit(1);
});
