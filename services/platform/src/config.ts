// Config: every service declares a zod schema for its environment; it is validated once at start and a
// bad or missing value stops the process with a message that names the variable.
import { z } from 'zod';
import { INTERNAL_TOKEN_SECRET_MIN_LENGTH } from './internal-token.ts';

export { z };

export class ConfigError extends Error {
  readonly issues: { variable: string; message: string }[];
  constructor(issues: { variable: string; message: string }[]) {
    super(`Invalid configuration: ${issues.map((i) => `${i.variable}: ${i.message}`).join('; ')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** Variables every service understands. */
export const baseConfigSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
});

/** DATABASE_URL: a postgres:// URL. */
export const databaseUrl = z.string().refine((v) => /^postgres(ql)?:\/\/.+/.test(v), 'must be a postgres:// URL');

/** REDIS_URL: comma-separated redis:// URLs (one per Redlock master); empty means in-memory mode. */
export const redisUrls = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  )
  .refine((list) => list.every((u) => /^rediss?:\/\/.+/.test(u)), 'every entry must be a redis:// URL');

/**
 * INTERNAL_TOKEN_SECRET: the one stack-wide secret that signs and verifies internal tokens (who a call between
 * services is for). Required in every environment: without it a service could not tell the gateway from any
 * process that reaches it. Spread into every service's schema: `baseConfigSchema.extend({ ...internalTokenConfigFields })`.
 */
export const internalTokenConfigFields = {
  INTERNAL_TOKEN_SECRET: z
    .string()
    .min(
      INTERNAL_TOKEN_SECRET_MIN_LENGTH,
      `must be at least ${INTERNAL_TOKEN_SECRET_MIN_LENGTH} characters (one stack-wide secret, e.g. openssl rand -base64 32)`,
    ),
};

/**
 * The data stores of a service that owns a database and takes part in the event bus. Spread into a schema:
 * `baseConfigSchema.extend({ ...dataStoreConfigFields, ... }).superRefine(requireRedisOrBusDatabase)`.
 */
export const dataStoreConfigFields = {
  DATABASE_URL: databaseUrl,
  /** Comma-separated independent Redis masters; the first carries streams, pub/sub and caches. */
  REDIS_URL: redisUrls,
  /** Namespaces every Redis key, so stacks and test suites sharing a Redis never collide. */
  REDIS_PREFIX: z.string().min(1).default('et:'),
  /** Without Redis the event bus runs over this Postgres database (the local stack's announced mode). */
  BUS_DATABASE_URL: databaseUrl.optional(),
};

/** The event bus needs a transport: Redis Streams, or the Postgres bus database. Checked at start, not at first use. */
export function requireRedisOrBusDatabase(
  config: { REDIS_URL: string[]; BUS_DATABASE_URL?: string },
  ctx: z.RefinementCtx,
): void {
  if (config.REDIS_URL.length === 0 && !config.BUS_DATABASE_URL) {
    ctx.addIssue({
      code: 'custom',
      path: ['REDIS_URL'],
      message: 'is required (or BUS_DATABASE_URL for the Postgres event bus)',
    });
  }
}

/** Validates env against the schema; throws ConfigError naming each bad variable. */
export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => {
    const variable = String(issue.path[0] ?? '(env)');
    // zod does not echo the input in issues, so "missing" is decided from the environment itself. The value
    // is never echoed: it may be a secret.
    const missing = env[variable] === undefined || env[variable] === '';
    const message = issue.code === 'invalid_type' && missing ? 'is required' : issue.message;
    return { variable, message };
  });
  throw new ConfigError(issues);
}

/** For main.ts: validate or print the problem (naming the variable) and exit(1). */
export function loadConfigOrExit<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  try {
    return loadConfig(schema, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const issue of err.issues) process.stderr.write(`config error: ${issue.variable} ${issue.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
