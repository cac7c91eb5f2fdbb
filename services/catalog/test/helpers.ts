// Test helpers: a catalog app in-process on a fresh database (and Redis when asked), and a small client
// that speaks as a given identity (the headers the gateway would set).
import { createContract, createDatabase, createLogger, createMetrics, createReadCache, createRedis, listen, migrate, type Contract, type ReadCache, type Redis, type RunningServer, type Sequelize } from '@eventtickets/platform';
import { createTestDatabase, dropTestDatabase, requireRedis, uniqueSuffix } from '@eventtickets/platform/testing/harness';
import { CONTRACT_FILE, createApp } from '../src/app.ts';
import { migrations } from '../src/db/migrations.ts';

export interface As { userId: string; role: 'buyer' | 'organizer' | 'admin' }
export const alice: As = { userId: 'org-alice', role: 'organizer' };
export const bob: As = { userId: 'org-bob', role: 'organizer' };
export const buyer: As = { userId: 'buyer-1', role: 'buyer' };

export interface Reply { status: number; body: any; headers: Headers }

export interface Catalog {
  url: string;
  db: Sequelize;
  cache: ReadCache;
  contract: Contract;
  call: (method: string, path: string, opts?: { body?: unknown; as?: As; headers?: Record<string, string> }) => Promise<Reply>;
  count: (table: 'venues' | 'events' | 'outbox', where?: string) => Promise<number>;
  close: () => Promise<void>;
}

let sharedContract: Contract | undefined;

export async function startCatalog(ctx: Mocha.Context, opts: { redis?: boolean; now?: () => Date } = {}): Promise<Catalog> {
  const dbUrl = await createTestDatabase(ctx, 'catalog');
  const db = createDatabase(dbUrl, { poolMax: 5 });
  await migrate(db, migrations);
  let redis: Redis | undefined;
  if (opts.redis) redis = createRedis(requireRedis(ctx)[0]!);
  const logger = createLogger('catalog-test', { level: 'silent' });
  const cache = createReadCache({ redis, prefix: `test:${uniqueSuffix()}:catalog:`, logger });
  sharedContract ??= await createContract(CONTRACT_FILE);
  const app = await createApp({ db, cache, redis, logger, metrics: createMetrics('catalog', { collectDefault: false }), cursorSecret: 'test-cursor-secret-0123456789abcdef', cacheTtlSeconds: 60, contract: sharedContract, now: opts.now });
  const server: RunningServer = await listen(app.callback(), 0);
  const contract = sharedContract;

  async function call(method: string, path: string, o: { body?: unknown; as?: As; headers?: Record<string, string> } = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (o.as) Object.assign(headers, { 'x-user-id': o.as.userId, 'x-user-role': o.as.role });
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(server.url + path, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  }

  return {
    url: server.url,
    db,
    cache,
    contract,
    call,
    async count(table, where = 'true') {
      const [rows] = await db.query(`SELECT count(*)::int AS n FROM ${table} WHERE ${where}`);
      return (rows[0] as { n: number }).n;
    },
    async close() {
      await server.close(1000);
      if (redis) await redis.quit();
      await db.close();
      await dropTestDatabase(dbUrl);
    },
  };
}

/** The response must match the contract for its operation and status. */
export function contractErrors(c: Catalog, method: string, path: string, reply: Reply): string[] {
  return c.contract.responseErrors(method, path.split('?')[0]!, reply.status, reply.body);
}

export const venueInput = (name = 'Harbour Hall', city = 'Dublin') => ({
  name,
  city,
  address: '1 Quay Street',
  timeZone: 'Europe/Dublin',
  seatMap: {
    sections: [
      { name: 'Stalls', rows: 3, seatsPerRow: 4, origin: { x: 10, y: 10 }, spacing: 20 },
      { name: 'Circle', rows: 2, seatsPerRow: 3, origin: { x: 10, y: 200 }, spacing: { x: 20, y: 25 }, firstRow: 'K' },
    ],
    gaAreas: [{ name: 'Standing', capacity: 50, x: 300, y: 50 }],
  },
});

export const fullTiers = [
  { name: 'Stalls', amount: 4500, currency: 'EUR', sections: ['Stalls'] },
  { name: 'Circle', amount: 3000, currency: 'EUR', sections: ['Circle'], seats: [] },
  { name: 'Standing', amount: 2000, currency: 'EUR', gaAreas: ['Standing'] },
];

/** A day offset from now at 20:00 UTC, as an ISO instant. */
export function daysFromNow(days: number, hour = 20): string {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() + days);
  d.setUTCHours(hour, 0, 0, 0);
  return d.toISOString();
}

export function eventInput(venueId: string, title: string, days: number, extra: Record<string, unknown> = {}) {
  return { venueId, title, category: 'concert', description: `${title} live`, startsAt: daysFromNow(days), endsAt: daysFromNow(days, 23), tiers: fullTiers, ...extra };
}
