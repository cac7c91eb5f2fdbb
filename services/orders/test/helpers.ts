// Test harness for orders: real Postgres (a fresh database per suite) and Redis; the purchase path runs against
// the real inventory and payments, built in-process exactly as their own tests build them, each on its own port.
import { randomUUID } from 'node:crypto';
import { createContract, withTransaction, type Contract, type EventPayload } from '@eventtickets/platform';
import {
  serviceTestConfig,
  startServiceInProcess,
  type InProcessService,
  dropTestDatabase,
  uniqueSuffix,
  type TestIdentity,
} from '@eventtickets/platform/testing';
import { configSchema, type OrdersConfig } from '../src/config.ts';
import { createDeps, type DepsOverrides, type OrdersDeps } from '../src/deps.ts';
import { migrations } from '../src/db/migrations.ts';
import { createApp, contractFile } from '../src/app.ts';
import { startWorkers } from '../src/workers.ts';
import { rememberEvent } from '../src/use-cases/events.ts';
import * as inventory from '../../inventory/test/helpers.ts';
import * as payments from '../../payments/test/helpers.ts';

export const TEST_TICKET_SECRET = 'test-ticket-code-secret-0123456789abcdefgh';

export type Instance = InProcessService<OrdersDeps>;

const parts = { service: 'orders', createDeps, migrations, createApp, startWorkers, contractFile };

export function suiteConfig(ctx: Mocha.Context, env: Record<string, string> = {}): Promise<OrdersConfig> {
  return serviceTestConfig(ctx, 'orders', configSchema, {
    TICKET_CODE_SECRET: TEST_TICKET_SECRET,
    SAGA_INTERVAL_MS: '100',
    ...env,
  });
}

export function startInstance(config: OrdersConfig, overrides: DepsOverrides = {}): Promise<Instance> {
  return startServiceInProcess(parts, config, overrides);
}

let contract: Contract | undefined;
export async function getContract(): Promise<Contract> {
  return (contract ??= await createContract(contractFile));
}

/** The purchase path's services: real inventory and payments in-process, orders pointed at them. */
export interface Stack {
  orders: Instance;
  ordersConfig: OrdersConfig;
  inventory: inventory.Instance;
  payments: payments.Instance;
  stop: () => Promise<void>;
}

export async function startStack(
  ctx: Mocha.Context,
  env: Record<string, string> = {},
  overrides: DepsOverrides = {},
): Promise<Stack> {
  // one prefix: the three services share the event streams, as in the stack (payment.succeeded reaches orders)
  const REDIS_PREFIX = `t${uniqueSuffix()}:`;
  const invConfig = await inventory.suiteConfig(ctx, { REDIS_PREFIX });
  const inv = await inventory.startInstance(invConfig);
  const payConfig = await payments.suiteConfig(ctx, { REDIS_PREFIX });
  const pay = await payments.startInstance(payConfig);
  const ordersConfig = await suiteConfig(ctx, { INVENTORY_URL: inv.url, PAYMENTS_URL: pay.url, REDIS_PREFIX, ...env });
  const orders = await startInstance(ordersConfig, overrides);
  return {
    orders,
    ordersConfig,
    inventory: inv,
    payments: pay,
    stop: async () => {
      await orders.stop();
      await pay.stop();
      await inv.stop();
      await dropTestDatabase(ordersConfig.DATABASE_URL).catch(() => undefined);
      await inventory.dropDatabase(invConfig);
      await payments.dropDatabase(payConfig);
    },
  };
}

/** A published event known to inventory and orders (as their catalog consumers would materialise it). */
export async function publishEvent(
  stack: Stack,
  opts: Parameters<typeof inventory.eventPayload>[0] & { serviceFee?: number; taxRate?: number } = {},
): Promise<EventPayload<'event.published'>> {
  const ev = { ...inventory.eventPayload(opts), serviceFee: opts.serviceFee, taxRate: opts.taxRate };
  await inventory.publishEvent(stack.inventory.deps, ev);
  await withTransaction(stack.orders.deps.db, (t) => rememberEvent(stack.orders.deps.db, t, ev));
  return ev;
}

/** Tokenises a test card for the buyer in payments; returns the payment-method id. */
export async function card(stack: Stack, user: TestIdentity, which: keyof typeof payments.CARDS = 'succeeds') {
  return payments.addCard(stack.payments.call, user, payments.CARDS[which]);
}

/** A buyer's pending order of the given seats; returns the hold and the order. */
export async function orderOf(stack: Stack, user: TestIdentity, eventId: string, seats: string[]) {
  const h = await hold(stack, user, { eventId, seats });
  const res = await stack.orders.call('POST', '/api/orders', { as: user, body: { holdId: h.id } });
  if (res.status !== 201) throw new Error(`order: ${res.status} ${res.text}`);
  return { hold: h, order: res.body };
}

export function buyer(userId = `u-${randomUUID()}`): TestIdentity {
  return { userId, role: 'buyer' };
}

/** Holds seats (and GA places) for the buyer in inventory; returns the hold. */
export async function hold(
  stack: Stack,
  user: TestIdentity,
  body: { eventId: string; seats?: string[]; ga?: Array<{ areaId: string; quantity: number }> },
) {
  const res = await stack.inventory.call('POST', '/api/holds', { as: user, body });
  if (res.status !== 201) throw new Error(`hold: ${res.status} ${res.text}`);
  return res.body;
}

export const key = () => `k-${randomUUID()}`;

export { payments, inventory };

// The suite's SQL readers are the test kit's (one implementation for every service's tests).
export {
  queryRows as query,
  outboxEventsOf as eventsOf,
  queryDatabase as sqlDirect,
} from '@eventtickets/platform/testing';
