// Cached browsing: the event list and one event's detail through the gateway against straight to catalog,
// and catalog's detail against a bare node:http server answering the same bytes from memory. Closed loops
// of `connections` requests in flight (undici, no pipelining), alternating rounds so drift hits both sides.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { stopChild } from '../../scripts/infra/processes.ts';
import { drive, firstLine, summariseRounds, type Result, type Round } from '../gateway/driver.ts';

export interface BrowseFigures {
  connections: number;
  secondsPerRound: number;
  rounds: number;
  results: Result[];
  ratios: Record<string, number>;
}

async function compare(
  pairs: { label: string; origin: string; path: string }[],
  connections: number,
  seconds: number,
  rounds: number,
): Promise<Result[]> {
  const pools = pairs.map((p) => new Pool(p.origin, { connections, pipelining: 1 }));
  const collected: Round[][] = pairs.map(() => []);
  try {
    // warm-up (caches, connections)
    for (const [i, p] of pairs.entries()) await drive(pools[i]!, { method: 'GET', path: p.path }, 1, connections);
    for (let r = 0; r < rounds; r++)
      for (const [i, p] of pairs.entries())
        collected[i]!.push(await drive(pools[i]!, { method: 'GET', path: p.path }, seconds, connections));
  } finally {
    await Promise.all(pools.map((p) => p.close()));
  }
  return pairs.map((p, i) => summariseRounds(p.label, collected[i]!));
}

export async function measureBrowsing(opts: {
  gatewayUrl: string;
  catalogUrl: string;
  connections?: number;
  seconds?: number;
  rounds?: number;
}): Promise<BrowseFigures> {
  const connections = opts.connections ?? 50;
  const seconds = opts.seconds ?? 5;
  const rounds = opts.rounds ?? 2;
  const list = '/api/events?limit=20';
  // the detail of the first listed event (the demo's seeded events come first: a venue of a few hundred seats)
  const listed = (await (await fetch(`${opts.catalogUrl}${list}`)).json()) as { items: { id: string }[] };
  const detail = `/api/events/${listed.items[0]!.id}`;
  const results = await compare(
    [
      { label: 'list via gateway', origin: opts.gatewayUrl, path: list },
      { label: 'list direct to catalog', origin: opts.catalogUrl, path: list },
      { label: 'detail via gateway', origin: opts.gatewayUrl, path: detail },
      { label: 'detail direct to catalog', origin: opts.catalogUrl, path: detail },
    ],
    connections,
    seconds,
    rounds,
  );
  // the bare floor answers exactly the bytes catalog answers for the detail
  const res = await fetch(`${opts.catalogUrl}${detail}`);
  const bytes = Buffer.from(await res.arrayBuffer());
  const dir = mkdtempSync(join(tmpdir(), 'onsale-bare-'));
  const file = join(dir, 'detail.json');
  writeFileSync(file, bytes);
  const child = spawn(
    process.execPath,
    [fileURLToPath(new URL('./bare-server.ts', import.meta.url)), file, res.headers.get('content-type') ?? ''],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const bareUrl = await firstLine(child);
    results.push(
      ...(await compare(
        [
          { label: 'detail direct to catalog (again)', origin: opts.catalogUrl, path: detail },
          { label: `detail from bare node:http (${bytes.length} B)`, origin: bareUrl, path: detail },
        ],
        connections,
        seconds,
        rounds,
      )),
    );
  } finally {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  }
  const rps = (label: string) => results.find((r) => r.label.startsWith(label))!.rps;
  return {
    connections,
    secondsPerRound: seconds,
    rounds,
    results,
    ratios: {
      listGatewayOverCatalog: rps('list via gateway') / rps('list direct to catalog'),
      detailGatewayOverCatalog: rps('detail via gateway') / rps('detail direct to catalog'),
      catalogDetailOverBare: rps('detail direct to catalog (again)') / rps('detail from bare node:http'),
    },
  };
}
