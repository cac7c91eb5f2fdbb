// The gateway's log plumbing. Every proxied request writes one access-log line, so on this hot path:
// - lines are buffered and written in batches (asynchronous stdout, at least ACCESS_LOG_BATCH_BYTES per
//   write or every LOG_FLUSH_MS), instead of one write syscall per request; flushed on shutdown;
// - the access-log line skips pino's path redaction. Its fields are fixed by the platform's access-log
//   middleware (method, path without query, route template, status, duration) and the platform's wildcard
//   paths ('*.password', ...) otherwise run on every field of every line (8% of the gateway's CPU in the
//   profile). The platform's key/shape redaction (formatters.log → redactDeep) still runs, so a card-shaped
//   number in a path is still masked; every other log call of the gateway keeps both passes.
import { pino } from 'pino';
import type { Logger } from '@eventtickets/platform';

export const ACCESS_LOG_BATCH_BYTES = 4096;
export const LOG_FLUSH_MS = 1_000;

export type LogDestination = ReturnType<typeof pino.destination>;

/** Asynchronous, batched stdout (fd 1). A line waits at most LOG_FLUSH_MS before it is written. */
export function batchedStdout(fd = 1): LogDestination {
  return pino.destination({ dest: fd, sync: false, minLength: ACCESS_LOG_BATCH_BYTES, periodicFlush: LOG_FLUSH_MS });
}

/** The logger for the per-request access line only (same level, bindings and destination as `logger`). */
export function accessLogger(logger: Logger): Logger {
  return logger.child({}, { redact: [] });
}
