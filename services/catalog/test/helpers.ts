// Test helpers: the catalog built exactly as main.ts builds it (createDeps + createApp) on a fresh database
// (and Redis when asked, else the in-process LRU and the Postgres bus), listening on a free port, and the test
// kit's contract client, which checks every response against openapi.yaml and every error against problem+json.
import {
  createContract,
  createLogger,
  listen,
  loadConfig,
  migrate,
  type Contract,
  type Sequelize,
} from '@eventtickets/platform';
import {
  createContractClient,
  createTestDatabase,
  dropTestDatabase,
  requireRedis,
  TEST_INTERNAL_TOKEN_SECRET,
  uniqueSuffix,
  type Call,
  type TestIdentity,
} from '@eventtickets/platform/testing';
import { CONTRACT_FILE, createApp } from '../src/app.ts';
import { configSchema } from '../src/config.ts';
import { createDeps, type CatalogDeps } from '../src/deps.ts';
import { migrations } from '../src/db/migrations.ts';

export type As = TestIdentity;
export const alice: As = { userId: 'org-alice', role: 'organizer' };
export const bob: As = { userId: 'org-bob', role: 'organizer' };
export const buyer: As = { userId: 'buyer-1', role: 'buyer' };

export interface Catalog {
  url: string;
  deps: CatalogDeps;
  db: Sequelize;
  /** Every response is checked against the contract (pass `unchecked: true` to read an off-contract answer). */
  call: Call;
  count: (table: 'venues' | 'events' | 'outbox', where?: string) => Promise<number>;
  close: () => Promise<void>;
}

let contract: Contract | undefined;

export async function startCatalog(
  ctx: Mocha.Context,
  opts: {
    redis?: boolean;
    now?: () => Date;
    /** Another replica of this catalog: the same database and Redis prefix (closing it leaves the database). */
    replicaOf?: Catalog;
    env?: Record<string, string>;
  } = {},
): Promise<Catalog> {
  const redisUrl = opts.redis ? requireRedis(ctx)[0]! : undefined;
  const replicaOf = opts.replicaOf?.deps.config;
  const dbUrl = replicaOf?.DATABASE_URL ?? (await createTestDatabase(ctx, 'catalog'));
  const config = loadConfig(configSchema, {
    DATABASE_URL: dbUrl,
    // Without Redis: the in-process LRU cache and the Postgres event bus (on the suite's own database).
    ...(redisUrl ? { REDIS_URL: redisUrl } : { BUS_DATABASE_URL: dbUrl }),
    REDIS_PREFIX: replicaOf?.REDIS_PREFIX ?? `test:${uniqueSuffix()}:`,
    CURSOR_SECRET: 'test-cursor-secret-0123456789abcdef',
    INTERNAL_TOKEN_SECRET: TEST_INTERNAL_TOKEN_SECRET,
    CACHE_TTL_SECONDS: '60',
    ...opts.env,
  });
  const logger = createLogger('catalog', { level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const deps = await createDeps(config, { logger, now: opts.now, collectDefaultMetrics: false });
  await migrate(deps.db, migrations);
  const app = await createApp(deps);
  const server = await listen(app.callback(), 0);
  contract ??= await createContract(CONTRACT_FILE);

  return {
    url: server.url,
    deps,
    db: deps.db,
    call: createContractClient(server.url, contract, { service: 'catalog' }),
    async count(table, where = 'true') {
      const [rows] = await deps.db.query(`SELECT count(*)::int AS n FROM ${table} WHERE ${where}`);
      return (rows[0] as { n: number }).n;
    },
    async close() {
      await server.close(1000);
      await deps.bus.stop(); // never started here, but it owns the Postgres bus pool
      await deps.close();
      if (!replicaOf) await dropTestDatabase(dbUrl);
    },
  };
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
  return {
    venueId,
    title,
    category: 'concert',
    description: `${title} live`,
    startsAt: daysFromNow(days),
    endsAt: daysFromNow(days, 23),
    tiers: fullTiers,
    ...extra,
  };
}
