// Live availability across replicas (issue 6: "a client connected to any replica sees changes made on any
// replica, within a second"). Two real inventory processes share one embedded Postgres and three
// redis-server masters; SSE clients listen on replica B while holds are made, one after another, on
// replica A. For every hold it measures the time from A's 201 (the change is committed) to its arrival at
// each client of B (Redis pub/sub fan-out, then B's SSE write), and prints p50/p99/max. Heartbeats are
// left at their 15 s default, so a change can only arrive in time through pub/sub.
//
// Env: BENCH_HOLDS (200), BENCH_CLIENTS (50), BENCH_GAP_MS (20, pause between holds).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { createDatabase, ensureDatabase, migrate, withTransaction } from '@eventtickets/platform';
import { openSse, type SseClient } from '@eventtickets/platform/testing';
import { startPostgres, startRedis, stopChild, type RedisHandle } from '../../scripts/infra/processes.ts';
import { migrations } from '../../services/inventory/src/db/migrations.ts';
import { materialiseEvent } from '../../services/inventory/src/use-cases/materialise.ts';
import { identityHeaders, percentile, spawnService } from '../gateway/driver.ts';

const HOLDS = Number(process.env.BENCH_HOLDS ?? 200);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 50);
const GAP_MS = Number(process.env.BENCH_GAP_MS ?? 20);
const GOAL_MS = 1000;

function startInventory(databaseUrl: string, redisUrls: string[]): Promise<{ child: ChildProcess; url: string }> {
  return spawnService('inventory', {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrls.join(','),
    REDIS_PREFIX: `bench-sse-${process.pid}:`,
    LOG_LEVEL: 'warn',
  });
}

const dir = mkdtempSync(join(tmpdir(), 'bench-sse-'));
const children: ChildProcess[] = [];
const redis: RedisHandle[] = [];
const clients: SseClient[] = [];
let pgStop: (() => Promise<void>) | undefined;
try {
  const pg = await startPostgres(dir, { fast: true });
  pgStop = pg.stop;
  for (let i = 0; i < 3; i++) redis.push(await startRedis());
  const databaseUrl = pg.url.replace(/\/postgres$/, '/inventory_bench');
  await ensureDatabase(databaseUrl);

  // The event, materialised as inventory would on event.published (before any replica has clients).
  const db = createDatabase(databaseUrl);
  await migrate(db, migrations);
  const eventId = `bench-${Date.now()}`;
  const seats = Array.from({ length: HOLDS }, (_, i) => ({
    seatId: `s${String(i + 1).padStart(4, '0')}`,
    label: `A${i + 1}`,
    section: 'Stalls',
    row: 'A',
    tierId: 'std',
    x: i,
    y: 0,
  }));
  await withTransaction(db, (t) =>
    materialiseEvent(
      db,
      t,
      {
        eventId,
        organizerId: 'org-bench',
        title: 'SSE bench',
        salesStartAt: new Date(Date.now() - 3_600_000).toISOString(),
        salesEndAt: new Date(Date.now() + 86_400_000).toISOString(),
        reservationMinutes: 10,
        maxSeatsPerOrder: 8,
        tiers: [{ tierId: 'std', name: 'Standard', amount: 1000, currency: 'EUR' }],
        seats,
        gaAreas: [],
      },
      () => undefined,
    ),
  );
  await db.close();

  const a = await startInventory(
    databaseUrl,
    redis.map((r) => r.url),
  );
  const b = await startInventory(
    databaseUrl,
    redis.map((r) => r.url),
  );
  children.push(a.child, b.child);
  for (let i = 0; i < CLIENTS; i++) {
    const client = await openSse(`${b.url}/api/events/${eventId}/availability/stream`);
    await client.next((m) => m.event === 'snapshot');
    clients.push(client);
  }
  console.log(
    `inventory SSE fan-out across replicas: ${HOLDS} holds on replica A, one at a time (${GAP_MS} ms apart); ${CLIENTS} SSE clients on replica B`,
  );

  const latencies: number[] = [];
  for (const seat of seats) {
    // Every client waits for this seat's change; the clock starts when A has committed the hold.
    const arrivals = clients.map((c) =>
      c
        .next(
          (m) =>
            m.event === 'changes' &&
            (m.data as { seats?: Record<string, string> }[]).some((x) => x.seats?.[seat.seatId] === 'held'),
        )
        .then(() => performance.now()),
    );
    const res = await fetch(`${a.url}/api/holds`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...identityHeaders('inventory', { userId: `buyer-${seat.seatId}`, role: 'buyer' }),
      },
      body: JSON.stringify({ eventId, seats: [seat.seatId] }),
    });
    const committed = performance.now();
    if (res.status !== 201) throw new Error(`hold on replica A answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 10_000).unref());
    for (const arrival of arrivals) {
      const at = await Promise.race([arrival, timeout]);
      if (at === 'timeout')
        throw new Error(`the change of ${seat.seatId} did not reach a client of replica B within 10 s`);
      latencies.push(Math.max(0, at - committed));
    }
    await new Promise((r) => setTimeout(r, GAP_MS));
  }

  latencies.sort((x, y) => x - y);
  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  const max = latencies.at(-1)!;
  console.log(`  deliveries ${latencies.length} (every hold reached every client)`);
  console.log(
    `  201 on A → change at a client of B:  p50 ${p50.toFixed(2)} ms   p99 ${p99.toFixed(2)} ms   max ${max.toFixed(2)} ms`,
  );
  console.log(`  goal: every change within ${GOAL_MS} ms on another replica: ${max <= GOAL_MS ? 'met' : 'NOT met'}`);
} finally {
  for (const c of clients) c.close();
  await Promise.all(children.map((c) => stopChild(c)));
  await Promise.all(redis.map((r) => r.stop()));
  await pgStop?.();
  rmSync(dir, { recursive: true, force: true });
}
