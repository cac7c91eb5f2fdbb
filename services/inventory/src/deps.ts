// Everything the inventory runs on, built from its configuration. Tests build several of these against the
// same Postgres and Redis to act as separate replicas, and may swap the locker or add hooks.
import {
  closeRedis,
  createLocker,
  createPubSub,
  createServiceBase,
  type EventBus,
  type Lifecycle,
  type Locker,
  type Logger,
  type Metrics,
  type PubSub,
  type Redis,
  type Sequelize,
  watchRedis,
} from '@eventtickets/platform';
import { POOL_MAX, type InventoryConfig } from './config.ts';
import { createInventoryMetrics, type InventoryMetrics } from './metrics.ts';
import { createAvailabilityHub, type AvailabilityHub } from './use-cases/availability-stream.ts';
import { createTakenSeatsView, type TakenSeatsView } from './use-cases/taken-seats.ts';
import type { SeatHoldBatcherOptions } from './use-cases/hold-batch.ts';
import { createHoldService, type HoldHooks, type HoldService } from './use-cases/holds.ts';

export const SERVICE = 'inventory';

/** An event nobody tried to hold seats of for this long leaves the taken-seats view. */
const TAKEN_SEATS_IDLE_MS = 60_000;

export interface InventoryDeps {
  config: InventoryConfig;
  logger: Logger;
  db: Sequelize;
  redis: Redis[];
  metrics: Metrics;
  inventoryMetrics: InventoryMetrics;
  locker: Locker;
  pubsub: PubSub;
  bus: EventBus;
  lifecycle: Lifecycle;
  hub: AvailabilityHub;
  /** HOLD_TAKEN_SEATS_VIEW: refusals of taken seats without a lock or a database call. */
  takenSeats?: TakenSeatsView;
  holds: HoldService;
  /** Closes what createDeps opened, in order (call after the HTTP server has drained). */
  close: () => Promise<void>;
}

export interface DepsOverrides {
  logger?: Logger;
  /** Replace the Redlock locker (tests: a no-op locker to prove the database alone keeps the invariant). */
  locker?: Locker;
  hooks?: HoldHooks;
  /** Test seam: the group-commit call (a fault injected around db/seats.ts holdSeatsInBatch). */
  holdBatchWrite?: SeatHoldBatcherOptions['write'];
}

export function createDeps(config: InventoryConfig, overrides: DepsOverrides = {}): InventoryDeps {
  // Every Redis master (Redlock voters), every command bounded (REDIS_COMMAND_TIMEOUT_MS): a hanging master is a
  // lost vote, not a stalled hold.
  const base = createServiceBase(SERVICE, config, {
    poolMax: POOL_MAX,
    logger: overrides.logger,
    allRedis: true,
    redisCommandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
  });
  const { logger, db, redis, metrics, bus, lifecycle } = base;
  if (!config.REDIS_URL.length) {
    logger.warn('REDIS_URL is empty: in-memory locks and pub/sub, a single inventory replica only');
  }
  const inventoryMetrics = createInventoryMetrics(metrics.registry, db, redis);
  // Redlock gets its own connection to each master, auto-pipelined (issue 14): the lock scripts of every hold
  // handled in one event-loop turn leave in ONE write per master instead of one write (a syscall, and the
  // loopback delivery it pays for) per script. Same scripts, same votes, same command timeouts.
  const lockClients = overrides.locker ? [] : redis.map((r) => r.duplicate({ enableAutoPipelining: true }));
  for (const client of lockClients) watchRedis(client, logger);
  const locker =
    overrides.locker ??
    createLocker({
      clients: lockClients,
      logger,
      prefix: `${config.REDIS_PREFIX}lock:`,
      retries: config.HOLD_LOCK_RETRIES,
      retryDelayMs: 25,
      jitterMs: 25,
      onWait: (seconds) => inventoryMetrics.lockWait.observe(seconds),
    });
  const pubsub = createPubSub({
    url: config.REDIS_URL[0],
    logger,
    prefix: config.REDIS_PREFIX,
    commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
  });
  const takenSeats = config.HOLD_TAKEN_SEATS_VIEW
    ? createTakenSeatsView({
        db,
        pubsub,
        logger,
        syncMs: config.HOLD_TAKEN_SEATS_SYNC_MS,
        idleMs: TAKEN_SEATS_IDLE_MS,
      })
    : undefined;
  const hub = createAvailabilityHub({
    db,
    pubsub,
    logger,
    metrics: inventoryMetrics,
    heartbeatMs: config.SSE_HEARTBEAT_MS,
    maxBufferedBytes: config.SSE_MAX_BUFFERED_BYTES,
    lifecycle,
    onNumbered: takenSeats?.observe,
  });
  const holds = createHoldService({
    db,
    locker,
    logger,
    metrics: inventoryMetrics,
    publish: hub.publish,
    lockTtlMs: config.HOLD_LOCK_TTL_MS,
    rulesCacheMs: config.HOLD_RULES_CACHE_MS,
    batch: { maxBatch: config.HOLD_BATCH_MAX, slots: config.HOLD_BATCH_SLOTS, write: overrides.holdBatchWrite },
    takenSeats,
    hooks: overrides.hooks,
  });
  return {
    config,
    logger,
    db,
    redis,
    metrics,
    inventoryMetrics,
    locker,
    pubsub,
    bus,
    lifecycle,
    hub,
    takenSeats,
    holds,
    close: async () => {
      lifecycle.shutdown();
      takenSeats?.close();
      await pubsub.close();
      await closeRedis(lockClients);
      await base.close();
    },
  };
}
