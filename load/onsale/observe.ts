// What the machine does during a loop: inventory's Postgres sessions sampled from pg_stat_activity (lock
// waits, idle in transaction), CPU time per stack process from /proc, and Redis commands by type from
// INFO commandstats (Redlock's scripts and the gateway's rate-limit calls).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { findBinary } from '../../scripts/infra/processes.ts';

export interface ActivitySummary {
  samples: number;
  lockTransactionId: { avg: number; max: number };
  lockAny: { avg: number; max: number };
  idleInTransaction: { avg: number; max: number };
  active: { avg: number; max: number };
  connections: { avg: number; max: number };
}

/** Samples inventory's sessions every `everyMs` until stop() (needs the superuser URL). */
export function sampleActivity(adminUrl: string, database = 'inventory', everyMs = 100) {
  const client = new pg.Client({ connectionString: adminUrl });
  const rows: Record<string, number>[] = [];
  let stopped = false;
  const ready = client.connect();
  const loop = (async () => {
    await ready;
    while (!stopped) {
      const r = await client.query(
        `SELECT count(*) FILTER (WHERE wait_event_type = 'Lock' AND wait_event = 'transactionid')::int AS "lockTransactionId",
                count(*) FILTER (WHERE wait_event_type = 'Lock')::int AS "lockAny",
                count(*) FILTER (WHERE state = 'idle in transaction')::int AS "idleInTransaction",
                count(*) FILTER (WHERE state = 'active')::int AS active,
                count(*)::int AS connections
           FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
        [database],
      );
      rows.push(r.rows[0]);
      await new Promise((res) => setTimeout(res, everyMs));
    }
  })();
  return {
    async stop(): Promise<ActivitySummary> {
      stopped = true;
      await loop.catch(() => undefined);
      await client.end().catch(() => undefined);
      const stat = (k: string) => ({
        avg: rows.length ? rows.reduce((s, r) => s + r[k]!, 0) / rows.length : NaN,
        max: Math.max(0, ...rows.map((r) => r[k]!)),
      });
      return {
        samples: rows.length,
        lockTransactionId: stat('lockTransactionId'),
        lockAny: stat('lockAny'),
        idleInTransaction: stat('idleInTransaction'),
        active: stat('active'),
        connections: stat('connections'),
      };
    },
  };
}

/** CPU ms of one process including its reaped children (utime + stime + cutime + cstime, /proc/<pid>/stat):
 *  a Postgres backend that exits during a window (an idle pool connection closed) moves its time into the
 *  postmaster's cutime instead of vanishing from the sum (which made a window's Postgres figure negative). */
function ownAndReapedCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 10;
  } catch {
    return NaN; // gone, or not Linux
  }
}

/** CPU ms of a process and all its descendants (Postgres: the postmaster and its backends). */
function treeCpuMs(pid: number): number {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      /* gone */
    }
  }
  let total = 0;
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop()!;
    const ms = ownAndReapedCpuMs(p);
    if (Number.isFinite(ms)) total += ms;
    stack.push(...(children.get(p) ?? []));
  }
  return total;
}

/** CPU ms per named process (the stack's PIDs plus this load generator), read at start and at stop. */
export function cpuMeter(pids: Map<string, number>) {
  const all = new Map(pids);
  // this process only (the stack runner it may have started, and so every service, are its descendants)
  const own = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const read = () =>
    new Map([...[...all].map(([name, pid]) => [name, treeCpuMs(pid)] as const), ['load generator', own()] as const]);
  const before = read();
  return {
    stop(): Record<string, number> {
      const after = read();
      return Object.fromEntries([...after.keys()].map((n) => [n, after.get(n)! - before.get(n)!]));
    },
  };
}

/** Waits until the stack and this process (its worker threads included) use less than `belowCores` of CPU over a
 *  `windowMs` window, at most `maxMs`: a loop must not measure the previous phase's teardown (500 connections and
 *  2,000 viewer streams closing, the memory they held being collected, the viewers' statistics computed).
 *  Returns the time it took and the last window's CPU, in cores. */
export async function waitForIdle(
  pids: Map<string, number>,
  opts: { belowCores?: number; windowMs?: number; maxMs?: number } = {},
): Promise<{ waitedS: number; cores: number }> {
  const { belowCores = 0.25, windowMs = 500, maxMs = 15_000 } = opts;
  const started = performance.now();
  let cores = NaN;
  while (performance.now() - started < maxMs) {
    const meter = cpuMeter(pids);
    await new Promise((r) => setTimeout(r, windowMs));
    cores = Object.values(meter.stop()).reduce((a, b) => a + b, 0) / windowMs;
    if (cores < belowCores) break;
  }
  return { waitedS: (performance.now() - started) / 1000, cores };
}

/** Calls per Redis command, summed over the given servers (redis-cli INFO commandstats). */
export function redisCommandStats(urls: string[]): Record<string, number> | undefined {
  const cli = findBinary('redis-cli');
  if (!cli || !urls.length) return undefined;
  const total: Record<string, number> = {};
  for (const url of urls) {
    // The password through REDISCLI_AUTH: `-u redis://:pw@…` makes redis-cli send AUTH with an empty user name,
    // which the server refuses (WRONGPASS), and every count read as nothing.
    const u = new URL(url);
    const password = decodeURIComponent(u.password);
    u.username = '';
    u.password = '';
    const out =
      spawnSync(cli, ['-u', u.toString(), 'INFO', 'commandstats'], {
        encoding: 'utf8',
        env: { ...process.env, ...(password ? { REDISCLI_AUTH: password } : {}) },
      }).stdout ?? '';
    for (const m of out.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) total[m[1]!] = (total[m[1]!] ?? 0) + Number(m[2]);
  }
  return total;
}

export function diffCounts(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0) out[k] = v - (before[k] ?? 0);
  return out;
}

/** Inventory's group-commit histogram (inventory_hold_batch_size): calls, holds, and calls per size bucket
 *  (cumulative "le" counts as Prometheus keeps them), read from its /metrics; undefined when unreachable. */
export interface BatchStats {
  calls: number;
  holds: number;
  le: Record<string, number>;
}

export async function holdBatchStats(inventoryUrl: string): Promise<BatchStats | undefined> {
  const text = await fetch(`${inventoryUrl}/metrics`)
    .then((r) => (r.ok ? r.text() : undefined))
    .catch(() => undefined);
  if (text === undefined) return undefined;
  const stats: BatchStats = { calls: 0, holds: 0, le: {} };
  for (const line of text.split('\n')) {
    if (!line.startsWith('inventory_hold_batch_size')) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.startsWith('inventory_hold_batch_size_count')) stats.calls = value;
    else if (line.startsWith('inventory_hold_batch_size_sum')) stats.holds = value;
    else {
      const le = /le="([^"]+)"/.exec(line)?.[1];
      if (le) stats.le[le] = value;
    }
  }
  return stats;
}

/** What happened between two reads of holdBatchStats. */
export function diffBatchStats(after: BatchStats, before: BatchStats): BatchStats {
  return {
    calls: after.calls - before.calls,
    holds: after.holds - before.holds,
    le: Object.fromEntries(Object.entries(after.le).map(([k, v]) => [k, v - (before.le[k] ?? 0)])),
  };
}
