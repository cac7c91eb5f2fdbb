// Inventory configuration, validated once at start (a bad value stops the process naming the variable).
import {
  baseConfigSchema,
  dataStoreConfigFields,
  redisCommandTimeoutMs,
  requireRedisOrBusDatabase,
  z,
} from '@eventtickets/platform';
import { internalTokenConfigFields } from '@eventtickets/platform';

/** Inventory's database pool (deps.ts). */
export const POOL_MAX = 20;

// REDIS_URL: comma-separated independent Redis masters (Redlock voters; the first also carries streams and
// pub/sub). Empty: the announced single-node in-memory mode (one replica only), which needs BUS_DATABASE_URL.
export const configSchema = baseConfigSchema
  .extend({
    ...dataStoreConfigFields,
    ...internalTokenConfigFields,
    PORT: z.coerce.number().int().min(0).max(65535).default(8083),
    /** Bound on one Redis command's reply: a master that hangs costs a request at most this (platform redis.ts). */
    REDIS_COMMAND_TIMEOUT_MS: redisCommandTimeoutMs,
    /** Redlock TTL for the per-seat locks around one hold write. */
    HOLD_LOCK_TTL_MS: z.coerce.number().int().min(10).max(60_000).default(5_000),
    /** Redlock acquisition attempts after the first (25 ms + up to 25 ms apart) before the database decides: each
     *  failed attempt is 3 scripts plus 3 to give back a partial lock, and under an on-sale's contention a long
     *  poll costs more than the database's own answer (its row locks wait for the holder's commit). */
    HOLD_LOCK_RETRIES: z.coerce.number().int().min(0).max(100).default(3),
    /** How long a replica keeps an event's sale rules for holds (use-cases/sale-rules.ts: a cancelled event still
     *  refuses at once, sales windows are still judged by the database clock). 0 reads them for every hold. */
    HOLD_RULES_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(1_000),
    /** Group commit (use-cases/hold-batch.ts): most seats-only, no-Idempotency-Key holds written by one call and
     *  one transaction when they queued while the database was busy. 0: off (each is its own call). */
    HOLD_BATCH_MAX: z.coerce.number().int().min(0).max(1_000).default(64),
    /** Group-commit calls in flight at once, each on one pooled connection: at most the pool (20). 1: while a call
     *  runs every other hold queues for the next, so batches grow with the load (fewer transactions, commits and
     *  lock scripts per hold; load/RESULTS.md measured 1 against 2 and 4), and a replica's batches never wait for
     *  each other's seat locks. */
    HOLD_BATCH_SLOTS: z.coerce.number().int().min(1).max(POOL_MAX).default(1),
    /** Refuse holds of seats already taken from the replica's view of committed changes, without Redlock or the
     *  database (use-cases/taken-seats.ts). false: every hold takes the full path. */
    HOLD_TAKEN_SEATS_VIEW: z.stringbool().default(true),
    /** How often that view compares each event's seq with the database's (it misses nothing longer than this
     *  when a pub/sub message is lost); an event idle for 60 s is dropped from it. */
    HOLD_TAKEN_SEATS_SYNC_MS: z.coerce.number().int().min(10).max(60_000).default(1_000),
    /** How often each replica looks for expired holds in the database. */
    EXPIRY_INTERVAL_MS: z.coerce.number().int().min(10).max(600_000).default(2_000),
    EXPIRY_BATCH_SIZE: z.coerce.number().int().min(1).max(1_000).default(100),
    /** SSE heartbeat (comment line); also when each replica checks for changes it may have missed. */
    SSE_HEARTBEAT_MS: z.coerce.number().int().min(10).max(300_000).default(15_000),
    /** Bytes an SSE client may leave unread before it is dropped (it then resumes with Last-Event-ID). */
    SSE_MAX_BUFFERED_BYTES: z.coerce.number().int().min(1_024).default(1_048_576),
    /** How long the per-event change log keeps entries for Last-Event-ID resume. */
    CHANGE_LOG_RETENTION_MS: z.coerce.number().int().min(1_000).default(3_600_000),
    /** How long an Idempotency-Key of POST /api/holds is remembered (clients retry within minutes, not days). */
    IDEMPOTENCY_KEY_RETENTION_MS: z.coerce.number().int().min(1_000).default(86_400_000),
  })
  .superRefine(requireRedisOrBusDatabase);

export type InventoryConfig = z.infer<typeof configSchema>;
