// Redis Streams transport: one stream per event family, one consumer group per service. Deliveries are
// acknowledged after the handler's transaction commits; failures stay pending and are re-read after
// pollIntervalMs (own pending) or claimed from a dead consumer after claimIdleMs (XAUTOCLAIM); after
// maxDeliveries an event moves to the dead stream with its error. A message that is not an event, or fails its
// catalogue schema, moves there on its first delivery: no retry can fix it.
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { DomainEvent } from '../outbox.ts';
import type { Dispatcher } from './deliver.ts';
import { loopFailures } from '../outage.ts';
import {
  DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
  isRedisLost,
  redisOutage,
  RedisUnavailableError,
  redisSocketTimeoutMs,
  watchRedis,
} from '../redis.ts';
import type { BusMetrics } from './metrics.ts';
import type { Transport } from './transport.ts';
import { deadStreamKey, eventFamily, streamKey } from './types.ts';

/** Streams are capped (approximately) so Redis memory stays bounded; a consumer group lagging further than
 *  this loses the oldest entries, which the outbox tables still record. */
const STREAM_MAX_LEN = 100_000;

type StreamEntry = [id: string, fields: string[] | null];
type ReadReply = Array<[stream: string, entries: StreamEntry[]]> | null;

export interface RedisTransportOptions {
  redis: Redis;
  prefix: string;
  group: string;
  logger: Logger;
  metrics: BusMetrics;
  batchSize: number;
  pollIntervalMs: number;
  maxDeliveries: number;
  claimIdleMs: number;
}

function field(fields: string[] | null, name: string): string | undefined {
  if (!fields) return undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** One XINFO GROUPS entry, as flat key/value pairs (RESP2) or a map (RESP3). */
function groupInfo(g: unknown): Record<string, unknown> {
  if (Array.isArray(g)) {
    const info: Record<string, unknown> = {};
    for (let i = 0; i + 1 < g.length; i += 2) info[String(g[i])] = g[i + 1];
    return info;
  }
  return g instanceof Map ? Object.fromEntries(g) : ((g ?? {}) as Record<string, unknown>);
}

export class RedisTransport implements Transport {
  private readonly o: RedisTransportOptions;
  /** Stable across restarts of one process so a restarted bus re-reads its own pending entries at once. */
  private readonly consumer = `${hostname()}-${process.pid}`;
  private blocking: Redis | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private streams: string[] = [];
  private pendingDueAt = 0; // re-read own pending entries at this time (0 = nothing known to be pending)
  private claimDueAt = 0;

  constructor(opts: RedisTransportOptions) {
    this.o = opts;
  }

  async publish(events: DomainEvent[]): Promise<void> {
    // The relay retries on its own: with the connection lost, fail at once (each XADD is bounded by the
    // command timeout anyway, so a hanging master holds the relay's transaction that long at most).
    if (isRedisLost(this.o.redis)) throw new RedisUnavailableError(this.o.redis);
    const pipeline = this.o.redis.pipeline();
    for (const e of events) {
      pipeline.xadd(
        streamKey(this.o.prefix, e.type),
        'MAXLEN',
        '~',
        STREAM_MAX_LEN,
        '*',
        'type',
        e.type,
        'event',
        JSON.stringify(e),
        // The W3C trace context also as a field of its own: tools reading the stream (redis-cli XRANGE, a
        // consumer in another language) find the trace without parsing the envelope.
        'traceparent',
        e.headers?.traceparent ?? '',
      );
    }
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([err]) => err);
    if (failed) throw failed[0];
  }

  async startConsuming(dispatcher: Dispatcher): Promise<void> {
    this.streams = [...new Set(dispatcher.types.map((t) => streamKey(this.o.prefix, eventFamily(t))))].sort();
    for (const stream of this.streams) {
      try {
        // From the start of the stream: a group created after events were published still sees them.
        await this.o.redis.xgroup('CREATE', stream, this.o.group, '0', 'MKSTREAM');
      } catch (err) {
        if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
      }
    }
    // Blocking reads hold their connection, so they get their own, whose timeouts leave room for the BLOCK
    // time (a read blocks up to pollIntervalMs): a hanging master still ends the read, and tears the connection
    // down, within a bounded time.
    const commandTimeout =
      (this.o.redis.options.commandTimeout ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS) + this.o.pollIntervalMs;
    this.blocking = this.o.redis.duplicate({
      maxRetriesPerRequest: null,
      commandTimeout,
      socketTimeout: redisSocketTimeoutMs(commandTimeout),
    });
    watchRedis(this.blocking, this.o.logger);
    this.running = true;
    this.pendingDueAt = Date.now(); // a previous run of this process may have left entries pending
    this.claimDueAt = Date.now();
    this.loop = this.run(dispatcher);
  }

  async lag(): Promise<Array<{ stream: string; lag: number }>> {
    if (!this.running || isRedisLost(this.o.redis)) return [];
    const out: Array<{ stream: string; lag: number }> = [];
    for (const stream of this.streams) {
      const groups = (await this.o.redis.call('XINFO', 'GROUPS', stream)) as unknown[];
      for (const g of groups ?? []) {
        const info = groupInfo(g);
        if (info.name !== this.o.group) continue;
        // lag: entries not yet read by the group (null when Redis cannot tell, after trimming); pending: read
        // and not acknowledged. Together: not yet processed.
        if (info.lag === null || info.lag === undefined) continue;
        out.push({ stream: stream.slice(this.o.prefix.length), lag: Number(info.lag) + Number(info.pending ?? 0) });
      }
    }
    return out;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    // Interrupts a blocking read; a delivery in flight uses the main connection and finishes first.
    this.blocking?.disconnect();
    await this.loop;
    this.loop = undefined;
  }

  private async run(dispatcher: Dispatcher): Promise<void> {
    // Failures here are the Redis outage its connections already report: one line down, one back.
    const failures = loopFailures(this.o.logger, 'event bus consumer', redisOutage(this.o.redis, this.o.logger));
    while (this.running) {
      try {
        const batch = await this.nextBatch();
        failures.ok();
        for (const [stream, id, fields] of batch) {
          if (!this.running) break; // unhandled entries stay pending for the next run
          await this.handle(dispatcher, stream, id, fields);
        }
      } catch (err) {
        if (!this.running) break;
        failures.failed(err);
        await new Promise((r) => setTimeout(r, this.o.pollIntervalMs));
      }
    }
  }

  private async nextBatch(): Promise<Array<[string, string, string[] | null]>> {
    const now = Date.now();
    if (this.pendingDueAt && now >= this.pendingDueAt) {
      const own = this.flatten(
        await this.read(
          this.streams.map(() => '0'),
          0,
        ),
      );
      if (own.length) {
        this.pendingDueAt = now + this.o.pollIntervalMs;
        return own;
      }
      this.pendingDueAt = 0;
    }
    if (now >= this.claimDueAt) {
      this.claimDueAt = now + this.o.claimIdleMs;
      const claimed = await this.claimIdle();
      if (claimed.length) return claimed;
    }
    const until = Math.min(this.pendingDueAt || Infinity, this.claimDueAt);
    const block = Math.max(1, Math.min(this.o.pollIntervalMs, until - Date.now()));
    return this.flatten(
      await this.read(
        this.streams.map(() => '>'),
        block,
      ),
    );
  }

  private async read(ids: string[], blockMs: number): Promise<ReadReply> {
    const args: Array<string | number> = ['GROUP', this.o.group, this.consumer, 'COUNT', this.o.batchSize];
    if (blockMs > 0) args.push('BLOCK', blockMs);
    args.push('STREAMS', ...this.streams, ...ids);
    // The typed command, not call(): under RESP3 the raw reply is a map that ioredis reshapes into pairs.
    return (await (this.blocking as any).xreadgroup(...args)) as ReadReply;
  }

  private flatten(reply: ReadReply): Array<[string, string, string[] | null]> {
    const out: Array<[string, string, string[] | null]> = [];
    for (const [stream, entries] of reply ?? []) for (const [id, fields] of entries) out.push([stream, id, fields]);
    return out;
  }

  /** Takes over entries another consumer (a crashed replica) left pending longer than claimIdleMs. */
  private async claimIdle(): Promise<Array<[string, string, string[] | null]>> {
    const out: Array<[string, string, string[] | null]> = [];
    for (const stream of this.streams) {
      const reply = (await this.blocking!.call(
        'XAUTOCLAIM',
        stream,
        this.o.group,
        this.consumer,
        this.o.claimIdleMs,
        '0-0',
        'COUNT',
        this.o.batchSize,
      )) as [string, StreamEntry[], string[]?];
      for (const [id, fields] of reply[1] ?? []) out.push([stream, id, fields]);
    }
    if (out.length) this.pendingDueAt ||= Date.now() + this.o.pollIntervalMs;
    return out;
  }

  private async handle(dispatcher: Dispatcher, stream: string, id: string, fields: string[] | null): Promise<void> {
    const raw = field(fields, 'event');
    if (raw === undefined) {
      // Trimmed away while pending: nothing left to deliver.
      await this.o.redis.xack(stream, this.o.group, id);
      return;
    }
    let event: DomainEvent;
    try {
      event = dispatcher.check(raw);
    } catch (err) {
      await this.deadLetter(stream, id, raw, field(fields, 'type') ?? 'unknown', err as Error, 1, true);
      return;
    }
    try {
      const outcome = await dispatcher.deliver(event);
      await this.o.redis.xack(stream, this.o.group, id);
      this.o.metrics.consumed.inc({ type: event.type, outcome });
    } catch (err) {
      const deliveries = await this.deliveries(stream, id);
      if (deliveries >= this.o.maxDeliveries) {
        await this.deadLetter(stream, id, raw, event.type, err as Error, deliveries);
        return;
      }
      this.o.metrics.consumed.inc({ type: event.type, outcome: 'failed' });
      this.o.logger.warn({ err, eventId: event.id, type: event.type, deliveries }, 'event handler failed; will retry');
      this.pendingDueAt ||= Date.now() + this.o.pollIntervalMs;
    }
  }

  /** How often this entry has been delivered to the group (XREADGROUP re-reads and claims count too). */
  private async deliveries(stream: string, id: string): Promise<number> {
    const rows = (await this.o.redis.call('XPENDING', stream, this.o.group, id, id, 1)) as Array<
      [string, string, number, number]
    >;
    return rows[0] ? Number(rows[0][3]) : 1;
  }

  private async deadLetter(
    stream: string,
    id: string,
    raw: string,
    type: string,
    err: Error,
    deliveries: number,
    invalid = false,
  ): Promise<void> {
    await this.o.redis.xadd(
      deadStreamKey(this.o.prefix),
      'MAXLEN',
      '~',
      STREAM_MAX_LEN,
      '*',
      'type',
      type,
      'event',
      raw,
      'error',
      err.message ?? String(err),
      'stream',
      stream,
      'id',
      id,
      'group',
      this.o.group,
      'deliveries',
      String(deliveries),
    );
    await this.o.redis.xack(stream, this.o.group, id);
    this.o.metrics.consumed.inc({ type, outcome: 'dead' });
    this.o.metrics.deadLetters.inc({ type });
    this.o.logger.error(
      { err, type, streamId: id, stream, deliveries },
      invalid ? 'invalid event moved to the dead stream' : 'event moved to the dead stream after failed deliveries',
    );
  }
}
