// Login timing (issue 3: "the same 401 and similar timing for an unknown e-mail and a wrong password").
// The real users service (its own process, production scrypt cost N=2^15) on embedded Postgres and a
// redis-server; BENCH_USERS accounts are registered, then logins alternate between an unknown e-mail and a
// known e-mail with a wrong password (each account and each unknown address tried once, so the per-account
// back-off never engages). Prints the latency of both kinds, and their difference, side by side.
//
// Env: BENCH_USERS (60), SCRYPT_LOG_N (15).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ensureDatabase } from '@eventtickets/platform';
import { startPostgres, startRedis, stopChild, type RedisHandle } from '../../scripts/infra/processes.ts';
import { percentile, spawnService } from '../gateway/driver.ts';

const USERS = Number(process.env.BENCH_USERS ?? 60);
const PASSWORD = 'bench-password-123';

function stats(ms: number[]): { p50: number; mean: number; p90: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    mean: sorted.reduce((n, v) => n + v, 0) / sorted.length,
    p90: percentile(sorted, 90),
  };
}

async function login(
  url: string,
  email: string,
  password: string,
): Promise<{ ms: number; status: number; body: string }> {
  const started = performance.now();
  const res = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const body = await res.text();
  return { ms: performance.now() - started, status: res.status, body };
}

const dir = mkdtempSync(join(tmpdir(), 'bench-login-'));
let child: ChildProcess | undefined;
let redis: RedisHandle | undefined;
let stopPg: (() => Promise<void>) | undefined;
try {
  const pg = await startPostgres(dir, { fast: true });
  stopPg = pg.stop;
  redis = await startRedis();
  const databaseUrl = pg.url.replace(/\/postgres$/, '/users_bench');
  await ensureDatabase(databaseUrl);
  const { child: users, url } = await spawnService('users', {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redis.url,
    REDIS_PREFIX: `bench-login-${process.pid}:`,
    LOG_LEVEL: 'warn',
    SCRYPT_LOG_N: process.env.SCRYPT_LOG_N ?? '15',
  });
  child = users;

  const run = Date.now();
  const known: string[] = [];
  for (let i = 0; i < USERS; i++) {
    const email = `bench-${run}-${i}@example.com`;
    const res = await fetch(`${url}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: PASSWORD, name: `Bench ${i}` }),
    });
    if (res.status !== 201) throw new Error(`register answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
    known.push(email);
  }
  // One warm-up of each kind, not counted.
  await login(url, `warmup-${run}@example.com`, 'wrong-password-1');
  await login(url, known[0]!, 'wrong-password-1');

  const unknown: number[] = [];
  const wrong: number[] = [];
  const bodies = new Set<string>();
  for (let i = 1; i < USERS; i++) {
    // Alternate the order so drift on a shared machine hits both kinds alike.
    const tryUnknown = () => login(url, `nobody-${run}-${i}@example.com`, 'wrong-password-1');
    const tryWrong = () => login(url, known[i]!, 'wrong-password-1');
    let a, b;
    if (i % 2) {
      a = await tryUnknown();
      b = await tryWrong();
    } else {
      b = await tryWrong();
      a = await tryUnknown();
    }
    for (const r of [a, b]) {
      if (r.status !== 401) throw new Error(`a failed login answered ${r.status}: ${r.body}`);
      const { requestId: _id, ...rest } = JSON.parse(r.body) as Record<string, unknown>;
      bodies.add(JSON.stringify(rest));
    }
    unknown.push(a.ms);
    wrong.push(b.ms);
  }

  const u = stats(unknown);
  const w = stats(wrong);
  const fmt = (s: { p50: number; mean: number; p90: number }) =>
    `p50 ${s.p50.toFixed(1)} ms   mean ${s.mean.toFixed(1)} ms   p90 ${s.p90.toFixed(1)} ms`;
  console.log(
    `login timing, users service on embedded Postgres, scrypt N=2^${process.env.SCRYPT_LOG_N ?? 15}: ${unknown.length} pairs`,
  );
  console.log(`  unknown e-mail   ${fmt(u)}`);
  console.log(`  wrong password   ${fmt(w)}`);
  console.log(
    `  difference of medians ${(w.p50 - u.p50).toFixed(1)} ms (${(((w.p50 - u.p50) / u.p50) * 100).toFixed(1)}% of the unknown-e-mail median)`,
  );
  console.log(
    `  distinct 401 bodies (request id aside): ${bodies.size} ${bodies.size === 1 ? '(identical)' : '(they differ!)'}`,
  );
} finally {
  if (child) await stopChild(child);
  await redis?.stop();
  await stopPg?.();
  rmSync(dir, { recursive: true, force: true });
}
