// Orders configuration, validated once at start (a bad value stops the process naming the variable).
import {
  baseConfigSchema,
  dataStoreConfigFields,
  internalTokenConfigFields,
  requireRedisOrBusDatabase,
  z,
} from '@eventtickets/platform';

const ms = (min: number, max: number, def: number) => z.coerce.number().int().min(min).max(max).default(def);

export const configSchema = baseConfigSchema
  .extend({
    ...dataStoreConfigFields,
    ...internalTokenConfigFields,
    PORT: z.coerce.number().int().min(0).max(65535).default(8084),
    /** Inventory's base URL (its /internal/holds API). */
    INVENTORY_URL: z.url().default('http://127.0.0.1:8083'),
    /** Payments' base URL (its /internal intents, refunds and receipts API). */
    PAYMENTS_URL: z.url().default('http://127.0.0.1:8085'),
    /** HMAC key of ticket codes: whoever knows it can mint tickets (generated once per DATA_DIR by npm start). */
    TICKET_CODE_SECRET: z.string().min(32, 'must be at least 32 characters (e.g. openssl rand -base64 32)'),
    /** Bound on one call to inventory or payments. */
    UPSTREAM_TIMEOUT_MS: ms(100, 120_000, 10_000),
    /** How often the saga worker retries orders stuck between two steps (a crash, an upstream outage). */
    SAGA_INTERVAL_MS: ms(10, 600_000, 2_000),
    /** How long an Idempotency-Key is remembered. */
    IDEMPOTENCY_KEY_RETENTION_MS: z.coerce.number().int().min(1_000).default(86_400_000),
  })
  .superRefine(requireRedisOrBusDatabase);

export type OrdersConfig = z.infer<typeof configSchema>;
