// The stack an on-sale bench runs against: either one already running (`--target <gateway URL>`, with its
// DATA_DIR when the bench should also reach its Postgres and Redis), or a fresh one started here through the
// real runner (`node scripts/start.ts`, the same command as `npm start`) on a temporary DATA_DIR, stopped by
// its PID at the end. The runner's children inherit the environment given here: the bench raises the rate
// limits that way (never disabling validation or auth).
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePortRange, StackProcess, tempDataDir } from '../../scripts/test/stack-process.ts';

export interface BenchStack {
  gatewayUrl: string;
  /** catalog's own URL (browsing straight to catalog), when known */
  catalogUrl?: string;
  /** inventory's own URL (its /metrics: the group-commit batch sizes), when known */
  inventoryUrl?: string;
  /** Postgres superuser URL (database "postgres"), when known: pgbench and pg_stat_activity need it */
  adminUrl?: string;
  redisUrls: string[];
  /** name → PID of the stack's processes (CPU accounting), when known */
  pids: Map<string, number>;
  organizer: { email: string; password: string };
  started: boolean;
  stop(): Promise<void>;
}

/** The limits the bench raises (per user, per IP, holds, login/registration): 10⁹ points per window. */
export const RAISED_LIMITS: Record<string, string> = {
  RATE_LIMIT_IP_POINTS: '1000000000',
  RATE_LIMIT_USER_POINTS: '1000000000',
  RATE_LIMIT_HOLDS_POINTS: '1000000000',
  RATE_LIMIT_LOGIN_POINTS: '1000000000',
};

function fromDataDir(dataDir: string): Pick<BenchStack, 'adminUrl' | 'pids'> {
  const out: Pick<BenchStack, 'adminUrl' | 'pids'> = { pids: new Map() };
  const portFile = join(dataDir, 'postgres.port');
  const passwordFile = join(dataDir, 'postgres-password');
  if (existsSync(portFile) && existsSync(passwordFile)) {
    const port = readFileSync(portFile, 'utf8').trim();
    const password = readFileSync(passwordFile, 'utf8').trim();
    out.adminUrl = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  }
  const pidFile = join(dataDir, 'stack.pids');
  if (existsSync(pidFile)) {
    const record = JSON.parse(readFileSync(pidFile, 'utf8')) as { processes: { name: string; pid: number }[] };
    for (const p of record.processes) out.pids.set(p.name, p.pid);
  }
  return out;
}

/** The runner prints Redis URLs without their password (kept in DATA_DIR/redis-password). */
function withPassword(urls: string[], dataDir: string): string[] {
  const file = join(dataDir, 'redis-password');
  if (!existsSync(file)) return urls;
  const password = readFileSync(file, 'utf8').trim();
  return urls.map((u) => {
    const url = new URL(u);
    if (!url.password) url.password = password;
    return url.toString();
  });
}

export async function startStack(opts: { demoPassword: string; env?: Record<string, string> }): Promise<BenchStack> {
  const dataDir = tempDataDir();
  const base = await freePortRange();
  const stack = new StackProcess(
    {
      PORT: '0',
      SERVICE_PORT_BASE: String(base),
      DEMO_PASSWORD: opts.demoPassword,
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
      // only what an on-sale touches (BENCH_STACK_SERVICES to change it)
      STACK_REGISTRY: fileURLToPath(new URL('./stack-services.ts', import.meta.url)),
      ...RAISED_LIMITS,
      ...opts.env,
    },
    dataDir,
  );
  let gatewayUrl: string;
  try {
    gatewayUrl = await stack.ready();
  } catch (err) {
    await stack.stop('SIGINT');
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const redisLine = /redis: [^\n]*?: (redis:\/\/[^\n]+)/.exec(stack.output);
  return {
    gatewayUrl,
    catalogUrl: `http://127.0.0.1:${base + 2}`,
    inventoryUrl: `http://127.0.0.1:${base + 3}`,
    redisUrls: withPassword(redisLine ? redisLine[1]!.split(',').map((u) => u.trim()) : [], dataDir),
    ...fromDataDir(dataDir),
    organizer: { email: 'organizer@example.com', password: opts.demoPassword },
    started: true,
    stop: async () => {
      const code = await stack.stop('SIGINT');
      if (code !== 0) process.stderr.write(`stack runner exited with ${code}:\n${stack.output.slice(-4000)}\n`);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A stack someone else started (npm start): its DATA_DIR (default .data/) gives Postgres and the PIDs. */
export function attachStack(opts: {
  gatewayUrl: string;
  dataDir?: string;
  catalogUrl?: string;
  redisUrls?: string[];
  organizer: { email: string; password: string };
}): BenchStack {
  const local = opts.dataDir && existsSync(opts.dataDir) ? fromDataDir(opts.dataDir) : { pids: new Map() };
  return {
    gatewayUrl: opts.gatewayUrl.replace(/\/$/, ''),
    catalogUrl: opts.catalogUrl,
    redisUrls: opts.redisUrls ?? [],
    ...local,
    organizer: opts.organizer,
    started: false,
    stop: async () => undefined,
  };
}
