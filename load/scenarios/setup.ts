// What a scenario needs before Artillery starts, made through the public API as an organizer and buyers would:
// the on-sale's and the checkout's event (a fresh one per run, so the verification counts this run only) and
// their buyers (registered here, signed in by each virtual buyer), the published events browse reads. The helpers
// are the on-sale bench's (load/onsale/api.ts).
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { api, createSeatedEvent, login, signInBuyers, waitForSnapshot } from '../onsale/api.ts';

export type ScenarioName = 'browse' | 'onsale' | 'checkout';
export const SCENARIOS: ScenarioName[] = ['browse', 'onsale', 'checkout'];

export interface Phase {
  name: string;
  duration: number;
  arrivalRate: number;
}

export interface RunOptions {
  scenario: ScenarioName;
  gatewayUrl: string;
  organizer: { email: string; password: string };
  /** arrivals per second (the spike's, for onsale) */
  rate: number;
  durationS: number;
  /** seats of the event (onsale and checkout); default from the number of buyers */
  seats?: number;
  outDir: string;
  log: (line: string) => void;
}

export interface Prepared {
  phases: Phase[];
  arrivals: number;
  variables: Record<string, string | number>;
  payloadPath?: string;
  grantsFile?: string;
  eventId?: string;
  seats?: number;
  runId: string;
}

export const DEFAULTS: Record<ScenarioName, { rate: number; durationS: number }> = {
  browse: { rate: 20, durationS: 60 },
  onsale: { rate: 10, durationS: 40 },
  checkout: { rate: 2, durationS: 60 },
};

/** onsale: a tenth of the rate for the first fifth of the duration (doors open), then the spike. */
export function phasesFor(scenario: ScenarioName, rate: number, durationS: number): Phase[] {
  if (scenario !== 'onsale') return [{ name: 'steady', duration: durationS, arrivalRate: rate }];
  const first = Math.max(1, Math.round(durationS / 5));
  return [
    { name: 'doors open', duration: first, arrivalRate: Math.max(1, Math.round(rate / 10)) },
    { name: 'spike', duration: Math.max(1, durationS - first), arrivalRate: rate },
  ];
}

async function browseSetup(o: RunOptions, base: Prepared): Promise<Prepared> {
  const found = await api(o.gatewayUrl, 'GET', '/api/events?limit=100');
  if (found.status !== 200) throw new Error(`GET /api/events: ${found.status} ${JSON.stringify(found.body)}`);
  const events = found.body.items as { id: string; title: string }[];
  // a catalog with few events (a fresh stack has the demo's) gets a few more, so detail and search vary
  if (events.length < 8) {
    const organizer = await login(o.gatewayUrl, o.organizer.email, o.organizer.password);
    for (let i = events.length; i < 8; i++) {
      const title = `Browse load ${['Aurora', 'Basalt', 'Cobalt', 'Dune', 'Ember', 'Fjord', 'Granite', 'Harbor'][i]} ${base.runId}`;
      const id = await createSeatedEvent(o.gatewayUrl, organizer, { title, rows: 10, seatsPerRow: 20 });
      events.push({ id, title });
      o.log(`created event ${i + 1}/8: ${title}`);
    }
  }
  for (const e of events) await waitForSnapshot(o.gatewayUrl, e.id);
  const terms = [...new Set(events.flatMap((e) => e.title.split(/\s+/)).filter((w) => /^[A-Za-z]{4,}$/.test(w)))];
  return {
    ...base,
    variables: { eventIds: events.map((e) => e.id).join(','), searchTerms: terms.join(',') },
  };
}

async function purchaseSetup(o: RunOptions, base: Prepared): Promise<Prepared> {
  const seatsPerBuyer = o.scenario === 'onsale' ? 2 : 1;
  // onsale: fewer seats than the buyers want (races, a sell-out); checkout: seats to spare
  const seats =
    o.seats ??
    (o.scenario === 'onsale'
      ? Math.max(20, Math.ceil(base.arrivals * seatsPerBuyer * 0.75))
      : base.arrivals * seatsPerBuyer * 2 + 20);
  const seatsPerRow = Math.min(50, seats);
  const rows = Math.ceil(seats / seatsPerRow);
  const organizer = await login(o.gatewayUrl, o.organizer.email, o.organizer.password);
  const title = `${o.scenario === 'onsale' ? 'On-sale' : 'Checkout'} load ${base.runId}`;
  const eventId = await createSeatedEvent(o.gatewayUrl, organizer, { title, rows, seatsPerRow });
  const snapshot = await waitForSnapshot(o.gatewayUrl, eventId);
  o.log(`event "${title}" ${eventId}: ${Object.keys(snapshot.seats).length} seats`);
  let shown = 0;
  const buyers = await signInBuyers(o.gatewayUrl, {
    count: base.arrivals,
    runId: base.runId,
    onProgress: (done) => {
      if (done === base.arrivals || done - shown >= 50) {
        shown = done;
        o.log(`buyers registered: ${done}/${base.arrivals}`);
      }
    },
  });
  const payloadPath = join(o.outDir, 'buyers.csv');
  const password = `bench-${base.runId}-pw`; // signInBuyers' password for the run
  writeFileSync(payloadPath, ['email,password', ...buyers.map((b) => `${b.email},${password}`)].join('\n') + '\n');
  const grantsFile = join(o.outDir, 'granted-holds.jsonl');
  writeFileSync(grantsFile, '');
  return {
    ...base,
    eventId,
    seats: Object.keys(snapshot.seats).length,
    payloadPath,
    grantsFile,
    variables: { eventId, gatewayUrl: o.gatewayUrl, grantsFile, seatsPerBuyer },
  };
}

export async function prepare(o: RunOptions): Promise<Prepared> {
  const phases = phasesFor(o.scenario, o.rate, o.durationS);
  const base: Prepared = {
    phases,
    arrivals: phases.reduce((n, p) => n + p.duration * p.arrivalRate, 0),
    variables: {},
    runId: `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`,
  };
  return o.scenario === 'browse' ? browseSetup(o, base) : purchaseSetup(o, base);
}
