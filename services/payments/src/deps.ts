// Everything payments runs on, built from its configuration: shared by main.ts and the tests (which pass a
// silent or capturing logger, a fixed clock).
import {
  createServiceBase,
  type EventBus,
  type Lifecycle,
  type Logger,
  type Metrics,
  type Redis,
  type Sequelize,
} from '@eventtickets/platform';
import type { PaymentsConfig } from './config.ts';
import { createPaymentsMetrics, type PaymentsMetrics } from './metrics.ts';
import { createIntentService, type IntentService } from './use-cases/intents.ts';
import { createMethodService, type MethodService } from './use-cases/methods.ts';
import { providerFactories, type PaymentProvider } from './use-cases/provider.ts';
import { createReceiptService, type ReceiptService } from './use-cases/receipts.ts';
import { createRefundService, type RefundService } from './use-cases/refunds.ts';
import { createWebhookService, type WebhookService } from './use-cases/webhooks.ts';

export const SERVICE = 'payments';

export interface PaymentsDeps {
  config: PaymentsConfig;
  logger: Logger;
  db: Sequelize;
  redis: Redis[];
  metrics: Metrics;
  paymentsMetrics: PaymentsMetrics;
  bus: EventBus;
  lifecycle: Lifecycle;
  provider: PaymentProvider;
  methods: MethodService;
  intents: IntentService;
  refunds: RefundService;
  receipts: ReceiptService;
  webhooks: WebhookService;
  /** Closes what createDeps opened, in order (call after the HTTP server has drained). */
  close: () => Promise<void>;
}

export interface DepsOverrides {
  logger?: Logger;
  /** The clock of card expiry checks (tests). */
  now?: () => Date;
}

export async function createDeps(config: PaymentsConfig, overrides: DepsOverrides = {}): Promise<PaymentsDeps> {
  const base = createServiceBase(SERVICE, config, { poolMax: 20, logger: overrides.logger });
  const { logger, db, redis, metrics, bus, lifecycle } = base;
  const paymentsMetrics = createPaymentsMetrics(metrics.registry, db);
  const provider = providerFactories[config.PAYMENTS_PROVIDER]({ config, db, logger });
  const methods = createMethodService({ db, provider, metrics: paymentsMetrics, now: overrides.now });
  const intents = createIntentService({
    db,
    provider,
    logger,
    metrics: paymentsMetrics,
    sellerName: config.RECEIPT_SELLER_NAME,
  });
  const refunds = createRefundService({ db, provider, logger, metrics: paymentsMetrics });
  const receipts = createReceiptService({ db });
  const webhooks = createWebhookService({ db, provider, intents, logger, metrics: paymentsMetrics });
  return {
    config,
    logger,
    db,
    redis,
    metrics,
    paymentsMetrics,
    bus,
    lifecycle,
    provider,
    methods,
    intents,
    refunds,
    receipts,
    webhooks,
    close: base.close,
  };
}
