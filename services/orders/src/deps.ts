// Everything orders runs on, built from its configuration: shared by main.ts and the tests (which pass a
// silent logger and may point the upstream URLs at in-process services or fakes).
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
import type { OrdersConfig } from './config.ts';
import { createOrdersMetrics, type OrdersMetrics } from './metrics.ts';
import { createCancelService, type CancelService } from './use-cases/cancel.ts';
import { createOrderService, type OrderService } from './use-cases/orders.ts';
import { createPayService, type PayService } from './use-cases/pay.ts';
import { createReportService, type ReportService } from './use-cases/reports.ts';
import { createSaga, type Saga } from './use-cases/saga.ts';
import { createTicketService, type TicketService } from './use-cases/tickets.ts';
import type { Upstreams } from './use-cases/upstreams.ts';

export const SERVICE = 'orders';

export interface OrdersDeps {
  config: OrdersConfig;
  logger: Logger;
  db: Sequelize;
  redis: Redis[];
  metrics: Metrics;
  ordersMetrics: OrdersMetrics;
  bus: EventBus;
  lifecycle: Lifecycle;
  upstreams: Upstreams;
  orders: OrderService;
  saga: Saga;
  pay: PayService;
  tickets: TicketService;
  cancels: CancelService;
  reports: ReportService;
  /** Closes what createDeps opened, in order (call after the HTTP server has drained). */
  close: () => Promise<void>;
}

export interface DepsOverrides {
  logger?: Logger;
  /** Runs between two saga steps (tests: throw to simulate a crash there). */
  betweenSteps?: (orderId: string, step: string) => Promise<void>;
}

export async function createDeps(config: OrdersConfig, overrides: DepsOverrides = {}): Promise<OrdersDeps> {
  const base = createServiceBase(SERVICE, config, { poolMax: 20, logger: overrides.logger });
  const { logger, db, redis, metrics, bus, lifecycle } = base;
  const ordersMetrics = createOrdersMetrics(metrics.registry);
  const client = (name: string, baseUrl: string) =>
    createServiceClient({
      name,
      baseUrl,
      logger,
      registry: metrics.registry,
      timeoutMs: config.UPSTREAM_TIMEOUT_MS,
      internalToken: { secret: config.INTERNAL_TOKEN_SECRET, issuer: SERVICE },
    });
  const upstreams: Upstreams = {
    inventory: client('inventory', config.INVENTORY_URL),
    payments: client('payments', config.PAYMENTS_URL),
  };
  const orders = createOrderService({ db, logger, metrics: ordersMetrics, upstreams });
  const saga = createSaga({ db, logger, metrics: ordersMetrics, upstreams, betweenSteps: overrides.betweenSteps });
  const pay = createPayService({ db, metrics: ordersMetrics, upstreams, saga });
  const tickets = createTicketService({ db, secret: config.TICKET_CODE_SECRET });
  const cancels = createCancelService({ db, metrics: ordersMetrics, upstreams, saga });
  const reports = createReportService({ db, upstreams });
  return {
    config,
    logger,
    db,
    redis,
    metrics,
    ordersMetrics,
    bus,
    lifecycle,
    upstreams,
    orders,
    saga,
    pay,
    tickets,
    cancels,
    reports,
    close: base.close,
  };
}
