// Users service configuration: validated once at start (fail-fast, naming the bad variable).
import { createPrivateKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { baseConfigSchema, dataStoreConfigFields, requireRedisOrBusDatabase, z } from '@eventtickets/platform';
import { internalTokenConfigFields } from '@eventtickets/platform';

/** Why a private JWK cannot sign ES256/RS256 access tokens (undefined when it can). Never echoes key material. */
function signingKeyProblem(jwk: Record<string, unknown>): string | undefined {
  if (jwk.kty === 'EC' && jwk.crv !== 'P-256') return 'is an EC key on another curve than P-256 (ES256)';
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch {
    return 'is not a valid private JWK';
  }
  // jose refuses to sign RS256 with a modulus under 2048 bits.
  if (jwk.kty === 'RSA' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048)
    return 'is an RSA key shorter than 2048 bits';
  return undefined;
}

/** JWT_PRIVATE_KEYS: a JSON array of private JWKs (EC P-256 or RSA); the first signs, all are published. */
const privateJwkList = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    if (raw === undefined || raw.trim() === '') return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON array of private JWKs' });
      return z.NEVER;
    }
    const list = z
      .array(z.looseObject({ kty: z.enum(['EC', 'RSA']), d: z.string().min(1), kid: z.string().min(1).optional() }))
      .min(1)
      .safeParse(parsed);
    if (!list.success) {
      ctx.addIssue({
        code: 'custom',
        message: 'must be a non-empty JSON array of private JWKs (kty EC or RSA, with d)',
      });
      return z.NEVER;
    }
    // Checked here, not at first sign-in: a key that cannot sign would otherwise start fine and 500 every login.
    list.data.forEach((jwk, i) => {
      const problem = signingKeyProblem(jwk);
      if (problem) ctx.addIssue({ code: 'custom', message: `entry ${i} ${problem}` });
    });
    return list.data as Array<Record<string, unknown> & { kty: 'EC' | 'RSA'; d: string; kid?: string }>;
  });

export const configSchema = baseConfigSchema
  .extend({
    ...dataStoreConfigFields,
    ...internalTokenConfigFields,
    PORT: z.coerce.number().int().min(0).max(65535).default(8081),
    JWT_ISSUER: z.string().min(1).default('eventtickets'),
    JWT_AUDIENCE: z.string().min(1).default('eventtickets-api'),
    JWT_PRIVATE_KEYS: privateJwkList,
    ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(86_400).default(900),
    REFRESH_TOKEN_TTL_DAYS: z.coerce.number().int().min(1).max(365).default(30),
    /** A rotated refresh token presented again this soon gets the same successor (a double submit); 0 disables. */
    REFRESH_REUSE_GRACE_SECONDS: z.coerce.number().int().min(0).max(60).default(20),
    DEMO_PASSWORD: z.string().min(10).optional(),
    /** scrypt cost as log2(N); stored with each hash, so raising it only affects new hashes (and rehash on login). */
    SCRYPT_LOG_N: z.coerce.number().int().min(10).max(20).default(15),
    /** Password hashes (login, registration) computed at once: libuv's thread pool has 4 threads by default. */
    PASSWORD_HASH_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
    /** Hashes waiting for a slot before a login or registration is answered 503 password-work-busy (shed load in a
     *  rush rather than hash for clients that have given up). */
    PASSWORD_HASH_QUEUE_MAX: z.coerce.number().int().min(0).max(10_000).default(100),
    /** Consecutive failed logins for one e-mail from one client before that client is slowed. */
    LOGIN_MAX_FAILURES: z.coerce.number().int().min(1).max(100).default(5),
    /** Failed logins for one e-mail from all clients together before the account is slowed (a distributed attack). */
    LOGIN_ACCOUNT_MAX_FAILURES: z.coerce.number().int().min(10).max(100_000).default(100),
    /** A client that logged in successfully within this long is not held by the account-wide back-off. */
    LOGIN_KNOWN_CLIENT_DAYS: z.coerce.number().int().min(0).max(365).default(30),
    /** Proxies in front of the gateway that append to X-Forwarded-For (1 with the gateway's TRUST_PROXY behind one ingress). */
    TRUSTED_PROXY_HOPS: z.coerce.number().int().min(0).max(5).default(0),
    /** Registrations answered email-taken per client and window before that client's registrations are refused (429). */
    REGISTER_MAX_CONFLICTS: z.coerce.number().int().min(1).max(10_000).default(10),
    REGISTER_CONFLICT_WINDOW_SECONDS: z.coerce.number().int().min(60).max(86_400).default(3600),
    /** First back-off; doubles with every further failure up to LOGIN_BACKOFF_MAX_SECONDS. */
    LOGIN_BACKOFF_SECONDS: z.coerce.number().int().min(1).default(30),
    LOGIN_BACKOFF_MAX_SECONDS: z.coerce.number().int().min(1).default(900),
    /** Failed logins older than this no longer count; longer than the longest lock, or waiting one out would reset it. */
    LOGIN_FAILURES_FORGET_AFTER_SECONDS: z.coerce.number().int().min(60).default(86_400),
    /** How often stale failed-login counters and long-expired refresh-token families are pruned. */
    MAINTENANCE_INTERVAL_MS: z.coerce.number().int().min(1_000).default(3_600_000),
  })
  .superRefine((c, ctx) => {
    // The outbox relay needs a transport: Redis Streams, or the local stack's Postgres bus database.
    requireRedisOrBusDatabase(c, ctx);
    if (c.LOGIN_ACCOUNT_MAX_FAILURES <= c.LOGIN_MAX_FAILURES)
      ctx.addIssue({
        code: 'custom',
        path: ['LOGIN_ACCOUNT_MAX_FAILURES'],
        message: 'must be greater than LOGIN_MAX_FAILURES (the account-wide limit is the higher one)',
      });
    if (c.LOGIN_FAILURES_FORGET_AFTER_SECONDS <= c.LOGIN_BACKOFF_MAX_SECONDS)
      ctx.addIssue({
        code: 'custom',
        path: ['LOGIN_FAILURES_FORGET_AFTER_SECONDS'],
        message: 'must be longer than LOGIN_BACKOFF_MAX_SECONDS',
      });
  });

export type UsersConfig = z.infer<typeof configSchema>;
