// Test harness for the inventory: real Postgres (a fresh database per suite) and the three real redis-server
// masters from the global fixtures; each "instance" is a full replica (own pools, locker, pub/sub, bus,
// expiry loop) listening on its own port, so several of them share state only through Postgres and Redis.
import { randomUUID } from 'node:crypto';
import { createContract, withTransaction, type Contract, type EventPayload, type Locker } from '@eventtickets/platform';
import {
  dropTestDatabase,
  serviceTestConfig,
  startServiceInProcess,
  type InProcessService,
  type TestIdentity,
  type TestService,
} from '@eventtickets/platform/testing';
import { configSchema, type InventoryConfig } from '../src/config.ts';
import { createDeps, type DepsOverrides, type InventoryDeps } from '../src/deps.ts';
import { migrations } from '../src/db/migrations.ts';
import { createApp, contractFile } from '../src/app.ts';
import { startWorkers } from '../src/workers.ts';
import { materialiseEvent } from '../src/use-cases/materialise.ts';

export type { Reply as CallResult } from '@eventtickets/platform/testing';

/** One replica: its own pools, locker, pub/sub, bus and expiry loop, sharing state only through Postgres and Redis. */
export type Instance = InProcessService<InventoryDeps>;

const parts = { service: 'inventory', createDeps, migrations, createApp, startWorkers, contractFile };

/** A suite's environment: one fresh database, the shared Redis masters under a unique prefix. */
export function suiteConfig(ctx: Mocha.Context, env: Record<string, string> = {}): Promise<InventoryConfig> {
  return serviceTestConfig(ctx, 'inventory', configSchema, {
    EXPIRY_INTERVAL_MS: '100',
    SSE_HEARTBEAT_MS: '500',
    ...env,
  });
}

export function startInstance(config: InventoryConfig, overrides: DepsOverrides = {}): Promise<Instance> {
  return startServiceInProcess(parts, config, overrides);
}

export async function dropDatabase(config: InventoryConfig | undefined): Promise<void> {
  if (config) await dropTestDatabase(config.DATABASE_URL).catch(() => undefined);
}

let contract: Contract | undefined;
export async function getContract(): Promise<Contract> {
  return (contract ??= await createContract(contractFile));
}

/** Problems of a value against one of the contract's component schemas (SSE payloads have no HTTP response to
 *  validate, but their documents are described there). */
export async function schemaErrors(schema: string, value: unknown): Promise<string[]> {
  const c = await getContract();
  const ajv = (c.api.validator as any).getAjv('responseValidator');
  const validate = ajv.compile({ $ref: `#/components/schemas/${schema}`, components: c.document.components });
  return validate(value)
    ? []
    : (validate.errors as { instancePath: string; message: string }[]).map((e) => `${e.instancePath} ${e.message}`);
}

/** The orders service, the one caller of the /internal routes (`as: ordersService`). */
export const ordersService: TestService = { service: 'orders' };

/** A locker that takes no lock: the database alone decides (the races and batches run without Redlock). */
export const noLock: Locker = { withLocks: (_keys, _ttl, fn) => fn({ signal: new AbortController().signal }) };

/** The signed-in buyer the gateway would forward (an internal token and the identity headers). */
export function buyer(userId: string): TestIdentity {
  return { userId, role: 'buyer' };
}

/** A published event as catalog announces it: `seats` seats A1..An in two tiers, optional GA area. */
export function eventPayload(
  opts: {
    seats?: number;
    ga?: number;
    maxSeatsPerOrder?: number;
    reservationMinutes?: number;
    salesStartAt?: string;
    salesEndAt?: string;
  } = {},
): EventPayload<'event.published'> {
  const eventId = `ev-${randomUUID()}`;
  const n = opts.seats ?? 50;
  return {
    eventId,
    organizerId: 'org-1',
    title: 'Test night',
    venueId: 'venue-1',
    venueName: 'Test hall',
    timeZone: 'Europe/Paris',
    startsAt: new Date(Date.now() + 7 * 86_400_000).toISOString(),
    endsAt: new Date(Date.now() + 7 * 86_400_000 + 3 * 3_600_000).toISOString(),
    salesStartAt: opts.salesStartAt === undefined ? new Date(Date.now() - 3_600_000).toISOString() : opts.salesStartAt,
    salesEndAt: opts.salesEndAt === undefined ? new Date(Date.now() + 86_400_000).toISOString() : opts.salesEndAt,
    reservationMinutes: opts.reservationMinutes ?? 10,
    maxSeatsPerOrder: opts.maxSeatsPerOrder ?? 6,
    tiers: [
      { tierId: 'std', name: 'Standard', amount: 4550, currency: 'EUR' },
      { tierId: 'vip', name: 'VIP', amount: 12000, currency: 'EUR' },
    ],
    seats: Array.from({ length: n }, (_, i) => ({
      seatId: `s${String(i + 1).padStart(3, '0')}`,
      label: `A${i + 1}`,
      section: 'Stalls',
      row: 'A',
      tierId: i < 10 ? 'vip' : 'std',
      x: i * 10,
      y: 0,
    })),
    gaAreas: opts.ga ? [{ areaId: 'floor', name: 'Floor', tierId: 'std', capacity: opts.ga }] : [],
  };
}

/** Materialises an event directly (the bus path is tested on its own in events.test.ts). */
export async function publishEvent(deps: InventoryDeps, payload: EventPayload<'event.published'>): Promise<void> {
  await withTransaction(deps.db, (t) => materialiseEvent(deps.db, t, payload, deps.hub.publish).then(() => undefined));
}

// The suite's SQL readers are the test kit's (one implementation for every service's tests).
export { queryRows as query, queryDatabase as sqlDirect } from '@eventtickets/platform/testing';
