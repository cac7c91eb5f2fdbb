// npm run load -- <browse|onsale|checkout> [--target URL] [--rate N] [--duration S] [options]
//
// Runs one Artillery scenario of load/scenarios/ against a stack: --target (a cluster's gateway URL, or any
// running stack), else the local `npm start` gateway if one answers on 127.0.0.1:$PORT (8080), else a stack
// started here through the real runner on a temporary DATA_DIR (users, catalog, inventory, orders, payments,
// gateway; rate limits raised through the environment, validation and auth on), stopped at the end.
// It prepares what the scenario needs through the public API (load/scenarios/setup.ts), runs Artillery with its
// progress on the terminal (a report every 10 s), then prints a readable summary and, after onsale and checkout,
// the verification of the platform's state (load/scenarios/verify.ts), and writes everything as JSON.
// Exit code: 0 when Artillery's thresholds (config.ensure) held and the verification found nothing wrong.
//
// Options: --seats N (event size, onsale/checkout), --data-dir DIR (an attached local stack's DATA_DIR: Postgres
// for the verification, the demo password; default $DATA_DIR or .data), --database-url URL (Postgres superuser
// URL, e.g. a cluster's through a port-forward), --organizer-email/--organizer-password (default the demo
// organizer, password from --data-dir or DEMO_PASSWORD), --out FILE (default load/out/<scenario>-<time>.json).
//
// Artillery runs with its telemetry off (ARTILLERY_DISABLE_TELEMETRY) and without any cloud key: it talks to the
// target only. Its own JSON report is kept next to the summary (<out>.artillery.json).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { attachStack, startStack, type BenchStack } from './onsale/stack.ts';
import { DEFAULTS, SCENARIOS, prepare, type ScenarioName } from './scenarios/setup.ts';
import { verify, type Verification } from './scenarios/verify.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..');
const ARTILLERY = join(repoRoot, 'node_modules', 'artillery', 'bin', 'run');
/** What a stack started here runs: what the scenarios touch. */
const LOAD_STACK_SERVICES = 'users,catalog,inventory,orders,payments,gateway';

function log(line: string): void {
  process.stdout.write(`[load] ${line}\n`);
}

function usage(message?: string): never {
  if (message) process.stderr.write(`${message}\n`);
  process.stderr.write(
    'usage: npm run load -- <browse|onsale|checkout> [--target URL] [--rate N] [--duration S] [--seats N]\n' +
      '       [--data-dir DIR] [--database-url URL] [--organizer-email E] [--organizer-password P] [--out FILE]\n',
  );
  process.exit(2);
}

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) usage(`--${name} must be a positive number (got ${value})`);
  return n;
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

export interface RunSummary {
  scenario: ScenarioName;
  startedAt: string;
  finishedAt: string;
  machine: {
    hostname: string;
    cpus: number;
    memoryGb: number;
    loadAverageBefore: number[];
    loadAverageAfter: number[];
  };
  commit?: string;
  target: { gatewayUrl: string; startedHere: boolean; rateLimit?: string };
  rate: number;
  durationS: number;
  phases: { name: string; duration: number; arrivalRate: number }[];
  event?: { id: string; seats: number };
  artilleryExitCode: number;
  checks: { expression: string; ok: boolean }[];
  vusers: { created: number; completed: number; failed: number };
  errors: Record<string, number>;
  codes: Record<string, number>;
  counters: Record<string, number>;
  /** ms: p50/p95/p99/max per request name, and the scenario's own histograms */
  latency: Record<string, { count: number; p50: number; p95: number; p99: number; max: number }>;
  verification?: Verification | { skipped: string };
  ok: boolean;
}

function commitOf(): string | undefined {
  try {
    const head = readFileSync(join(repoRoot, '.git', 'HEAD'), 'utf8').trim();
    if (!head.startsWith('ref: ')) return head.slice(0, 7);
    const ref = join(repoRoot, '.git', head.slice(5));
    if (existsSync(ref)) return readFileSync(ref, 'utf8').trim().slice(0, 7);
    const packed = readFileSync(join(repoRoot, '.git', 'packed-refs'), 'utf8');
    return packed
      .split('\n')
      .find((l) => l.endsWith(head.slice(5)))
      ?.slice(0, 7);
  } catch {
    return undefined;
  }
}

/** Runs Artillery, its output on our terminal as it comes; returns its exit code and the `Checks:` lines. */
function runArtillery(args: string[]): Promise<{ code: number; checks: { expression: string; ok: boolean }[] }> {
  const env: NodeJS.ProcessEnv = { ...process.env, ARTILLERY_DISABLE_TELEMETRY: 'true' };
  for (const k of Object.keys(env)) if (k.startsWith('ARTILLERY_CLOUD')) delete env[k];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [ARTILLERY, 'run', ...args], {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      process.stdout.write(chunk);
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const checks = [...out.matchAll(/^(ok|fail): (.+)$/gm)].map((m) => ({
        expression: m[2]!.trim(),
        ok: m[1] === 'ok',
      }));
      resolvePromise({ code: code ?? (signal ? 128 : 1), checks });
    });
  });
}

type Report = {
  aggregate: {
    counters: Record<string, number>;
    summaries: Record<string, { count: number; p50: number; p95: number; p99: number; max: number }>;
  };
};

function summarise(report: Report) {
  const c = report.aggregate.counters;
  const pick = (prefix: string) =>
    Object.fromEntries(
      Object.entries(c)
        .filter(([k]) => k.startsWith(prefix))
        .map(([k, v]) => [k.slice(prefix.length), v]),
    );
  const latency: RunSummary['latency'] = {};
  for (const [name, s] of Object.entries(report.aggregate.summaries ?? {})) {
    const key = name.startsWith('plugins.metrics-by-endpoint.response_time.')
      ? name.slice('plugins.metrics-by-endpoint.response_time.'.length)
      : name === 'http.response_time' ||
          (!name.startsWith('http.') && !name.startsWith('vusers.') && !name.startsWith('plugins.'))
        ? name
        : undefined;
    if (key) latency[key] = { count: s.count, p50: s.p50, p95: s.p95, p99: s.p99, max: s.max };
  }
  const counters = Object.fromEntries(Object.entries(c).filter(([k]) => /^(buyer|seatmap)\./.test(k)));
  return {
    vusers: {
      created: c['vusers.created'] ?? 0,
      completed: c['vusers.completed'] ?? 0,
      failed: c['vusers.failed'] ?? 0,
    },
    errors: pick('errors.'),
    codes: pick('http.codes.'),
    counters,
    latency,
  };
}

function printSummary(s: RunSummary): void {
  const lines: string[] = [];
  const ms = (n: number) => (n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${Math.round(n)} ms`);
  lines.push(
    '',
    `=== ${s.scenario}: summary (${s.target.gatewayUrl}${s.target.startedHere ? ', stack started here' : ''})`,
  );
  lines.push(
    `phases: ${s.phases.map((p) => `${p.name} ${p.duration} s at ${p.arrivalRate}/s`).join(', ')}; load average before ${s.machine.loadAverageBefore.map((x) => x.toFixed(1)).join(' ')}, after ${s.machine.loadAverageAfter.map((x) => x.toFixed(1)).join(' ')}`,
  );
  if (s.event) lines.push(`event ${s.event.id}: ${s.event.seats} seats`);
  lines.push(`virtual users: ${s.vusers.created} created, ${s.vusers.completed} completed, ${s.vusers.failed} failed`);
  lines.push(
    `status codes: ${
      Object.entries(s.codes)
        .map(([k, v]) => `${k} × ${v}`)
        .join(', ') || 'none'
    }`,
  );
  if (Object.keys(s.errors).length)
    lines.push(
      `errors: ${Object.entries(s.errors)
        .map(([k, v]) => `${k} × ${v}`)
        .join('; ')}`,
    );
  if (Object.keys(s.counters).length)
    lines.push(
      `counters: ${Object.entries(s.counters)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
  lines.push('latency             count      p50      p95      p99      max');
  for (const [name, l] of Object.entries(s.latency))
    lines.push(
      `  ${name.padEnd(40)} ${String(l.count).padStart(6)} ${ms(l.p50).padStart(8)} ${ms(l.p95).padStart(8)} ${ms(l.p99).padStart(8)} ${ms(l.max).padStart(8)}`,
    );
  if (s.checks.length)
    lines.push(`thresholds: ${s.checks.map((c) => `${c.ok ? 'ok' : 'FAIL'} ${c.expression}`).join('; ')}`);
  else lines.push(`thresholds: Artillery exited ${s.artilleryExitCode}`);
  const v = s.verification;
  if (v && 'skipped' in v) lines.push(`verification: skipped (${v.skipped})`);
  else if (v) {
    lines.push(
      `verification (${v.source}, settled after ${v.settledAfterS.toFixed(1)} s): ${v.ok ? 'ok' : `PROBLEMS: ${v.problems.join('; ')}`}`,
    );
    lines.push(
      `  seats sold ${v.seatsSold} (seats: ${Object.entries(v.seats)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}); live tickets ${v.ticketsLive}`,
    );
    lines.push(
      `  seats in two orders ${v.seatsInTwoOrders}; orders paid without tickets ${v.ordersPaidWithoutTickets}; payments without an order ${v.paymentsWithoutOrder}`,
    );
    lines.push(`  holds still active ${v.holdsStillActive} (${v.seatsHeldByActiveHolds} seats)`);
    lines.push(
      `  orders: ${
        Object.entries(v.orders)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ') || 'none'
      }; payments: ${
        Object.entries(v.payments)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ') || 'none'
      }`,
    );
    if (v.invariant)
      lines.push(
        `  seat invariant (granted holds vs snapshot): ${v.invariant.grantedHolds} holds, oversold ${v.invariant.oversold}, granted not taken ${v.invariant.grantedNotTaken}, taken without a grant ${v.invariant.takenWithoutGrant} (unknown outcomes ${v.invariant.unknownOutcomes}): ${v.invariant.ok ? 'ok' : 'BROKEN'}`,
      );
  }
  lines.push(`result: ${s.ok ? 'ok' : 'NOT ok'}`);
  process.stdout.write(lines.join('\n') + '\n');
}

const OPTIONS = {
  target: { type: 'string' },
  rate: { type: 'string' },
  duration: { type: 'string' },
  seats: { type: 'string' },
  'data-dir': { type: 'string' },
  'database-url': { type: 'string' },
  'organizer-email': { type: 'string' },
  'organizer-password': { type: 'string' },
  out: { type: 'string' },
} as const;

function parseCli() {
  try {
    return parseArgs({ allowPositionals: true, options: OPTIONS });
  } catch (err) {
    return usage((err as Error).message);
  }
}

async function main(): Promise<number> {
  const { values, positionals } = parseCli();
  const scenario = positionals[0] as ScenarioName;
  if (positionals.length !== 1 || !SCENARIOS.includes(scenario))
    usage(`unknown scenario ${positionals[0] ?? '(none)'}`);
  const rate = positive('rate', values.rate, DEFAULTS[scenario].rate);
  const durationS = Math.round(positive('duration', values.duration, DEFAULTS[scenario].durationS));
  const seats = values.seats === undefined ? undefined : Math.round(positive('seats', values.seats, 0));
  const startedAt = new Date();
  const loadBefore = loadavg();
  const outFile = resolve(
    values.out ?? join(repoRoot, 'load', 'out', `${scenario}-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`),
  );
  mkdirSync(dirname(outFile), { recursive: true });
  const work = mkdtempSync(join(tmpdir(), `load-${scenario}-`));

  let stack: BenchStack;
  // a --target is only read from a DATA_DIR named with --data-dir (never the local .data of some other stack)
  const dataDir = values['data-dir'] ?? (values.target ? undefined : (process.env.DATA_DIR ?? join(repoRoot, '.data')));
  const organizerEmail = values['organizer-email'] ?? 'organizer@example.com';
  const demoPasswordFile = dataDir ? join(dataDir, 'demo-password') : undefined;
  const localGateway = `http://127.0.0.1:${process.env.PORT ?? '8080'}`;
  const password = () =>
    values['organizer-password'] ??
    process.env.DEMO_PASSWORD ??
    (demoPasswordFile && existsSync(demoPasswordFile) ? readFileSync(demoPasswordFile, 'utf8').trim() : undefined) ??
    usage(`no organizer password: --organizer-password, DEMO_PASSWORD or ${demoPasswordFile ?? '--data-dir'}`);
  if (values.target) {
    log(`target ${values.target}`);
    stack = attachStack({
      gatewayUrl: values.target,
      dataDir,
      organizer: { email: organizerEmail, password: password() },
    });
  } else if (await answers(localGateway)) {
    log(`a stack answers on ${localGateway}: running against it (DATA_DIR ${dataDir ?? '?'})`);
    stack = attachStack({
      gatewayUrl: localGateway,
      dataDir,
      organizer: { email: organizerEmail, password: password() },
    });
  } else {
    log(`no stack answers on ${localGateway}: starting one (${LOAD_STACK_SERVICES}; rate limits raised)`);
    stack = await startStack({
      demoPassword: `load-${randomBytes(9).toString('base64url')}`,
      env: { BENCH_STACK_SERVICES: LOAD_STACK_SERVICES },
    });
    log(`stack ready: ${stack.gatewayUrl}`);
  }
  const adminUrl = values['database-url'] ?? stack.adminUrl;
  const stopOnSignal = () => {
    void stack.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);

  try {
    const probe = await fetch(`${stack.gatewayUrl}/api/events?limit=1`);
    await probe.body?.cancel();
    const rateLimit = probe.headers.get('ratelimit-limit') ?? undefined;
    if (rateLimit && Number(rateLimit) < 100_000)
      log(
        `the gateway's per-IP limit is ${rateLimit} requests a window: every virtual user comes from this one address, so ` +
          'expect 429s at any real rate. Start the stack with RATE_LIMIT_IP_POINTS, RATE_LIMIT_USER_POINTS, ' +
          'RATE_LIMIT_LOGIN_POINTS, RATE_LIMIT_HOLDS_POINTS raised (load/README.md)',
      );

    log(`preparing ${scenario} (${rate}/s for ${durationS} s)`);
    const prepared = await prepare({
      scenario,
      gatewayUrl: stack.gatewayUrl,
      organizer: stack.organizer,
      rate,
      durationS,
      seats,
      outDir: work,
      log,
    });
    const artilleryJson = outFile.replace(/\.json$/, '') + '.artillery.json';
    const overrides: Record<string, unknown> = { config: { target: stack.gatewayUrl, phases: prepared.phases } };
    if (prepared.payloadPath)
      // an array: Artillery has already made the script's payload one, and its overrides replace arrays whole
      (overrides.config as Record<string, unknown>).payload = [
        { path: prepared.payloadPath, fields: ['email', 'password'], order: 'sequence', skipHeader: true },
      ];
    log(`artillery: ${prepared.arrivals} virtual users over ${durationS} s (a report every 10 s)`);
    const artilleryStart = new Date();
    const run = await runArtillery([
      join(here, 'scenarios', `${scenario}.yml`),
      '--output',
      artilleryJson,
      '--overrides',
      JSON.stringify(overrides),
      '--variables',
      JSON.stringify(prepared.variables),
    ]);
    if (!existsSync(artilleryJson)) throw new Error(`artillery exited ${run.code} without a report`);
    const report = JSON.parse(readFileSync(artilleryJson, 'utf8')) as Report;

    let verification: RunSummary['verification'];
    if (prepared.eventId) {
      if (!adminUrl)
        verification = { skipped: 'no database access: pass --database-url (Postgres superuser URL) or --data-dir' };
      else {
        log('verifying the platform state');
        verification = await verify({
          adminUrl,
          gatewayUrl: stack.gatewayUrl,
          eventId: prepared.eventId,
          since: new Date(artilleryStart.getTime() - 1000),
          grantsFile: prepared.grantsFile,
          log,
        });
      }
    }
    const s = summarise(report);
    const summary: RunSummary = {
      scenario,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: {
        hostname: hostname(),
        cpus: cpus().length,
        memoryGb: Math.round(totalmem() / 2 ** 30),
        loadAverageBefore: loadBefore,
        loadAverageAfter: loadavg(),
      },
      commit: commitOf(),
      target: { gatewayUrl: stack.gatewayUrl, startedHere: stack.started, rateLimit },
      rate,
      durationS,
      phases: prepared.phases,
      event: prepared.eventId ? { id: prepared.eventId, seats: prepared.seats ?? 0 } : undefined,
      artilleryExitCode: run.code,
      checks: run.checks,
      ...s,
      verification,
      ok: run.code === 0 && !(verification && 'ok' in verification && !verification.ok),
    };
    writeFileSync(outFile, JSON.stringify(summary, null, 2) + '\n');
    printSummary(summary);
    log(`summary JSON: ${outFile}; Artillery's report: ${artilleryJson}`);
    return summary.ok ? 0 : 1;
  } finally {
    process.off('SIGINT', stopOnSignal);
    process.off('SIGTERM', stopOnSignal);
    if (stack.started) log('stopping the stack started here');
    await stack.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`load: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
