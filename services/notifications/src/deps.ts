// Everything notifications runs on, built from its configuration: shared by main.ts and the tests (which pass
// a silent logger and may replace the mailer or the SMS provider).
import {
  createServiceBase,
  createServiceClient,
  type EventBus,
  type Lifecycle,
  type Logger,
  type Metrics,
  type Redis,
  type Sequelize,
} from '@eventtickets/platform';
import type { NotificationsConfig } from './config.ts';
import { createNotificationsMetrics, type NotificationsMetrics } from './metrics.ts';
import { createDelivery, type Delivery, type Upstreams } from './use-cases/delivery.ts';
import { createHistory, type History } from './use-cases/history.ts';
import { createSmtpMailer, type Mailer } from './use-cases/mailer.ts';
import { createPlanner, type Planner } from './use-cases/plan.ts';
import { createSmsProvider, type SmsProvider } from './use-cases/sms.ts';

export const SERVICE = 'notifications';

export interface NotificationsDeps {
  config: NotificationsConfig;
  logger: Logger;
  db: Sequelize;
  redis: Redis[];
  metrics: Metrics;
  notificationsMetrics: NotificationsMetrics;
  bus: EventBus;
  lifecycle: Lifecycle;
  upstreams: Upstreams;
  mailer: Mailer;
  sms: SmsProvider;
  planner: Planner;
  delivery: Delivery;
  history: History;
  /** Closes what createDeps opened, in order (call after the HTTP server has drained). */
  close: () => Promise<void>;
}

export interface DepsOverrides {
  logger?: Logger;
  mailer?: Mailer;
  sms?: SmsProvider;
}

export async function createDeps(
  config: NotificationsConfig,
  overrides: DepsOverrides = {},
): Promise<NotificationsDeps> {
  const base = createServiceBase(SERVICE, config, { poolMax: 10, logger: overrides.logger });
  const { logger, db, redis, metrics, bus, lifecycle } = base;
  const notificationsMetrics = createNotificationsMetrics(metrics.registry);
  const client = (name: string, baseUrl: string) =>
    createServiceClient({
      name,
      baseUrl,
      logger,
      registry: metrics.registry,
      timeoutMs: config.SEND_TIMEOUT_MS,
      retries: 0,
      internalToken: { secret: config.INTERNAL_TOKEN_SECRET, issuer: SERVICE },
    });
  const upstreams: Upstreams = {
    orders: client('orders', config.ORDERS_URL),
    payments: client('payments', config.PAYMENTS_URL),
  };
  const mailer =
    overrides.mailer ??
    createSmtpMailer({ url: config.SMTP_URL, from: config.MAIL_FROM, timeoutMs: config.SEND_TIMEOUT_MS });
  const sms = overrides.sms ?? createSmsProvider(config, logger);
  const planner = createPlanner({
    db,
    logger,
    metrics: notificationsMetrics,
    appUrl: config.APP_URL ?? config.GATEWAY_URL ?? 'http://127.0.0.1:8080',
  });
  const delivery = createDelivery({
    db,
    logger,
    metrics: notificationsMetrics,
    mailer,
    sms,
    upstreams,
    options: {
      maxAttempts: config.DELIVERY_MAX_ATTEMPTS,
      retryBaseMs: config.RETRY_BASE_MS,
      retryMaxMs: config.RETRY_MAX_MS,
      // a send, plus the calls to orders and payments, each bounded by SEND_TIMEOUT_MS
      leaseMs: config.SEND_TIMEOUT_MS * 4,
    },
  });
  const history = createHistory(db);
  return {
    config,
    logger,
    db,
    redis,
    metrics,
    notificationsMetrics,
    bus,
    lifecycle,
    upstreams,
    mailer,
    sms,
    planner,
    delivery,
    history,
    close: async () => {
      lifecycle.shutdown();
      mailer.close();
      await base.close();
    },
  };
}
