// Test harness for payments: real Postgres (a fresh database per suite) and the shared Redis, the service built
// exactly as main.ts builds it (createDeps → migrate → createApp → startWorkers), listening on its own port;
// the simulator's webhooks go over HTTP to that port. Every call goes through the contract client.
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import {
  createContract,
  createLogger,
  listen,
  migrate,
  type Contract,
  type RunningServer,
} from '@eventtickets/platform';
import {
  createContractClient,
  dropTestDatabase,
  type Call,
  type TestIdentity,
  type TestService,
  serviceTestConfig,
} from '@eventtickets/platform/testing';
import { configSchema, type PaymentsConfig } from '../src/config.ts';
import { createDeps, type DepsOverrides, type PaymentsDeps } from '../src/deps.ts';
import { migrations } from '../src/db/migrations.ts';
import { createApp, contractFile } from '../src/app.ts';
import { startWorkers } from '../src/workers.ts';

export const TEST_WEBHOOK_SECRET = 'test-webhook-secret-0123456789abcdefghijkl';

export interface Instance {
  url: string;
  call: Call;
  deps: PaymentsDeps;
  server: RunningServer;
  /** Every log line the instance wrote (JSON text), when started with captureLogs. */
  logs: string[];
  stop: () => Promise<void>;
}

export function suiteConfig(ctx: Mocha.Context, env: Record<string, string> = {}): Promise<PaymentsConfig> {
  return serviceTestConfig(ctx, 'payments', configSchema, {
    PAYMENTS_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    SIMULATOR_ASYNC_DELAY_MS: '200',
    WEBHOOK_DELIVERY_INTERVAL_MS: '50',
    ...env,
  });
}

export async function startInstance(
  config: PaymentsConfig,
  opts: DepsOverrides & { captureLogs?: boolean; webhookUrl?: () => string } = {},
): Promise<Instance> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const logger =
    opts.logger ??
    (opts.captureLogs
      ? createLogger('payments', { level: 'trace', destination: sink })
      : createLogger('payments', { level: process.env.TEST_LOG_LEVEL ?? 'silent' }));
  const deps = await createDeps(config, { ...opts, logger });
  await migrate(deps.db, migrations);
  const app = await createApp(deps);
  const server = await listen(app.callback(), 0);
  const ownUrl = `${server.url}/api/payments/webhooks/${config.PAYMENTS_PROVIDER}`;
  const workers = await startWorkers(deps, { webhookUrl: opts.webhookUrl ?? (() => ownUrl) });
  let stopped: Promise<void> | undefined;
  return {
    url: server.url,
    call: createContractClient(server.url, await getContract(), { service: 'payments' }),
    deps,
    server,
    logs,
    stop: () =>
      (stopped ??= (async () => {
        deps.lifecycle.shutdown();
        await server.close(2_000);
        await workers.stop();
        await deps.close();
      })()),
  };
}

export async function dropDatabase(config: PaymentsConfig | undefined): Promise<void> {
  if (config) await dropTestDatabase(config.DATABASE_URL).catch(() => undefined);
}

let contract: Contract | undefined;
export async function getContract(): Promise<Contract> {
  return (contract ??= await createContract(contractFile));
}

/** The orders service, the one caller of the /internal routes. */
export const ordersService: TestService = { service: 'orders' };

export function buyer(userId = `u-${randomUUID()}`): TestIdentity {
  return { userId, role: 'buyer' };
}

export const CARDS = {
  succeeds: '4242 4242 4242 4242',
  declined: '4000 0000 0000 0002',
  insufficientFunds: '4000 0000 0000 9995',
  expiredCard: '4000 0000 0000 0069',
  async: '4000 0000 0000 0077',
};

const nextYear = new Date().getUTCFullYear() + 2;

/** Tokenises a card for the user; returns the payment-method id. */
export async function addCard(call: Call, user: TestIdentity, number: string, cvc = '123'): Promise<string> {
  const res = await call('POST', '/api/payments/methods', {
    as: user,
    body: { card: { number, expMonth: 12, expYear: nextYear, cvc } },
  });
  if (res.status !== 201) throw new Error(`tokenise ${number.slice(-4)}: ${res.status} ${res.text}`);
  return res.body.id;
}

/** An intent request for an order of `amount` (one line of two tickets and a fee, tax included). */
export function intentBody(opts: { orderId?: string; userId: string; ticket?: number; fee?: number }) {
  const ticket = opts.ticket ?? 4550;
  const fee = opts.fee ?? 250;
  return {
    orderId: opts.orderId ?? `ord-${randomUUID()}`,
    userId: opts.userId,
    amount: 2 * ticket + fee,
    currency: 'EUR',
    description: 'Test night, Friday 8 pm',
    seller: { name: 'The Hall Ltd', address: '1 Concert Street, Paris' },
    lines: [{ description: 'Standard seat', quantity: 2, unitAmount: ticket, amount: 2 * ticket }],
    fees: [{ description: 'Service fee', amount: fee }],
    taxes: [{ description: 'VAT', rate: 20, amount: Math.round(((2 * ticket + fee) * 20) / 120) }],
  };
}

export const key = () => `k-${randomUUID()}`;

/** Creates an intent as orders would; returns its body. */
export async function createIntent(call: Call, body: ReturnType<typeof intentBody>) {
  const res = await call('POST', '/internal/intents', {
    as: ordersService,
    body,
    headers: { 'Idempotency-Key': key() },
  });
  if (res.status !== 201) throw new Error(`create intent: ${res.status} ${res.text}`);
  return res.body;
}

// The suite's SQL readers are the test kit's (one implementation for every service's tests).
export {
  queryRows as query,
  outboxEventsOf as eventsOf,
  queryDatabase as sqlDirect,
} from '@eventtickets/platform/testing';
