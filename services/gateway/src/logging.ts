// The gateway's log plumbing. Every proxied request writes one access-log line, so on this hot path:
// - lines are buffered and written in batches (asynchronous stdout, at least ACCESS_LOG_BATCH_BYTES per
//   write or every LOG_FLUSH_MS), instead of one write syscall per request; flushed on shutdown;
// - the access-log line skips the redaction pass. Its fields are fixed by the platform's access-log
//   middleware (method, path without query, route template, status, duration): none can carry a secret,
//   and the platform's wildcard redaction paths ('*.password', ...) otherwise run on every field of every
//   line. Every other log call of the gateway keeps the full redaction.
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
