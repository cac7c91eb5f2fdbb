// Shared pieces of the gateway benchmark and profiler: child processes (trivial upstream, the real gateway),
// health waits, and the closed-loop load driver. The load generator always runs in the calling process and
// every server in its own process, so none of them shares an event loop with the client.
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Dispatcher, Pool } from 'undici';
import { createInternalTokenSigner, type Identity } from '@eventtickets/platform';
import { freePort } from '@eventtickets/platform/testing';

export const root = fileURLToPath(new URL('../../', import.meta.url));

/** The stack-wide INTERNAL_TOKEN_SECRET of one benchmark run: every process it starts gets it. */
export const BENCH_INTERNAL_TOKEN_SECRET = randomBytes(32).toString('base64url');

/** What the gateway sends a service for a signed-in user: the internal token for that service and the
 *  identity headers it proves (a benchmark calling a service directly acts as the gateway). */
export function identityHeaders(service: string, identity: Identity): Record<string, string> {
  return createInternalTokenSigner({ secret: BENCH_INTERNAL_TOKEN_SECRET, issuer: 'gateway' }).headers(
    service,
    identity,
  );
}

/** Resolves with the first line a child writes to stdout (the trivial upstream prints its URL). */
export function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (line) => {
      rl.close();
      resolve(line.trim());
    });
    child.once('exit', (code) => reject(new Error(`child exited with ${code} before it was ready`)));
  });
}

export async function waitForHealth(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing healthy at ${url} after ${timeoutMs} ms`);
}

export async function startTrivialUpstream(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./upstream.ts', import.meta.url))], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return { child, url: await firstLine(child) };
}

export interface GatewayOptions {
  upstreams: Record<string, string>;
  redisUrl?: string;
  logLevel?: string;
  /** Extra node flags, e.g. --cpu-prof. */
  execArgv?: string[];
}

/** The real gateway (services/gateway/src/main.ts) with a per-IP limit high enough never to trip. */
export async function startGateway(opts: GatewayOptions): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const upstreamEnv = Object.fromEntries(
    Object.entries(opts.upstreams).map(([service, url]) => [`${service.toUpperCase()}_URL`, url]),
  );
  // BENCH_GATEWAY_ENTRY: another gateway build to measure (e.g. an older commit's services/gateway extracted
  // inside the repository, so that it resolves the same node_modules), for before/after figures.
  const entry = process.env.BENCH_GATEWAY_ENTRY ?? 'services/gateway/src/main.ts';
  const child = spawn(process.execPath, [...(opts.execArgv ?? []), entry], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      HOST: '127.0.0.1',
      ...upstreamEnv,
      INTERNAL_TOKEN_SECRET: BENCH_INTERNAL_TOKEN_SECRET,
      LOG_LEVEL: opts.logLevel ?? 'info',
      ...(opts.redisUrl ? { REDIS_URL: opts.redisUrl, REDIS_PREFIX: `bench-${process.pid}-${port}:` } : {}),
      RATE_LIMIT_IP_POINTS: '1000000000',
      RATE_LIMIT_IP_WINDOW_S: '60',
    },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHealth(url);
  return { child, url };
}

export interface Round {
  latencies: number[];
  errors: number;
  elapsedS: number;
}
export interface Result {
  label: string;
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p99: number;
}

/** `inFlight` closed loops issue the same request back to back for `durationS`; latencies in ms. */
export async function drive(
  pool: Pool,
  request: Dispatcher.RequestOptions,
  durationS: number,
  inFlight: number,
): Promise<Round> {
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + durationS * 1000;
  async function loop(): Promise<void> {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const res = await pool.request(request);
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

/** The p-th percentile of ascending latencies. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

export function summariseRounds(label: string, rounds: Round[]): Result {
  const all = rounds.flatMap((r) => r.latencies);
  const elapsed = rounds.reduce((s, r) => s + r.elapsedS, 0);
  const sorted = Float64Array.from(all).sort();
  return {
    label,
    requests: all.length,
    errors: rounds.reduce((s, r) => s + r.errors, 0),
    rps: all.length / elapsed,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
  };
}

/** user+system CPU time of a process so far, in ms (Linux /proc; clock ticks of 10 ms). */
export function processCpuMs(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN; // not Linux
  }
}

/** The real catalog service (services/catalog/src/main.ts) on the given database; it creates the database and migrates. */
/** A service's real entry point (services/<dir>/src/main.ts) as its own process on a free loopback port,
 *  with only PATH and the given variables; resolves once /healthz answers. */
export async function spawnService(
  dir: string,
  env: Record<string, string>,
  readyTimeoutMs = 60_000,
): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, [`services/${dir}/src/main.ts`], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      HOST: '127.0.0.1',
      INTERNAL_TOKEN_SECRET: BENCH_INTERNAL_TOKEN_SECRET,
      ...env,
    },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHealth(url, readyTimeoutMs);
  return { child, url };
}

export function spawnCatalog(
  databaseUrl: string,
  redisUrl: string | undefined,
  logLevel = 'info',
): Promise<{ child: ChildProcess; url: string }> {
  return spawnService('catalog', {
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: logLevel,
    CURSOR_SECRET: randomBytes(32).toString('base64url'),
    ...(redisUrl ? { REDIS_URL: redisUrl, REDIS_PREFIX: `bench-catalog-${process.pid}:` } : {}),
  });
}

/** A venue and a published event, created through catalog's API as an organizer would (the internal token and
 *  identity headers the gateway sends). */
export async function publishedEvent(catalogUrl: string): Promise<string> {
  const headers = {
    'content-type': 'application/json',
    ...identityHeaders('catalog', { userId: 'bench-organizer', role: 'organizer' }),
  };
  async function call(method: string, path: string, body?: unknown): Promise<{ id: string; status?: string }> {
    const res = await fetch(`${catalogUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as { id: string; status?: string };
    if (!res.ok) throw new Error(`catalog ${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  }
  const day = (offset: number, hour: number) => {
    const d = new Date();
    d.setUTCDate(d.getUTCDate() + offset);
    d.setUTCHours(hour, 0, 0, 0);
    return d.toISOString();
  };
  const venue = await call('POST', '/api/venues', {
    name: 'Benchmark Hall',
    city: 'Dublin',
    address: '1 Quay Street',
    timeZone: 'Europe/Dublin',
    seatMap: {
      sections: [{ name: 'Stalls', rows: 10, seatsPerRow: 20, origin: { x: 10, y: 10 }, spacing: 20 }],
      gaAreas: [{ name: 'Standing', capacity: 200, x: 500, y: 50 }],
    },
  });
  const event = await call('POST', '/api/events', {
    venueId: venue.id,
    title: 'Benchmark night',
    category: 'concert',
    startsAt: day(30, 20),
    endsAt: day(30, 23),
    tiers: [
      { name: 'Stalls', amount: 4500, currency: 'EUR', sections: ['Stalls'] },
      { name: 'Standing', amount: 2000, currency: 'EUR', gaAreas: ['Standing'] },
    ],
  });
  const published = await call('POST', `/api/events/${event.id}/publish`);
  if (published.status !== 'published') throw new Error(`event not published: ${published.status}`);
  return event.id;
}
