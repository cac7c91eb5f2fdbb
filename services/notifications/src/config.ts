// Notifications configuration, validated once at start (a bad value stops the process naming the variable).
import {
  baseConfigSchema,
  dataStoreConfigFields,
  internalTokenConfigFields,
  requireRedisOrBusDatabase,
  z,
} from '@eventtickets/platform';

const ms = (min: number, max: number, def: number) => z.coerce.number().int().min(min).max(max).default(def);
const secret = z.string().min(32, 'must be at least 32 characters (e.g. openssl rand -base64 32)');

export const configSchema = baseConfigSchema
  .extend({
    ...dataStoreConfigFields,
    ...internalTokenConfigFields,
    PORT: z.coerce.number().int().min(0).max(65535).default(8086),
    /** Orders' base URL (its /internal/orders/{id}/tickets API: ticket codes for the QR images). */
    ORDERS_URL: z.url().default('http://127.0.0.1:8084'),
    /** Payments' base URL (its /internal/orders/{id}/receipt API). */
    PAYMENTS_URL: z.url().default('http://127.0.0.1:8085'),
    /** Where buyers open the app (links in messages); default GATEWAY_URL (set by npm start), else :8080. */
    APP_URL: z.url().optional(),
    GATEWAY_URL: z.url().optional(),
    /** SMTP server: smtp://user:pass@host:port or smtps://... (npm start runs a local sink when unset). */
    SMTP_URL: z
      .url()
      .refine((u) => /^smtps?:\/\//.test(u), 'must be an smtp:// or smtps:// URL')
      .default('smtp://127.0.0.1:8088'),
    /** The From header of every mail. */
    MAIL_FROM: z.string().min(3).default('EventTickets <tickets@eventtickets.local>'),
    /** SMS provider: log (writes the SMS to the log), http (POST JSON signed with SMS_HTTP_SECRET to
     *  SMS_HTTP_URL), twilio (a Twilio-style Messages API). */
    SMS_PROVIDER: z.enum(['log', 'http', 'twilio']).default('log'),
    SMS_HTTP_URL: z.url().optional(),
    SMS_HTTP_SECRET: secret.optional(),
    /** Sender number or id of SMS (http and twilio providers). */
    SMS_FROM: z.string().min(1).default('EventTickets'),
    TWILIO_ACCOUNT_SID: z.string().min(1).optional(),
    TWILIO_AUTH_TOKEN: z.string().min(1).optional(),
    TWILIO_BASE_URL: z.url().default('https://api.twilio.com'),
    /** How often the delivery worker looks for due messages (new ones are also sent right after commit). */
    DELIVERY_INTERVAL_MS: ms(10, 600_000, 1_000),
    /** Attempts after which a message is dead (no more retries). */
    DELIVERY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
    /** First retry delay; doubles per attempt up to RETRY_MAX_MS. */
    RETRY_BASE_MS: ms(10, 3_600_000, 5_000),
    RETRY_MAX_MS: ms(10, 86_400_000, 900_000),
    /** Bound on one SMTP send, SMS request or call to orders/payments. */
    SEND_TIMEOUT_MS: ms(100, 120_000, 15_000),
  })
  .superRefine(requireRedisOrBusDatabase)
  .superRefine((c, ctx) => {
    const need = (name: keyof typeof c, why: string) => {
      if (!c[name]) ctx.addIssue({ code: 'custom', path: [name], message: `required when ${why}` });
    };
    if (c.SMS_PROVIDER === 'http') {
      need('SMS_HTTP_URL', 'SMS_PROVIDER=http');
      need('SMS_HTTP_SECRET', 'SMS_PROVIDER=http');
    }
    if (c.SMS_PROVIDER === 'twilio') {
      need('TWILIO_ACCOUNT_SID', 'SMS_PROVIDER=twilio');
      need('TWILIO_AUTH_TOKEN', 'SMS_PROVIDER=twilio');
    }
    if (c.RETRY_MAX_MS < c.RETRY_BASE_MS)
      ctx.addIssue({ code: 'custom', path: ['RETRY_MAX_MS'], message: 'must be at least RETRY_BASE_MS' });
  });

export type NotificationsConfig = z.infer<typeof configSchema>;
