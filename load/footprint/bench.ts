// npm run bench:footprint: what each service costs on this machine, in one run, next to a bare Node 24 process.
//
// Starts the local infrastructure the way `npm start` does (embedded Postgres and the three redis-server masters
// on a DATA_DIR, the databases, the dev mail sink), then each service as its own process with the very command
// line of npm start (scripts/stack/children.ts: the tether and the tracing preload), one after the other so a
// start is not slowed by its siblings. For each: the time from spawn to its first 200 on /readyz (polled every
// 10 ms), its idle RSS (VmRSS, the highest of five samples after a settle period), its start-up peak (VmHWM) and V8 heap (its own /metrics), and its RSS after N
// requests (a public read of the service, or the refusal a route without identity gets, alternating with
// /readyz) with the CPU those requests cost it per 1,000 (cpu/1k: what a memory flag or allocator costs in
// throughput, load-independent). The bare process is `node` serving /readyz with node:http. Then (unless --no-stack) `npm start`
// itself (node scripts/start.ts) on that now existing DATA_DIR: the time from spawn to its "ready:" line.
//
// Options: --services a,b (default: every registered service) --requests 1000 --settle-ms 10000 --no-stack
//          --census (adds load/footprint/census-hook.ts through NODE_OPTIONS: module counts per service;
//          figures from a census run are not the footprint) --cpu-prof <dir> (a .cpuprofile per service, its
//          start-up included: node load/gateway/cpuprofile-summary.ts <file>) --json <file>
//          --node-options '<flags>' (added to every service's NODE_OPTIONS, e.g. V8 flags to compare; environment
//          variables such as MALLOC_ARENA_MAX pass through from the bench's own environment)
//          FOOTPRINT_DATA_DIR=<dir> reuses a DATA_DIR (else a temporary one, removed at the end).
// Targets (issue 19): idle RSS <= 120 MiB (and under 3x the bare process), ready <= 1.5 s after spawn, npm start on
// an existing DATA_DIR ready in <= 6 s. Timing figures depend on the machine's load: the load average is printed
// next to them. Nothing is asserted: this prints figures.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { stackServices } from '../../scripts/stack/services.ts';
import { openDataDir, persistentSecret, stackSecrets } from '../../scripts/stack/data-dir.ts';
import { ensureDatabases, startStackPostgres, startStackRedis, type RedisMode } from '../../scripts/stack/infra.ts';
import {
  BUS_DATABASE,
  databaseName,
  devMailPorts,
  localUrl,
  serviceEnv,
  servicePort,
  startOrder,
  RUNNER_OWNED_VARIABLES,
  type StackSettings,
} from '../../scripts/stack/plan.ts';
import { spawnService, stopService, type ServiceChild } from '../../scripts/stack/children.ts';
import { freePort } from '../../scripts/infra/processes.ts';
import { freePortRange, StackProcess, tempDataDir } from '../../scripts/test/stack-process.ts';

const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const MiB = 1024 * 1024;
const LIMITS = { idleRssMiB: 120, bareFactor: 3, readyMs: 1500, stackReadyMs: 6000 };

const { values: args } = parseArgs({
  options: {
    services: { type: 'string' },
    requests: { type: 'string', default: '1000' },
    'settle-ms': { type: 'string', default: '10000' },
    'no-stack': { type: 'boolean', default: false },
    census: { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    'node-options': { type: 'string', default: '' },
    json: { type: 'string' },
  },
});
const REQUESTS = Number(args.requests);
const SETTLE_MS = Number(args['settle-ms']);
const wanted = args.services?.split(',').map((s) => s.trim());
const services = startOrder(stackServices.filter((s) => !wanted || wanted.includes(s.name)));
const censusHook = join(repoRoot, 'load', 'footprint', 'census-hook.ts');

interface StackTiming {
  existingMs?: number;
  /** the first start on the bench's DATA_DIR (demo seed included) */
  firstMs?: number;
  phases?: string[];
  loadAverage: string;
  error?: string;
}

interface Row {
  name: string;
  readyMs: number;
  /** CPU time the process used until it was ready */
  readyCpuMs?: number;
  idleRssMiB: number;
  /** the anonymous part of that RSS */
  idleAnonMiB?: number;
  idleHeapUsedMiB?: number;
  idleHeapTotalMiB?: number;
  loadedRssMiB?: number;
  /** VmHWM before the requests: the start-up peak (what a memory limit must allow). */
  startPeakRssMiB?: number;
  peakRssMiB?: number;
  requests?: { ok: number; other: Record<string, number>; path: string };
  /** CPU the process used for those requests, per 1,000 (load-independent: compares flags and allocators) */
  cpuPer1000Ms?: number;
  modules?: number;
  topPackages?: [string, number][];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

/** VmRSS, its anonymous part (the process's own memory; the rest is mostly the node binary's pages, shared by
 *  every Node process on the machine) and VmHWM (the highest RSS so far). */
function procStatus(pid: number): { rss: number; anon: number; hwm: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS') / MiB, anon: kb('RssAnon') / MiB, hwm: kb('VmHWM') / MiB };
}

/** The spawn-to-ready time: polls /readyz every 10 ms (the runner polls every 200 ms; that is not the service). */
async function readyAfter(url: string, spawnedAt: number, alive: () => boolean, timeoutMs = 120_000): Promise<number> {
  const deadline = spawnedAt + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`${url}: process exited before it was ready`);
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return performance.now();
    } catch {
      // not listening yet
    }
    await sleep(10);
  }
  throw new Error(`${url}: not ready within ${timeoutMs} ms`);
}

/** CPU time (user + system) a process has used so far, in ms: unlike the wall time to ready, it hardly depends on
 *  how loaded the machine is, so it says what a start costs on a quiet one (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function heapOf(url: string): Promise<{ used?: number; total?: number }> {
  try {
    const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    const read = (name: string) => {
      const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
      return m ? Number(m[1]) / MiB : undefined;
    };
    return { used: read('nodejs_heap_size_used_bytes'), total: read('nodejs_heap_size_total_bytes') };
  } catch {
    return {};
  }
}

/** A read each service answers without identity where it has one; else a route's refusal (401), which still
 *  runs the middleware, the contract and the error path. Alternates with /readyz (database and Redis checks). */
const REQUEST_PATHS: Record<string, string> = {
  users: '/api/auth/jwks.json',
  catalog: '/api/events',
  inventory: '/api/events/00000000-0000-4000-8000-000000000000/availability',
  orders: '/api/orders',
  payments: '/api/payments/methods',
  notifications: '/api/notifications',
  gateway: '/api/events',
};

async function drive(url: string, path: string, n: number, concurrency = 8): Promise<Row['requests']> {
  let next = 0;
  let ok = 0;
  const other: Record<string, number> = {};
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const p = i % 2 ? '/readyz' : path;
      try {
        const res = await fetch(`${url}${p}`, { signal: AbortSignal.timeout(30_000) });
        await res.arrayBuffer();
        // the route's own answer, a refusal without identity or a 404 for a made-up id included
        if (res.status < 400 || (p === path && res.status < 500)) ok++;
        else other[String(res.status)] = (other[String(res.status)] ?? 0) + 1;
      } catch (err) {
        const key = (err as Error).name;
        other[key] = (other[key] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { ok, other, path };
}

const BARE_SERVER = `
const http = require('node:http');
http.createServer((req, res) => res.end('ok')).listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

async function measureBare(): Promise<Row> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(process.execPath, ['-e', BARE_SERVER], { env: { PORT: String(port) }, stdio: 'ignore' });
  try {
    const url = localUrl(port);
    const readyAt = await readyAfter(url, Date.now(), () => child.exitCode === null);
    const readyCpuMs = cpuMs(child.pid!);
    await sleep(Math.min(SETTLE_MS, 2000));
    const idle = procStatus(child.pid!);
    const requests = await drive(url, '/', REQUESTS);
    await sleep(500);
    const after = procStatus(child.pid!);
    return {
      name: 'bare node',
      readyMs: readyAt - t0,
      readyCpuMs,
      idleRssMiB: idle.rss,
      idleAnonMiB: idle.anon,
      startPeakRssMiB: idle.hwm,
      loadedRssMiB: after.rss,
      peakRssMiB: after.hwm,
      requests,
    };
  } finally {
    child.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  const ownDataDir = !process.env.FOOTPRINT_DATA_DIR;
  const dataDirPath = process.env.FOOTPRINT_DATA_DIR ?? tempDataDir();
  const data = openDataDir(dataDirPath);
  const base = await freePortRange();
  const ports = { gatewayPort: base, serviceBase: base };
  const log = (line: string) => process.stderr.write(`footprint | ${line}\n`);
  log(`node ${process.version}, ${services.length} services, load average ${load()}, DATA_DIR ${data.root}`);

  const rows: Row[] = [];
  const children: ServiceChild[] = [];
  let redis: RedisMode | undefined;
  let postgres: Awaited<ReturnType<typeof startStackPostgres>> | undefined;
  let mailSink: { close: () => Promise<void> } | undefined;
  let stackReady: StackTiming | undefined;
  const censusFiles = new Map<string, string>();
  onSignal = () => cleanup();
  try {
    rows.push(await measureBare());
    log(`bare node: ${rows[0].idleRssMiB.toFixed(1)} MiB, ready ${rows[0].readyMs.toFixed(0)} ms`);

    postgres = await startStackPostgres(data, undefined, () => undefined);
    redis = await startStackRedis(data, {});
    const databases = services.filter((s) => s.database).map(databaseName);
    if (redis.kind === 'memory') databases.push(BUS_DATABASE);
    await ensureDatabases(postgres.url, databases);
    const settings: StackSettings = {
      ports,
      postgresUrl: postgres.url,
      redisUrls: redis.kind === 'memory' ? [] : redis.urls,
      redisPrefix: 'footprint',
      demoPassword: persistentSecret(data, 'demo-password').value,
      secrets: stackSecrets(data, [...new Set(services.flatMap((s) => s.secrets ?? []))]),
    };
    if (services.some((s) => s.devMail)) {
      const { startMailSink } = await import('../../scripts/stack/mail-sink.ts');
      const mailPorts = devMailPorts({ gatewayPort: base, serviceBase: base + 20 });
      const sink = await startMailSink({
        smtpPort: mailPorts.smtp,
        httpPort: mailPorts.http,
        smsSecret: settings.secrets!.SMS_HTTP_SECRET ?? 'unsigned-dev-sms-secret-0123456789abcdef',
      });
      mailSink = sink;
      settings.smtpUrl = sink.smtpUrl;
      settings.devMail = { smsUrl: sink.smsUrl };
    }
    const inherited = { ...process.env };
    for (const name of RUNNER_OWNED_VARIABLES) delete inherited[name];
    delete inherited.NODE_OPTIONS;

    // the migrations a first start applies are not the footprint: each service starts once before it is measured
    for (const pass of ['migrate', 'measure'] as const) {
      for (const svc of services) {
        const url = localUrl(servicePort(svc, ports));
        const census = args.census && pass === 'measure' ? join(tmpdir(), `footprint-census-${svc.name}.json`) : '';
        if (census) censusFiles.set(svc.name, census);
        const env: NodeJS.ProcessEnv = {
          ...inherited,
          ...serviceEnv(svc, services, settings),
          LOG_LEVEL: 'warn',
          ...(args['node-options'] ? { NODE_OPTIONS: args['node-options'] } : {}),
          ...(census
            ? { NODE_OPTIONS: `${args['node-options']} --import=${censusHook}`.trim(), FOOTPRINT_CENSUS_OUT: census }
            : {}),
          // a CPU profile of the whole life of the measured process (start-up included), written at its exit
          ...(args['cpu-prof'] && pass === 'measure'
            ? {
                NODE_OPTIONS: `${args['node-options']} --cpu-prof --cpu-prof-dir=${resolve(args['cpu-prof'])} --cpu-prof-name=${svc.name}.cpuprofile`,
              }
            : {}),
        };
        const t0 = performance.now();
        const child = spawnService({
          name: svc.name,
          dir: join(repoRoot, 'services', svc.dir),
          url,
          env,
          tracingRegister: join(repoRoot, 'services', 'platform', 'src', 'tracing-register.ts'),
          print: (line) => (pass === 'measure' && !/"level":\s*(30|20)/.test(line) ? log(`${svc.name}: ${line}`) : 0),
        });
        children.push(child);
        let readyAt: number;
        try {
          readyAt = await readyAfter(url, Date.now(), () => child.process.exitCode === null);
        } catch (err) {
          throw new Error(`${(err as Error).message}\n  ${child.recent.join('\n  ')}`, { cause: err });
        }
        if (pass === 'measure') {
          rows.push({ name: svc.name, readyMs: readyAt - t0, readyCpuMs: cpuMs(child.process.pid!), idleRssMiB: 0 });
          log(
            `${svc.name} ready in ${(readyAt - t0).toFixed(0)} ms, ${cpuMs(child.process.pid!)} ms of CPU (load average ${load()})`,
          );
        }
      }
      if (pass === 'migrate') {
        // stopped in reverse (the gateway first), as the runner does
        for (const child of children.splice(0).reverse()) await stopService(child, 10_000);
      }
    }
    const timingLoad = load();

    // idle: after the settle period, the highest of five samples one second apart (a GC that has not yet given
    // memory back counts: it is what the node sees)
    await sleep(SETTLE_MS);
    for (let i = 0; i < 5; i++) {
      for (const child of children) {
        const row = rows.find((r) => r.name === child.name)!;
        const status = procStatus(child.process.pid!);
        if (status.rss >= row.idleRssMiB) row.idleAnonMiB = status.anon;
        row.idleRssMiB = Math.max(row.idleRssMiB, status.rss);
      }
      await sleep(1000);
    }
    for (const child of children) {
      const row = rows.find((r) => r.name === child.name)!;
      row.startPeakRssMiB = procStatus(child.process.pid!).hwm;
    }
    for (const child of children) {
      const row = rows.find((r) => r.name === child.name)!;
      const heap = await heapOf(child.url);
      row.idleHeapUsedMiB = heap.used;
      row.idleHeapTotalMiB = heap.total;
    }
    for (const child of children) {
      const row = rows.find((r) => r.name === child.name)!;
      const before = cpuMs(child.process.pid!);
      row.requests = await drive(child.url, REQUEST_PATHS[child.name] ?? '/healthz', REQUESTS);
      row.cpuPer1000Ms = ((cpuMs(child.process.pid!) - before) * 1000) / REQUESTS;
    }
    await sleep(1000);
    for (const child of children) {
      const row = rows.find((r) => r.name === child.name)!;
      const s = procStatus(child.process.pid!);
      row.loadedRssMiB = s.rss;
      row.peakRssMiB = s.hwm;
    }
    for (const child of children.splice(0).reverse()) await stopService(child, 10_000);
    for (const [name, file] of censusFiles) {
      if (!existsSync(file)) continue;
      const c = JSON.parse(readFileSync(file, 'utf8')) as { modules: number; packages: Record<string, number> };
      const row = rows.find((r) => r.name === name)!;
      row.modules = c.modules;
      row.topPackages = Object.entries(c.packages)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 8);
      rmSync(file, { force: true });
    }

    await mailSink?.close();
    mailSink = undefined;
    if (redis.kind === 'local') await Promise.all(redis.handles.map((h) => h.stop()));
    redis = undefined;
    await postgres.handle.stop();
    postgres = undefined;

    // the first npm start on this DATA_DIR also seeds the demo data; the second is the everyday case
    if (!args['no-stack'] && !wanted) {
      const first = await timeStackStart(data.root, log);
      stackReady = { ...(await timeStackStart(data.root, log)), firstMs: first.existingMs };
    }

    printTable(rows, timingLoad, stackReady);
    if (args.json)
      writeFileSync(
        args.json,
        JSON.stringify(
          { at: new Date().toISOString(), node: process.version, limits: LIMITS, rows, stackReady },
          null,
          2,
        ),
      );
  } finally {
    await cleanup();
  }
  async function cleanup(): Promise<void> {
    for (const child of children.splice(0)) await stopService(child, 10_000).catch(() => undefined);
    await mailSink?.close().catch(() => undefined);
    if (redis?.kind === 'local') await Promise.all(redis.handles.map((h) => h.stop().catch(() => undefined)));
    await postgres?.handle.stop().catch(() => undefined);
    mailSink = redis = postgres = undefined;
    if (ownDataDir) rmSync(dataDirPath, { recursive: true, force: true });
  }
}

/** Ctrl-C: stop what the bench started (its services, Redis, Postgres) before exiting. */
let onSignal: (() => Promise<void>) | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    void (onSignal?.() ?? Promise.resolve()).finally(() => process.exit(130));
  });

/** `npm start` (node scripts/start.ts) on the existing DATA_DIR: spawn to its "ready:" line, then a clean stop. */
async function timeStackStart(dataDir: string, log: (line: string) => void): Promise<StackTiming> {
  const base = await freePortRange();
  const t0 = performance.now();
  const stack = new StackProcess({ PORT: String(base), SERVICE_PORT_BASE: String(base), LOG_LEVEL: 'warn' }, dataDir);
  // when each phase line of the runner appeared (ms after the spawn)
  const phases: string[] = [];
  let partial = '';
  stack.child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop()!;
    for (const l of lines)
      if (/ postgres: | redis: | ready at | ready: |seed/.test(l))
        phases.push(`${(performance.now() - t0).toFixed(0).padStart(6)} ms ${l.replace(/^.*?\| /, '').slice(0, 90)}`);
  });
  try {
    await stack.ready();
    const ms = performance.now() - t0;
    log(`npm start on the existing DATA_DIR: ready in ${ms.toFixed(0)} ms (load average ${load()})`);
    for (const p of phases) log(`  ${p}`);
    return { existingMs: ms, loadAverage: load(), phases };
  } catch (err) {
    return { loadAverage: load(), error: (err as Error).message.slice(0, 2000) };
  } finally {
    await stack.stop('SIGTERM');
  }
}

function printTable(rows: Row[], timingLoad: string, stack: StackTiming | undefined): void {
  const bare = rows[0];
  const f = (n: number | undefined, d = 1) => (n === undefined ? '-' : n.toFixed(d));
  const out: string[] = [];
  out.push('');
  out.push(
    `footprint (node ${process.version}; load average at the starts ${timingLoad}; limits: idle RSS <= ${LIMITS.idleRssMiB} MiB and < ${LIMITS.bareFactor}x bare, ready <= ${LIMITS.readyMs} ms)`,
  );
  out.push(
    `${'process'.padEnd(14)} ${'ready ms'.padStart(9)} ${'cpu ms'.padStart(7)} ${'idle RSS'.padStart(9)} ${'anon'.padStart(6)} ${'heap used'.padStart(10)} ${'heap tot'.padStart(9)} ${'start pk'.padStart(9)} ${`RSS@${REQUESTS}`.padStart(9)} ${'peak RSS'.padStart(9)} ${'x bare'.padStart(7)} ${'cpu/1k'.padStart(7)} ${'modules'.padStart(8)}  verdict`,
  );
  for (const r of rows) {
    const factor = r.idleRssMiB / bare.idleRssMiB;
    const isBare = r === bare;
    const verdict = isBare
      ? 'reference'
      : [
          r.idleRssMiB <= LIMITS.idleRssMiB && factor < LIMITS.bareFactor ? 'RSS met' : 'RSS NOT met',
          r.readyMs <= LIMITS.readyMs ? 'ready met' : 'ready NOT met',
        ].join(', ');
    out.push(
      `${r.name.padEnd(14)} ${f(r.readyMs, 0).padStart(9)} ${f(r.readyCpuMs, 0).padStart(7)} ${f(r.idleRssMiB).padStart(9)} ${f(r.idleAnonMiB).padStart(6)} ${f(r.idleHeapUsedMiB).padStart(10)} ${f(r.idleHeapTotalMiB).padStart(9)} ${f(r.startPeakRssMiB).padStart(9)} ${f(r.loadedRssMiB).padStart(9)} ${f(r.peakRssMiB).padStart(9)} ${f(factor, 2).padStart(7)} ${f(r.cpuPer1000Ms, 0).padStart(7)} ${String(r.modules ?? '-').padStart(8)}  ${verdict}`,
    );
  }
  const svc = rows.slice(1);
  if (svc.length) {
    const sum = svc.reduce((a, r) => a + r.idleRssMiB, 0);
    out.push(`services idle RSS total ${sum.toFixed(0)} MiB; MiB are 2^20 bytes (VmRSS); heap from each /metrics`);
  }
  for (const r of svc) {
    const other = Object.entries(r.requests?.other ?? {});
    if (other.length) out.push(`  ${r.name}: requests not ok: ${other.map(([k, v]) => `${k} x${v}`).join(', ')}`);
    if (r.topPackages)
      out.push(`  ${r.name} modules by package: ${r.topPackages.map(([p, n]) => `${p} ${n}`).join(', ')}`);
  }
  if (stack)
    out.push(
      stack.error
        ? `npm start on an existing DATA_DIR: failed: ${stack.error}`
        : `npm start on an existing DATA_DIR: ready in ${f(stack.existingMs, 0)} ms (first start with the demo seed ${f(stack.firstMs, 0)} ms; limit ${LIMITS.stackReadyMs} ms: ${stack.existingMs! <= LIMITS.stackReadyMs ? 'met' : 'NOT met'}; load average ${stack.loadAverage})`,
    );
  process.stdout.write(`${out.join('\n')}\n`);
}

await main();
