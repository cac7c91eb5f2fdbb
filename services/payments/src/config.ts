// Payments configuration, validated once at start (a bad value stops the process naming the variable).
import {
  baseConfigSchema,
  dataStoreConfigFields,
  internalTokenConfigFields,
  requireRedisOrBusDatabase,
  z,
} from '@eventtickets/platform';

/** The providers this build has an adapter for (use-cases/provider.ts); a Stripe-style REST adapter joins here. */
export const PROVIDERS = ['simulator'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

const ms = (min: number, max: number, def: number) => z.coerce.number().int().min(min).max(max).default(def);

export const configSchema = baseConfigSchema
  .extend({
    ...dataStoreConfigFields,
    ...internalTokenConfigFields,
    PORT: z.coerce.number().int().min(0).max(65535).default(8085),
    /** Which payment provider charges cards. */
    PAYMENTS_PROVIDER: z.enum(PROVIDERS).default('simulator'),
    /** HMAC-SHA256 key of the provider's webhooks (the simulator signs with it, the webhook route verifies). */
    PAYMENTS_WEBHOOK_SECRET: z.string().min(32, 'must be at least 32 characters (e.g. openssl rand -base64 32)'),
    /** Where the simulator delivers its webhooks. Default: the gateway's public path (GATEWAY_URL, set by the
     *  local stack), else this service's own /api/payments/webhooks/<provider>. */
    PAYMENTS_WEBHOOK_URL: z.url().optional(),
    GATEWAY_URL: z.url().optional(),
    /** A webhook whose signature timestamp is further than this from now is refused (replay protection). */
    WEBHOOK_TOLERANCE_S: z.coerce.number().int().min(1).max(3_600).default(300),
    /** The simulator's asynchronous card (4000 0000 0000 0077) settles through a webhook this long after confirm. */
    SIMULATOR_ASYNC_DELAY_MS: ms(0, 3_600_000, 3_000),
    /** How often the simulator looks for due webhooks. */
    WEBHOOK_DELIVERY_INTERVAL_MS: ms(10, 600_000, 500),
    /** Bound on one webhook HTTP call. */
    WEBHOOK_DELIVERY_TIMEOUT_MS: ms(100, 120_000, 10_000),
    /** Longest wait between two attempts of a failing webhook (back-off doubles from 1 s up to this). */
    WEBHOOK_MAX_BACKOFF_MS: ms(1_000, 86_400_000, 300_000),
    /** The seller on a receipt when orders names none. */
    RECEIPT_SELLER_NAME: z.string().min(1).max(200).default('EventTickets'),
    /** How long an Idempotency-Key of the internal API is remembered. */
    IDEMPOTENCY_KEY_RETENTION_MS: z.coerce.number().int().min(1_000).default(86_400_000),
    /** A demo deployment may run the simulator in production on purpose; nothing else may. */
    PAYMENTS_SIMULATOR_IN_PRODUCTION: z.stringbool().default(false),
  })
  .superRefine((config, ctx) => {
    requireRedisOrBusDatabase(config, ctx);
    // The simulator settles any well-formed test card: in production that would sell tickets for nothing.
    if (
      config.NODE_ENV === 'production' &&
      config.PAYMENTS_PROVIDER === 'simulator' &&
      !config.PAYMENTS_SIMULATOR_IN_PRODUCTION
    )
      ctx.addIssue({
        code: 'custom',
        path: ['PAYMENTS_PROVIDER'],
        message:
          'is the simulator, which accepts test cards as paid: refused in production (set a real provider, or PAYMENTS_SIMULATOR_IN_PRODUCTION=true for a demo)',
      });
  });

export type PaymentsConfig = z.infer<typeof configSchema>;

/** The URL the simulator posts its webhooks to. */
export function webhookUrl(config: PaymentsConfig, port = config.PORT): string {
  if (config.PAYMENTS_WEBHOOK_URL) return config.PAYMENTS_WEBHOOK_URL;
  const path = `/api/payments/webhooks/${config.PAYMENTS_PROVIDER}`;
  if (config.GATEWAY_URL) return config.GATEWAY_URL.replace(/\/$/, '') + path;
  return `http://127.0.0.1:${port}${path}`;
}
