// CPU profile of the gateway under load: the real gateway runs with `node --cpu-prof` in front of the trivial
// upstream (or, PROFILE_UPSTREAM=catalog, the real catalog service on embedded Postgres), is driven at PROFILE_CONCURRENCY for PROFILE_SECONDS, then stopped (SIGTERM: the profile is
// written at exit) and the profile is summarised with the busy CPU time per proxied request.
// Env: PROFILE_SECONDS (8), PROFILE_CONCURRENCY (16), BENCH_RATE_LIMITS=memory (no Redis), BENCH_LOG_LEVEL (info),
// PROFILE_DIR (a temporary directory; the .cpuprofile is kept there for Chrome DevTools).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import {
  findBinary,
  startPostgres,
  startRedis,
  stopChild,
  type PostgresHandle,
  type RedisHandle,
} from '../../scripts/infra/processes.ts';
import { drive, processCpuMs, publishedEvent, spawnCatalog, startGateway, startTrivialUpstream } from './driver.ts';
import { formatSummary, summarise, type CpuProfile } from './cpuprofile-summary.ts';

const seconds = Number(process.env.PROFILE_SECONDS ?? 8);
const concurrency = Number(process.env.PROFILE_CONCURRENCY ?? 16);
const dir = process.env.PROFILE_DIR ?? mkdtempSync(join(tmpdir(), 'gateway-profile-'));

let redis: RedisHandle | undefined;
if (process.env.BENCH_RATE_LIMITS !== 'memory' && findBinary('redis-server')) redis = await startRedis();
const useCatalog = process.env.PROFILE_UPSTREAM === 'catalog';
let pg: PostgresHandle | undefined;
const pgDir = mkdtempSync(join(tmpdir(), 'gateway-profile-pg-'));
let path = '/api/events/e1';
let upstream;
if (useCatalog) {
  pg = await startPostgres(pgDir, { fast: true });
  upstream = await spawnCatalog(
    pg.url.replace(/\/postgres$/, '/catalog_profile'),
    redis?.url,
    process.env.BENCH_LOG_LEVEL,
  );
  path = `/api/events/${await publishedEvent(upstream.url)}`;
} else {
  upstream = await startTrivialUpstream();
}
const gateway = await startGateway({
  upstreams: { catalog: upstream.url },
  redisUrl: redis?.url,
  logLevel: process.env.BENCH_LOG_LEVEL,
  execArgv: ['--cpu-prof', '--cpu-prof-dir', dir],
});
const pool = new Pool(gateway.url, { connections: concurrency, pipelining: 1 });
const request = { path, method: 'GET' as const };
await drive(pool, request, 2, concurrency); // warm-up (JIT, pools, Redis): outside the measured window
const cpuBefore = processCpuMs(gateway.child.pid!);
const fromUs = Number(process.hrtime.bigint() / 1000n);
const warm = await drive(pool, request, seconds, concurrency);
const toUs = Number(process.hrtime.bigint() / 1000n);
const cpuMs = processCpuMs(gateway.child.pid!) - cpuBefore;
await pool.close();
await stopChild(gateway.child);
await stopChild(upstream.child);
await redis?.stop();
await pg?.stop();
rmSync(pgDir, { recursive: true, force: true });

const file = readdirSync(dir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .map((f) => join(dir, f))[0];
if (!file) throw new Error(`no .cpuprofile written in ${dir}`);
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
console.log(
  `gateway CPU profile (upstream ${useCatalog ? 'catalog' : 'trivial'}): ${seconds} s at ${concurrency} in flight, rate limits on ${redis ? 'Redis' : 'memory'}, log level ${process.env.BENCH_LOG_LEVEL ?? 'info'}; ${warm.latencies.length} ok, ${warm.errors} errors (${(warm.latencies.length / warm.elapsedS).toFixed(0)} req/s)`,
);
console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}; profile ${file}`,
);
const served = warm.latencies.length + warm.errors;
console.log(
  `gateway process CPU (user+sys from /proc, with the profiler's own overhead): ${cpuMs} ms = ${((cpuMs * 1000) / served).toFixed(0)} µs per request`,
);
console.log(formatSummary(summarise(profile, { fromUs, toUs }), served, Number(process.env.PROFILE_TOP ?? 30)));
