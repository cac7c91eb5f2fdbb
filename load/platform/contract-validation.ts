// Micro-benchmark of the contract middleware's per-request cost (services/platform/src/contracts.ts): the same
// requests through a contract validating directly (the default) and through one validating with openapi-backend's
// validateRequest (requestValidation: 'openapi-backend', the path it replaced), in one process, alternating
// rounds, CPU per request from process.cpuUsage(). Cases: inventory's POST /api/holds as the gateway forwards it
// (its headers, a two-seat body), catalog's event search (GET with a query, a new URL each time so that the
// remembered-GET shortcut never answers), and a hold with a bad body (the 400).
// BENCH_BEFORE_REV=<git revision> adds a third contract: the whole middleware as it was at that revision
// (services/platform/src extracted with git archive into a temporary directory under load/platform, removed at
// the end), so that the shared steps changed with it (text normalisation, NUL check, path parameters) count too.
//   npm run bench:contract (node load/platform/contract-validation.ts); BENCH_ROUNDS (8), BENCH_REQUESTS per round (20000)
import Koa from 'koa';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createContract, type Contract } from '@eventtickets/platform/contracts';

const rounds = Number(process.env.BENCH_ROUNDS ?? 8);
const perRound = Number(process.env.BENCH_REQUESTS ?? 20_000);
const file = (service: string) => fileURLToPath(new URL(`../../services/${service}/openapi.yaml`, import.meta.url));

const koa = new Koa();
const forwarded = {
  host: 'inventory:3003',
  connection: 'keep-alive',
  'content-type': 'application/json',
  'content-length': '96',
  accept: 'application/json',
  'user-agent': 'undici',
  'x-request-id': '3f0d3c7e-3b0a-4d41-9d0e-6c1f0f2f9d10',
  traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  'x-forwarded-for': '127.0.0.1',
  'x-forwarded-proto': 'http',
  'x-forwarded-host': 'localhost:8080',
  'x-internal-token': 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIiwiYXVkIjoiaW52ZW50b3J5In0.c2lnbmF0dXJlLXNpZ25hdHVyZQ',
  'x-user-id': '9f1c1c3e-8d8e-4f7a-9c53-2d7d6f7f1a01',
  'x-user-role': 'buyer',
};
const eventId = '0b7c5a4e-2f7d-4b7e-9a53-4c1d2e3f4a5b';

interface Case {
  name: string;
  service: string;
  request: (i: number) => { method: string; url: string; headers: Record<string, string>; body?: unknown };
}
const cases: Case[] = [
  {
    name: 'POST /api/holds (two seats, valid)',
    service: 'inventory',
    request: (i) => ({
      method: 'POST',
      url: '/api/holds',
      headers: forwarded,
      body: { eventId, seats: [`s-${i % 5000}-a`, `s-${i % 5000}-b`] },
    }),
  },
  {
    name: 'GET /api/events?q=..&city=..&limit=..&sort=.. (valid, new URL)',
    service: 'catalog',
    request: (i) => ({
      method: 'GET',
      url: `/api/events?q=rock${i}&city=Berlin&limit=20&sort=-date&from=2026-12-01T00:00:00Z`,
      headers: { ...forwarded, 'content-type': '', 'content-length': '' },
    }),
  },
  {
    name: 'POST /api/holds (bad body: 400)',
    service: 'inventory',
    request: () => ({ method: 'POST', url: '/api/holds', headers: forwarded, body: { eventId: 7, seats: [] } }),
  },
];

async function once(contract: Contract, r: ReturnType<Case['request']>): Promise<number> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers)) if (v) headers[k] = v;
  const ctx = koa.createContext({ method: r.method, url: r.url, headers, socket: {} } as any, {} as any);
  if (r.body !== undefined) (ctx.request as any).body = r.body;
  try {
    await contract.middleware(ctx, async () => undefined);
    return 200;
  } catch (err) {
    return (err as { status?: number }).status ?? 500;
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const beforeRev = process.env.BENCH_BEFORE_REV;
let createBefore: typeof createContract | undefined;
if (beforeRev) {
  const repo = fileURLToPath(new URL('../../', import.meta.url));
  // under the repository, so that its imports resolve to the same node_modules
  const dir = mkdtempSync(fileURLToPath(new URL('./.before-', import.meta.url)));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const archive = execFileSync('git', ['-C', repo, 'archive', beforeRev, 'services/platform/src'], {
    maxBuffer: 1 << 28,
  });
  execFileSync('tar', ['-x', '-C', dir], { input: archive });
  createBefore = (await import(pathToFileURL(`${dir}/services/platform/src/contracts.ts`).href)).createContract;
}

const modes = [...(beforeRev ? [`at ${beforeRev}`] : []), 'openapi-backend', 'direct'];
console.log(
  `contract validation micro-benchmark: ${rounds} rounds x ${perRound} requests per mode and case (node ${process.version})`,
);
for (const c of cases) {
  const contracts: Record<string, Contract> = {
    'openapi-backend': await createContract(file(c.service), { requestValidation: 'openapi-backend' }),
    direct: await createContract(file(c.service)),
  };
  if (createBefore) contracts[`at ${beforeRev}`] = await createBefore(file(c.service));
  const statuses = new Set<string>();
  // warm-up: compile the validators, let the JIT settle
  for (const mode of modes)
    for (let i = 0; i < 3000; i++) statuses.add(`${mode} ${await once(contracts[mode]!, c.request(i))}`);
  const perRequest: Record<string, number[]> = Object.fromEntries(modes.map((m) => [m, []]));
  for (let round = 0; round < rounds; round++) {
    for (const mode of round % 2 ? [...modes].reverse() : modes) {
      const start = process.cpuUsage();
      for (let i = 0; i < perRound; i++) await once(contracts[mode]!, c.request(round * perRound + i));
      const used = process.cpuUsage(start);
      perRequest[mode]!.push((used.user + used.system) / perRound);
    }
  }
  console.log(`\n${c.name}  [answers: ${[...statuses].join(', ')}]`);
  for (const mode of modes)
    console.log(
      `  ${mode.padEnd(16)} median ${median(perRequest[mode]!).toFixed(2)} µs CPU/request  rounds: ${perRequest[mode]!.map((v) => v.toFixed(1)).join(' ')}`,
    );
  const after = median(perRequest.direct!);
  for (const mode of modes.filter((m) => m !== 'direct')) {
    const before = median(perRequest[mode]!);
    const lower = perRequest.direct!.filter((v, i) => v < perRequest[mode]![i]!).length;
    console.log(
      `  direct / ${mode}: ${(after / before).toFixed(3)} (${((1 - after / before) * 100).toFixed(0)} % less), direct lower in ${lower} of ${rounds} rounds`,
    );
  }
}
