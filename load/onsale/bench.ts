// `npm run bench:onsale`: an on-sale at full speed through the public gateway (issue 14).
//
//   node load/onsale/bench.ts [--target <gateway URL> [--data-dir <its DATA_DIR>] [--catalog <catalog URL>]]
//
// Without --target it starts the whole stack with the real runner on a temporary DATA_DIR (durable Postgres,
// three redis-server, users, catalog, inventory, gateway), rate limits raised through the environment.
// Then: an organizer creates 10,000-seat events through the API; N buyers sign in; (a) closed loop: each
// buyer keeps one two-seat hold request in flight for D seconds; (b) open loop at a fixed rate (default half
// of (a)'s attempts/s) on a fresh event; (c) the same at half of (a)'s grant phase (its first seconds with at
// least half of them granted: the mix an open loop on a fresh event starts with); the invariant is checked from
// outside after each; pgbench measures the raw limit of the same write on the same Postgres; cached browsing through the gateway against catalog and
// catalog against a bare node:http server. Prints the figures and writes them as JSON.
//
// Env: BENCH_BUYERS (500), BENCH_SECONDS (30), BENCH_OPEN_RATE (half of the closed loop's attempts/s),
// BENCH_VIEWERS (2000; needs load/onsale/viewers.ts; they read on a worker thread, BENCH_VIEWERS_IN_PROCESS=1 on
// this event loop), BENCH_PGBENCH_CLIENTS (16), BENCH_PGBENCH_SECONDS (10),
// BENCH_HOLD_CLIENT (raw: hand-written keep-alive connections, load/onsale/hold-client.ts: one per buyer in (a),
// a stack of idle ones in (b) and (c); undici: the pool in all), BENCH_GRANT_PHASE_LOOP (1; 0 skips (c)),
// BENCH_BROWSE_SECONDS (5; 0 skips browsing), BENCH_OUT (load/onsale/last-run.json), BENCH_LOG_LEVEL (warn),
// BENCH_ORGANIZER_EMAIL / BENCH_ORGANIZER_PASSWORD (with --target; default organizer@example.com / DEMO_PASSWORD).
import { execSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createSeatedEvent, login, seatPairs, signInBuyers, waitForSnapshot, type Buyer } from './api.ts';
import { measureBrowsing } from './browse.ts';
import { checkInvariant } from './invariant.ts';
import { byWindow, closedLoop, grantPhase, holdPool, openLoop, percentiles, type Tally } from './loops.ts';
import {
  cpuMeter,
  diffBatchStats,
  diffCounts,
  holdBatchStats,
  redisCommandStats,
  sampleActivity,
  waitForIdle,
  type BatchStats,
} from './observe.ts';
import { measureRawLimit } from './raw-limit.ts';
import { attachStack, startStack, type BenchStack } from './stack.ts';

const { values: args } = parseArgs({
  options: {
    target: { type: 'string' },
    'data-dir': { type: 'string' },
    catalog: { type: 'string' },
  },
});
const env = process.env;
const BUYERS = Number(env.BENCH_BUYERS ?? 500);
const SECONDS = Number(env.BENCH_SECONDS ?? 30);
const VIEWERS = Number(env.BENCH_VIEWERS ?? 2000);
const PGBENCH_CLIENTS = Number(env.BENCH_PGBENCH_CLIENTS ?? 16);
const PGBENCH_SECONDS = Number(env.BENCH_PGBENCH_SECONDS ?? 10);
const BROWSE_SECONDS = Number(env.BENCH_BROWSE_SECONDS ?? 5);
const GRANT_PHASE_LOOP = env.BENCH_GRANT_PHASE_LOOP !== '0';
const OUT = env.BENCH_OUT ?? fileURLToPath(new URL('./last-run.json', import.meta.url));
const runId = `${Date.now().toString(36)}${process.pid.toString(36)}`;
const log = (line: string) => process.stdout.write(`${line}\n`);
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');

function summarise(t: Tally) {
  const answered = t.latencies.length;
  const c = (s: string) => t.byStatus[s] ?? 0;
  return {
    attempts: t.attempts,
    elapsedS: t.elapsedS,
    attemptsPerS: answered / t.elapsedS,
    grantedPerS: c('201') / t.elapsedS,
    byStatus: t.byStatus,
    share503: c('503') / Math.max(1, answered),
    latencyMs: percentiles(t.latencies, [50, 95, 99]),
    bySecond: byWindow(t, 1),
    firstTwoSecondsBy100ms: byWindow(t, 0.1).slice(0, 20),
    samples: t.samples,
  };
}

function progress(label: string) {
  let lastAttempts = 0;
  return (t: Tally, elapsed: number) => {
    const c = (s: string) => t.byStatus[s] ?? 0;
    const rate = t.latencies.length - lastAttempts;
    lastAttempts = t.latencies.length;
    log(
      `  ${label} ${elapsed.toFixed(0).padStart(3)} s: ${rate} answers/s, total 201 ${c('201')} 409 ${c('409')} 503 ${c('503')} other ${t.latencies.length - c('201') - c('409') - c('503')}`,
    );
  };
}

async function openViewersIfAvailable(stack: BenchStack, eventId: string, count: number) {
  const module = fileURLToPath(new URL('./viewers.ts', import.meta.url));
  if (count <= 0) return { note: 'BENCH_VIEWERS=0: no viewers' };
  if (!existsSync(module)) return { note: 'load/onsale/viewers.ts is not there: ran without viewers' };
  const { openViewers, reportingAnswers } = (await import(module)) as typeof import('./viewers.ts');
  const inProcess = env.BENCH_VIEWERS_IN_PROCESS === '1';
  const handle = openViewers({ gatewayUrl: stack.gatewayUrl, eventId, count, inProcess });
  // the pool the closed loop uses, reporting each 201's arrival to the viewers (answered -> viewer latency)
  const answering = <P extends Parameters<typeof reportingAnswers>[0]>(p: P) => reportingAnswers(p, handle);
  await handle.ready;
  const p = handle.progress();
  log(`viewers: ${p.opened} streams open, ${p.failed} failed`);
  return { handle, answering };
}

function machine() {
  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
    if (execSync('git status --porcelain -- services load', { encoding: 'utf8' }).trim())
      commit += ' (+ local changes)';
  } catch {
    /* not a checkout */
  }
  return {
    date: new Date().toISOString(),
    commit,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadAverageAtStart: loadavg(),
    node: process.version,
  };
}

const result: Record<string, unknown> = { machine: machine() };
log(
  `on-sale bench: ${BUYERS} buyers, ${SECONDS} s per loop, ${VIEWERS} viewers; machine ${result.machine && (result.machine as any).cpus} CPUs, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);

const demoPassword = env.DEMO_PASSWORD ?? `onsale-${runId}-demo`;
const stack: BenchStack = args.target
  ? attachStack({
      gatewayUrl: args.target,
      dataDir: args['data-dir'] ?? '.data',
      catalogUrl: args.catalog,
      organizer: {
        email: env.BENCH_ORGANIZER_EMAIL ?? 'organizer@example.com',
        password: env.BENCH_ORGANIZER_PASSWORD ?? env.DEMO_PASSWORD ?? '',
      },
    })
  : (log('starting the stack (node scripts/start.ts on a temporary DATA_DIR)...'), await startStack({ demoPassword }));

try {
  log(`stack: gateway ${stack.gatewayUrl}${stack.started ? ' (started here)' : ''}`);
  const organizerToken = await login(stack.gatewayUrl, stack.organizer.email, stack.organizer.password);
  const closedEvent = await createSeatedEvent(stack.gatewayUrl, organizerToken, {
    title: `On-sale closed loop ${runId}`,
    rows: 50,
    seatsPerRow: 200,
  });
  const openEvent = await createSeatedEvent(stack.gatewayUrl, organizerToken, {
    title: `On-sale open loop ${runId}`,
    rows: 50,
    seatsPerRow: 200,
  });
  const phaseEvent = GRANT_PHASE_LOOP
    ? await createSeatedEvent(stack.gatewayUrl, organizerToken, {
        title: `On-sale open loop at the grant phase's rate ${runId}`,
        rows: 50,
        seatsPerRow: 200,
      })
    : undefined;
  const closedSnapshot = await waitForSnapshot(stack.gatewayUrl, closedEvent);
  const openSnapshot = await waitForSnapshot(stack.gatewayUrl, openEvent);
  const phaseSnapshot = phaseEvent ? await waitForSnapshot(stack.gatewayUrl, phaseEvent) : undefined;
  log(
    `events: ${[closedEvent, openEvent, phaseEvent].filter(Boolean).join(', ')}, ${Object.keys(closedSnapshot.seats).length} seats each`,
  );

  const t0 = performance.now();
  const buyers: Buyer[] = await signInBuyers(stack.gatewayUrl, {
    count: BUYERS,
    runId,
    onProgress: (n) => n % 100 === 0 && log(`  buyers signed in: ${n}/${BUYERS}`),
  });
  log(`${buyers.length} buyers signed in (${((performance.now() - t0) / 1000).toFixed(1)} s)`);

  const pool = holdPool(stack.gatewayUrl, BUYERS);
  // (a) closed loop, with viewers on the event when the streams helper's module is there
  const viewers = await openViewersIfAvailable(stack, closedEvent, VIEWERS);
  if (viewers.note) log(`viewers: ${viewers.note}`);
  const activity = stack.adminUrl ? sampleActivity(stack.adminUrl) : undefined;
  // Set-up work (seat pairs, the Redis counters' first read: redis-cli runs) before the CPU meter starts, so
  // the load generator's CPU per attempt is what driving the loop costs.
  const closedPairs = seatPairs(closedSnapshot);
  const settledA = await waitForIdle(stack.pids);
  log(`  the stack is idle (${settledA.cores.toFixed(2)} cores) after ${settledA.waitedS.toFixed(1)} s`);
  const redisBefore = redisCommandStats(stack.redisUrls);
  const batchesBefore = stack.inventoryUrl ? await holdBatchStats(stack.inventoryUrl) : undefined;
  const cpu = cpuMeter(stack.pids);
  log(`(a) closed loop: ${BUYERS} buyers, one two-seat hold request each in flight, ${SECONDS} s`);
  const closed = await closedLoop({
    pool: viewers.answering ? viewers.answering(pool) : pool,
    // each buyer on its own raw connection (hold-client.ts), unless BENCH_HOLD_CLIENT=undici
    rawGatewayUrl: env.BENCH_HOLD_CLIENT === 'undici' ? undefined : stack.gatewayUrl,
    markAnswered: viewers.handle?.markAnswered,
    buyers,
    eventId: closedEvent,
    pairs: closedPairs,
    durationS: SECONDS,
    markChange: viewers.handle?.markChange,
    onProgress: progress('closed'),
  });
  const cpuMs = cpu.stop();
  const batchesAfter = stack.inventoryUrl && batchesBefore ? await holdBatchStats(stack.inventoryUrl) : undefined;
  const batches: BatchStats | undefined =
    batchesBefore && batchesAfter ? diffBatchStats(batchesAfter, batchesBefore) : undefined;
  const redisAfter = redisCommandStats(stack.redisUrls);
  const pgActivity = await activity?.stop();
  const viewerFigures = viewers.handle ? await viewers.handle.stop() : undefined;
  const closedSummary = summarise(closed);
  const answered = closed.latencies.length;
  const unknown = (t: Tally) =>
    Object.entries(t.byStatus)
      .filter(([k]) => !['201', '409', '503', '422', 'shed'].includes(k))
      .reduce((n, [, v]) => n + v, 0);
  const closedInvariant = checkInvariant(
    (await waitForSnapshot(stack.gatewayUrl, closedEvent)).seats,
    closed.granted,
    unknown(closed),
  );

  /** An open loop at `rate` on a fresh event, once the stack is idle again (the previous loop's teardown: its
   *  connections, the viewer streams and what they held, must be over), with the invariant checked after it. */
  const runOpenLoop = async (
    label: string,
    progressTag: string,
    rate: number,
    eventId: string,
    snapshot: typeof openSnapshot,
  ) => {
    log(`${label}: ${rate} hold requests/s for ${SECONDS} s (latency from each request's scheduled start)`);
    const pairs = seatPairs(snapshot);
    const settled = await waitForIdle(stack.pids);
    log(`  the stack is idle (${settled.cores.toFixed(2)} cores) after ${settled.waitedS.toFixed(1)} s`);
    // CPU per attempt at a fixed arrival rate: comparable between two runs whatever the closed loop reached
    // (at saturation, CPU per attempt moves with the throughput: batching, context switches).
    const cpu = cpuMeter(stack.pids);
    const tally = await openLoop({
      pool,
      rawGatewayUrl: env.BENCH_HOLD_CLIENT === 'undici' ? undefined : stack.gatewayUrl,
      buyers,
      eventId,
      pairs,
      durationS: SECONDS,
      rate,
      onProgress: progress(progressTag),
    });
    const cpuMs = cpu.stop();
    const invariant = checkInvariant(
      (await waitForSnapshot(stack.gatewayUrl, eventId)).seats,
      tally.granted,
      unknown(tally),
    );
    const cpuMsPerAttempt = Object.fromEntries(
      Object.entries(cpuMs).map(([k, v]) => [k, v / Math.max(1, tally.latencies.length)]),
    );
    return { rate, tally, summary: summarise(tally), invariant, cpuMsPerAttempt };
  };

  // (b) open loop on a fresh event, at half of (a)'s throughput (the issue's rule)
  const rate = Number(env.BENCH_OPEN_RATE ?? Math.max(1, Math.round(closedSummary.attemptsPerS / 2)));
  const b = await runOpenLoop('(b) open loop', 'open (b)', rate, openEvent, openSnapshot);
  const { summary: openSummary, invariant: openInvariant } = b;
  // (c) the same at half of (a)'s grant phase: (a)'s average is mostly refusals of a sold-out event, several
  // times cheaper than the grants a fresh event's first seconds are made of; this rate is half the capacity
  // for the mix an open loop starts with.
  const phase = grantPhase(closed);
  const c =
    phaseEvent && phaseSnapshot
      ? await runOpenLoop(
          "(c) open loop at half of (a)'s grant phase",
          'open (c)',
          Math.max(1, Math.round(phase.attemptsPerS / 2)),
          phaseEvent,
          phaseSnapshot,
        )
      : undefined;
  await pool.close();

  // raw limit of the same write on the same Postgres
  let raw: Awaited<ReturnType<typeof measureRawLimit>> | { error: string } | undefined;
  if (stack.adminUrl) {
    log(`raw limit: pgbench, ${PGBENCH_CLIENTS} clients, ${PGBENCH_SECONDS} s, load/onsale/hold-write.sql`);
    raw = await measureRawLimit(stack.adminUrl, { clients: PGBENCH_CLIENTS, seconds: PGBENCH_SECONDS }).catch(
      (err: Error) => ({ error: err.message }),
    );
  } else raw = { error: 'no Postgres URL (give --data-dir of the running stack)' };
  const rawTps = raw && 'tps' in raw ? raw.tps : NaN;

  let browsing: Awaited<ReturnType<typeof measureBrowsing>> | { skipped: string } = {
    skipped: 'BENCH_BROWSE_SECONDS=0',
  };
  if (BROWSE_SECONDS > 0 && stack.catalogUrl) {
    log(`browsing: event list and detail, 50 connections, ${BROWSE_SECONDS} s rounds`);
    browsing = await measureBrowsing({
      gatewayUrl: stack.gatewayUrl,
      catalogUrl: stack.catalogUrl,
      seconds: BROWSE_SECONDS,
    });
  } else if (!stack.catalogUrl) browsing = { skipped: 'no catalog URL (--catalog)' };

  const redis = redisBefore && redisAfter ? diffCounts(redisAfter, redisBefore) : undefined;
  Object.assign(result, {
    settings: { buyers: BUYERS, seconds: SECONDS, viewers: VIEWERS, openRate: rate, seatsPerEvent: 10_000 },
    closedLoop: {
      ...closedSummary,
      ratioToRawLimit: closedSummary.attemptsPerS / rawTps,
      invariant: closedInvariant,
      pgStatActivity: pgActivity,
      cpuMsPerAttempt: Object.fromEntries(Object.entries(cpuMs).map(([k, v]) => [k, v / Math.max(1, answered)])),
      cpuShareOfWallClock: Object.fromEntries(Object.entries(cpuMs).map(([k, v]) => [k, v / (closed.elapsedS * 1000)])),
      redisCallsPerAttempt: redis
        ? Object.fromEntries(Object.entries(redis).map(([k, v]) => [k, v / Math.max(1, answered)]))
        : undefined,
      viewers: viewerFigures ?? viewers.note,
      holdBatches: batches,
    },
    openLoop: { ...openSummary, invariant: openInvariant, cpuMsPerAttempt: b.cpuMsPerAttempt },
    closedLoopGrantPhase: phase,
    openLoopAtHalfTheGrantPhase: c
      ? { rate: c.rate, ...c.summary, invariant: c.invariant, cpuMsPerAttempt: c.cpuMsPerAttempt }
      : { skipped: 'BENCH_GRANT_PHASE_LOOP=0' },
    rawLimit: raw,
    browsing,
  });

  const line = (label: string, s: ReturnType<typeof summarise>) =>
    log(
      `  ${label}: ${f1(s.attemptsPerS)} attempts/s (${f1(s.grantedPerS)} granted/s), p50 ${f1(s.latencyMs.p50!)} ms p95 ${f1(s.latencyMs.p95!)} ms p99 ${f1(s.latencyMs.p99!)} ms; ${Object.entries(
        s.byStatus,
      )
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ')}; 503 share ${(s.share503 * 100).toFixed(2)}%`,
    );
  log('');
  log(`results (${(result.machine as any).date}, commit ${(result.machine as any).commit})`);
  line('closed loop', closedSummary);
  line('open loop  ', openSummary);
  if (c) line(`open loop at half of (a)'s grant phase (c), ${c.rate}/s`, c.summary);
  if (raw && 'tps' in raw)
    log(
      `  raw limit (pgbench ${raw.clients} clients): ${f1(raw.tps)} tx/s (${f1(raw.grantedPerS)} granted/s); closed-loop attempts/s ÷ raw = ${(closedSummary.attemptsPerS / raw.tps).toFixed(2)} (target ≥ 0.5)`,
    );
  else log(`  raw limit: ${raw && 'error' in raw ? raw.error : 'not measured'}`);
  log(
    `  open loop p99 ${f1(openSummary.latencyMs.p99!)} ms (target ≤ 100 ms); 503 share closed ${(closedSummary.share503 * 100).toFixed(2)}% (target ≤ 1%)`,
  );
  const askedFirstSecond = rate * (openSummary.bySecond[0]?.grantedShare ?? NaN);
  log(
    `  grants asked in (b)'s first second: ${f1(askedFirstSecond)}/s (${rate}/s × ${((openSummary.bySecond[0]?.grantedShare ?? NaN) * 100).toFixed(0)} % granted); (a)'s grant phase (first ${phase.seconds} s, ≥ 50 % 201): ${f1(phase.attemptsPerS)} attempts/s, ${f1(phase.grantedPerS)} granted/s at saturation`,
  );
  log(
    `  open loop by second (p99 ms / share of 201): ${openSummary.bySecond
      .map((w) => `${w.p99Ms.toFixed(0)}/${(w.grantedShare * 100).toFixed(0)}%`)
      .join(' ')}`,
  );
  log(
    `  open loop's first 2 s by 100 ms (p99 ms): ${openSummary.firstTwoSecondsBy100ms.map((w) => w.p99Ms.toFixed(0)).join(' ')}`,
  );
  if (c)
    log(
      `  (c) by second (p99 ms / share of 201): ${c.summary.bySecond
        .map((w) => `${w.p99Ms.toFixed(0)}/${(w.grantedShare * 100).toFixed(0)}%`)
        .join(
          ' ',
        )}; invariant ${c.invariant.ok ? 'OK' : 'BROKEN'} (${c.invariant.grantedHolds} holds, oversold ${c.invariant.oversold.length})`,
    );
  for (const [label, inv] of [
    ['closed', closedInvariant],
    ['open', openInvariant],
  ] as const)
    log(
      `  invariant (${label}): ${inv.ok ? 'OK' : 'BROKEN'}: ${inv.grantedHolds} holds, ${inv.grantedSeats} seats; oversold ${inv.oversold.length}, granted not held ${inv.grantedNotHeld.length}, held without a known hold ${inv.heldWithoutHold.length} (requests without an answer: ${inv.unknownOutcomes})`,
    );
  if (pgActivity)
    log(
      `  inventory sessions during (a): Lock:transactionid avg ${f1(pgActivity.lockTransactionId.avg)} max ${pgActivity.lockTransactionId.max}; idle in transaction avg ${f1(pgActivity.idleInTransaction.avg)} max ${pgActivity.idleInTransaction.max}; active avg ${f1(pgActivity.active.avg)}; connections max ${pgActivity.connections.max}`,
    );
  log(
    `  CPU ms per attempt during (a): ${Object.entries(cpuMs)
      .map(([k, v]) => `${k} ${(v / Math.max(1, answered)).toFixed(2)}`)
      .join(', ')}`,
  );
  if (batches)
    log(
      batches.calls
        ? `  hold batches during (a) (group commit): ${batches.calls} calls for ${batches.holds} holds, mean ${f1(batches.holds / batches.calls)}; calls by size ${Object.entries(
            batches.le,
          )
            .map(([le, n], i, all) => `≤${le}: ${n - (i ? all[i - 1]![1] : 0)}`)
            .join(', ')}`
        : '  hold batches during (a): none (group commit off: HOLD_BATCH_MAX=0)',
    );
  log(
    `  CPU ms per attempt during (b), ${rate}/s: ${Object.entries(b.cpuMsPerAttempt)
      .map(([k, v]) => `${k} ${v.toFixed(2)}`)
      .join(', ')}`,
  );
  if (redis)
    log(
      `  Redis calls per attempt during (a): ${Object.entries(redis)
        .map(([k, v]) => `${k} ${(v / Math.max(1, answered)).toFixed(2)}`)
        .join(', ')}`,
    );
  if (viewerFigures) {
    const a = viewerFigures.answeredToViewer;
    log(
      `  viewers during (a): ${viewerFigures.opened} open, ${viewerFigures.failed} failed, ${viewerFigures.deliveries} deliveries (${viewerFigures.missing} missing); client on a ${viewerFigures.client}`,
    );
    log(
      `    change delivery, hold answered → viewer: p50 ${f1(a.p50Ms)} ms p99 ${f1(a.p99Ms)} ms max ${f1(a.maxMs)} ms (target ≤ 1000 ms, 0 failed); ${a.changes} changes, ${a.beforeAnswer} deliveries before the 201`,
    );
    log(
      `    hold sent → viewer (with the hold's own queueing): p50 ${f1(viewerFigures.p50Ms)} ms p99 ${f1(viewerFigures.p99Ms)} ms max ${f1(viewerFigures.maxMs)} ms`,
    );
    log(`      answered → viewer = ${viewerFigures.definitions.answeredToViewer}`);
    log(`      sent → viewer = ${viewerFigures.definitions.sentToViewer}`);
  }
  if ('results' in browsing) {
    for (const r of browsing.results)
      log(`  ${r.label}: ${f1(r.rps)} req/s, p50 ${f1(r.p50)} ms, p99 ${f1(r.p99)} ms, errors ${r.errors}`);
    log(
      `  browsing ratios: list gateway/catalog ${browsing.ratios.listGatewayOverCatalog!.toFixed(2)}, detail gateway/catalog ${browsing.ratios.detailGatewayOverCatalog!.toFixed(2)} (target ≥ 0.6); catalog detail / bare ${browsing.ratios.catalogDetailOverBare!.toFixed(2)} (target ≥ 0.5)`,
    );
  } else log(`  browsing: ${browsing.skipped}`);
  (result.machine as any).loadAverageAtEnd = loadavg();
  writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);
  log(`JSON: ${OUT}`);
  if (!closedInvariant.ok || !openInvariant.ok || (c && !c.invariant.ok)) process.exitCode = 1;
} finally {
  await stack.stop();
}
