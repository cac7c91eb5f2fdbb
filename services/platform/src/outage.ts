// Outage logging: a dependency that goes away logs one line when the outage starts ("redis unavailable",
// with the first error) and one when it ends ("redis available again", with its duration), however many
// clients, loops and retries see it fail in between. Everything that watches the same resource through the
// same log destination (a logger and its children) shares one outage: it starts with the first member that
// fails and ends when the last failing member works again.
import { symbols } from 'pino';
import type { Logger } from './logger.ts';

interface Outage {
  since: number;
  failing: Set<object>;
}

const byDestination = new WeakMap<object, Map<string, Outage>>();

export interface OutageReporter {
  /** `member` (a connection, a polling loop) saw the resource fail. */
  failed(member: object, err: unknown): void;
  /** `member` works again. */
  recovered(member: object): void;
  /** `member` is gone (closed on purpose): it no longer keeps the outage open, and nothing is logged. */
  forget(member: object): void;
}

/** `resource` names the line ("redis" → "redis unavailable"); `fields` say which one (e.g. { redis: host }). */
export function outageReporter(
  logger: Logger,
  resource: string,
  fields: Record<string, unknown> = {},
  words: { down: string; up: string } = { down: 'unavailable', up: 'available again' },
): OutageReporter {
  const destination = (logger as unknown as Record<symbol, object | undefined>)[symbols.streamSym] ?? logger;
  let outages = byDestination.get(destination);
  if (!outages) byDestination.set(destination, (outages = new Map()));
  const key = `${resource} ${JSON.stringify(fields)}`;
  const current = outages;
  return {
    failed(member, err) {
      const outage = current.get(key);
      if (outage) {
        outage.failing.add(member);
        return;
      }
      current.set(key, { since: Date.now(), failing: new Set([member]) });
      logger.warn({ ...fields, err }, `${resource} ${words.down}`);
    },
    recovered(member) {
      const outage = current.get(key);
      if (!outage?.failing.delete(member) || outage.failing.size > 0) return;
      current.delete(key);
      const outageMs = Date.now() - outage.since;
      logger.info({ ...fields, outageMs }, `${resource} ${words.up} after ${(outageMs / 1000).toFixed(1)} s`);
    },
    forget(member) {
      const outage = current.get(key);
      if (!outage?.failing.delete(member) || outage.failing.size > 0) return;
      current.delete(key);
    },
  };
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08006',
]);

/** True for an error that says the database could not be reached (as opposed to a failing statement). */
export function isConnectionError(err: unknown): boolean {
  type Cause = {
    name?: unknown;
    code?: unknown;
    message?: unknown;
    original?: unknown;
    parent?: unknown;
    cause?: unknown;
  };
  let e = err as Cause | undefined;
  for (let depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    if (typeof e.name === 'string' && /^Sequelize(Connection|HostNotReachable|HostNotFound|AccessDenied)/.test(e.name))
      return true;
    if (typeof e.code === 'string' && CONNECTION_CODES.has(e.code)) return true;
    if (
      typeof e.message === 'string' &&
      /Connection terminated|connection is closed|Client has encountered a connection error/i.test(e.message)
    )
      return true;
    e = (e.original ?? e.parent ?? e.cause) as Cause | undefined;
  }
  return false;
}

export interface LoopFailures {
  failed(err: unknown): void;
  /** Call after each successful round. */
  ok(): void;
}

/** Failure logging for a polling loop (relay, consumer, periodic job) that retries on its own: a database
 *  that cannot be reached is the process's "postgres" outage (or `outage`, e.g. the loop's Redis), anything
 *  else is "<name> failing" — each logged when it starts and when it ends, never once per retry. */
export function loopFailures(logger: Logger, name: string, outage?: OutageReporter): LoopFailures {
  const member = {};
  const postgres = outage ?? outageReporter(logger, 'postgres');
  const own = outageReporter(
    logger,
    name,
    {},
    { down: 'failing (retrying; logged again when it recovers)', up: 'recovered' },
  );
  return {
    failed(err) {
      if (outage || isConnectionError(err)) postgres.failed(member, err);
      else own.failed(member, err);
    },
    ok() {
      postgres.recovered(member);
      own.recovered(member);
    },
  };
}
