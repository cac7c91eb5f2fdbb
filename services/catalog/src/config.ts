// Catalog configuration (validated once at start; a bad value stops the process naming the variable).
import { randomBytes } from 'node:crypto';
import {
  baseConfigSchema,
  dataStoreConfigFields,
  redisCommandTimeoutMs,
  requireRedisOrBusDatabase,
  z,
} from '@eventtickets/platform';
import { internalTokenConfigFields } from '@eventtickets/platform';

export const configSchema = baseConfigSchema
  .extend({
    ...dataStoreConfigFields,
    ...internalTokenConfigFields,
    PORT: z.coerce.number().int().min(0).max(65535).default(8082),
    /** Signs pagination cursors; every replica must share it. */
    CURSOR_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    CACHE_TTL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
    /** Longest a cached read (and its generation) is reused from process memory before Redis is asked again;
     *  edits reach every replica through pub/sub at once, this bounds a lost message (platform cache.ts). 0: off. */
    CACHE_NEAR_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
    /** Bound on one Redis command's reply: a master that hangs costs a request at most this (platform redis.ts). */
    REDIS_COMMAND_TIMEOUT_MS: redisCommandTimeoutMs,
  })
  .superRefine(requireRedisOrBusDatabase)
  .superRefine((c, ctx) => {
    if (c.NODE_ENV === 'production' && !c.CURSOR_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['CURSOR_SECRET'],
        message: 'is required in production (shared by every replica)',
      });
    }
  });

export type CatalogConfig = z.infer<typeof configSchema>;

/** The cursor secret, or (outside production) one generated for this process, with a warning. */
export function cursorSecret(config: CatalogConfig, warn: (msg: string) => void): string {
  if (config.CURSOR_SECRET) return config.CURSOR_SECRET;
  warn(
    'CURSOR_SECRET is not set: generated one for this process; cursors will not survive a restart or work across replicas',
  );
  return randomBytes(32).toString('base64url');
}
