// The runner's own environment, validated up front like a service's config (a bad value names the variable).
import { join, resolve } from 'node:path';
import { loadConfig, redisUrls, z } from '@eventtickets/platform/config';

const optionalPort = z.coerce.number().int().min(1).max(65535).optional();

export const stackEnvSchema = z.object({
  /** Unset: .data/ in the repository, wherever the runner is started from. */
  DATA_DIR: z.string().min(1).optional(),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  SERVICE_PORT_BASE: z.coerce.number().int().min(1024).max(65000).optional(),
  POSTGRES_PORT: optionalPort,
  REDIS_URL: redisUrls,
  STACK_REDIS: z.enum(['auto', 'memory']).default('auto'),
  REDIS_PREFIX: z.string().min(1).default('et:'),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\/.+/, 'must be an smtp:// or smtps:// URL')
    .optional(),
  DEMO_PASSWORD: z.string().min(10, 'must be at least 10 characters').optional(),
  STACK_READY_TIMEOUT_MS: z.coerce.number().int().min(1000).default(90_000),
  STACK_STOP_TIMEOUT_MS: z.coerce.number().int().min(100).default(15_000),
  /** A process that died is started again; after this many failures of one process within the window, the
   *  runner gives up and stops the stack (exit 1). See restarts.ts. */
  STACK_RESTART_LIMIT: z.coerce.number().int().min(1).max(100).default(5),
  STACK_RESTART_WINDOW_S: z.coerce.number().int().min(1).default(120),
  /** First back-off before a restart, doubled for each further failure within the window (at most 30 s). */
  STACK_RESTART_DELAY_MS: z.coerce.number().int().min(0).max(30_000).default(1000),
  /** A module exporting `stackServices` (and optionally `servicesRoot`) instead of scripts/stack/services.ts. */
  STACK_REGISTRY: z.string().optional(),
});

export type StackEnv = z.infer<typeof stackEnvSchema>;

/** Empty variables count as unset (`PORT= npm start` behaves like no PORT). A relative DATA_DIR is taken
 *  from the current directory. */
export function loadStackEnv(env: NodeJS.ProcessEnv, cwd: string, repoRoot: string): StackEnv & { DATA_DIR: string } {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = loadConfig(stackEnvSchema, cleaned);
  return { ...parsed, DATA_DIR: parsed.DATA_DIR ? resolve(cwd, parsed.DATA_DIR) : join(repoRoot, '.data') };
}
