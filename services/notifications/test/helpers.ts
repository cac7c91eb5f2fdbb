// Test harness for notifications: real Postgres (a fresh database per suite) and Redis, a real SMTP server
// (the stack's own sink, scripts/stack/mail-sink.ts, on smtp-server) that also takes the signed SMS, and a
// fake orders and payments answering the internal calls of a confirmation. Events go in as the producers'
// relays put them: XADD on the family's stream under the suite's prefix.
import { randomUUID } from 'node:crypto';
import {
  createRedis,
  deadStreamKey,
  streamKey,
  type EventPayloadInput,
  type EventType,
  type Redis,
} from '@eventtickets/platform';
import {
  dropTestDatabase,
  requireRedis,
  samplePayload,
  serviceTestConfig,
  startFakeUpstream,
  startServiceInProcess,
  type FakeUpstream,
  type InProcessService,
} from '@eventtickets/platform/testing';
import { startMailSink, type MailSink } from '../../../scripts/stack/mail-sink.ts';
import { configSchema, type NotificationsConfig } from '../src/config.ts';
import { createDeps, type DepsOverrides, type NotificationsDeps } from '../src/deps.ts';
import { migrations } from '../src/db/migrations.ts';
import { createApp, contractFile } from '../src/app.ts';
import { startWorkers } from '../src/workers.ts';

export const SMS_SECRET = 'test-sms-provider-secret-0123456789abcdef';
export type Instance = InProcessService<NotificationsDeps>;

const parts = { service: 'notifications', createDeps, migrations, createApp, startWorkers, contractFile };

/** What the fake orders and payments know: tickets (with codes) and a receipt per order. */
export interface Orders {
  tickets: Map<string, Array<{ id: string; label: string; code: string }>>;
  receipts: Map<string, Record<string, unknown>>;
}

export interface Suite {
  svc: Instance;
  config: NotificationsConfig;
  sink: MailSink;
  orders: Orders;
  fakeOrders: FakeUpstream;
  fakePayments: FakeUpstream;
  redis: Redis;
  /** Puts an event on its stream as a producer's relay does; returns its envelope. */
  publish<T extends EventType>(type: T, payload: EventPayloadInput<T>, id?: string): Promise<{ id: string }>;
  /** Puts raw fields on a stream (a malformed message). */
  publishRaw(type: string, event: string): Promise<void>;
  /** The dead-letter stream's entries: { type, error, event }. */
  deadLetters(): Promise<Array<Record<string, string>>>;
  stop(): Promise<void>;
}

export async function startSuite(
  ctx: Mocha.Context,
  env: Record<string, string> = {},
  overrides: DepsOverrides = {},
): Promise<Suite> {
  const sink = await startMailSink({ smsSecret: SMS_SECRET });
  const orders: Orders = { tickets: new Map(), receipts: new Map() };
  const fakeOrders = await startFakeUpstream('orders', async (c, record) => {
    const m = /^\/internal\/orders\/([^/]+)\/tickets$/.exec(c.path);
    if (!m) return false;
    await record();
    const items = orders.tickets.get(m[1]!);
    c.status = items ? 200 : 404;
    c.body = items ? { orderId: m[1], userId: 'x', items } : { type: 'order-not-found' };
    return true;
  });
  const fakePayments = await startFakeUpstream('payments', async (c, record) => {
    const m = /^\/internal\/orders\/([^/]+)\/receipt$/.exec(c.path);
    if (!m) return false;
    await record();
    const receipt = orders.receipts.get(m[1]!);
    c.status = receipt ? 200 : 404;
    c.body = receipt ?? { type: 'receipt-not-found' };
    return true;
  });
  const config = await serviceTestConfig(ctx, 'notifications', configSchema, {
    SMTP_URL: sink.smtpUrl,
    ORDERS_URL: fakeOrders.url,
    PAYMENTS_URL: fakePayments.url,
    SMS_PROVIDER: 'http',
    SMS_HTTP_URL: sink.smsUrl,
    SMS_HTTP_SECRET: SMS_SECRET,
    DELIVERY_INTERVAL_MS: '50',
    RETRY_BASE_MS: '50',
    RETRY_MAX_MS: '200',
    SEND_TIMEOUT_MS: '5000',
    APP_URL: 'https://tickets.example.test',
    ...env,
  });
  const svc = await startServiceInProcess(parts, config, overrides);
  const redis = createRedis(requireRedis(ctx)[0]!);
  return {
    svc,
    config,
    sink,
    orders,
    fakeOrders,
    fakePayments,
    redis,
    async publish(type, payload, id = randomUUID()) {
      const event = {
        id,
        type,
        aggregateId: id,
        payload,
        occurredAt: new Date().toISOString(),
        headers: {},
      };
      await redis.xadd(streamKey(config.REDIS_PREFIX, type), '*', 'type', type, 'event', JSON.stringify(event));
      return { id };
    },
    async publishRaw(type, event) {
      await redis.xadd(streamKey(config.REDIS_PREFIX, type), '*', 'type', type, 'event', event);
    },
    async deadLetters() {
      const entries = await redis.xrange(deadStreamKey(config.REDIS_PREFIX), '-', '+');
      return entries.map(([, fields]) => {
        const o: Record<string, string> = {};
        for (let i = 0; i < fields.length; i += 2) o[fields[i]!] = fields[i + 1]!;
        return o;
      });
    },
    async stop() {
      await svc.stop();
      redis.disconnect();
      await sink.close();
      await fakeOrders.close();
      await fakePayments.close();
      await dropTestDatabase(config.DATABASE_URL).catch(() => undefined);
    },
  };
}

let n = 0;
/** A user with a unique id and address; SMS opt-in and phone as given. */
export function newUser(opts: { sms?: boolean; phone?: string | null; email?: boolean } = {}) {
  n++;
  const userId = `u-${randomUUID()}`;
  return samplePayload('user.registered', {
    userId,
    email: `buyer${n}-${userId.slice(2, 10)}@example.test`,
    name: `Buyer ${n}`,
    phone: opts.phone === undefined ? null : opts.phone,
    notificationPrefs: { email: opts.email ?? true, sms: opts.sms ?? false },
  });
}
