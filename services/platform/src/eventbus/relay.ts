// Outbox relay: publishes a batch of unpublished rows and marks them published in one transaction. A crash
// between publishing and commit publishes the batch again later; consumers deduplicate on the event id.
import type { Sequelize } from 'sequelize';
import type { Logger } from 'pino';
import type { DomainEvent } from '../outbox.ts';
import type { BusMetrics } from './metrics.ts';
import { loopFailures } from '../outage.ts';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { contextFromHeaders, traceHeaders, tracer } from '../tracing.ts';

/** Sends events to the transport, in order; resolves once the transport holds them durably. */
export type Publish = (events: DomainEvent[]) => Promise<void>;

interface OutboxRow {
  seq: string;
  event_id: string;
  type: string;
  aggregate_id: string;
  payload: Record<string, unknown>;
  headers: Record<string, string>;
  occurred_at: Date;
}

// Transaction-scoped advisory lock: one relay at a time per service database keeps the published order
// equal to the outbox order even with many replicas (the others skip their turn).
const RELAY_LOCK = 727_002;

export class OutboxRelay {
  private readonly db: Sequelize;
  private readonly publish: Publish;
  private readonly metrics: BusMetrics;
  private readonly logger: Logger;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(opts: {
    db: Sequelize;
    publish: Publish;
    metrics: BusMetrics;
    logger: Logger;
    batchSize: number;
    pollIntervalMs: number;
  }) {
    this.db = opts.db;
    this.publish = opts.publish;
    this.metrics = opts.metrics;
    this.logger = opts.logger;
    this.batchSize = opts.batchSize;
    this.pollIntervalMs = opts.pollIntervalMs;
  }

  async relayOnce(): Promise<number> {
    try {
      return await this.relayBatch();
    } finally {
      // Also (especially) after a failed batch: lag is what alerts when the transport is down.
      await this.updateLag().catch(() => undefined); // the database is down: the relay's own failure says so
    }
  }

  private async relayBatch(): Promise<number> {
    const published = await this.db.transaction(async (t): Promise<DomainEvent[]> => {
      const [[lock]] = (await this.db.query('SELECT pg_try_advisory_xact_lock($1) AS ok', {
        transaction: t,
        bind: [RELAY_LOCK],
      })) as [Array<{ ok: boolean }>, unknown];
      if (!lock.ok) return [];
      const [rows] = (await this.db.query(
        `SELECT seq, event_id, type, aggregate_id, payload, headers, occurred_at FROM outbox
          WHERE published_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED`,
        { transaction: t, bind: [this.batchSize] },
      )) as [OutboxRow[], unknown];
      if (rows.length === 0) return [];
      const events: DomainEvent[] = rows.map((r) => ({
        id: r.event_id,
        type: r.type,
        aggregateId: r.aggregate_id,
        payload: r.payload,
        headers: r.headers ?? {},
        occurredAt: new Date(r.occurred_at).toISOString(),
      }));
      // One producer span per event, the child of the request that enqueued it; the message carries this span's
      // traceparent, so each consumer's process span continues the same trace (one trace per purchase).
      const spans = events.map((e) => startPublishSpan(e));
      try {
        await this.publish(events);
      } catch (err) {
        for (const span of spans) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
          span.end();
        }
        throw err;
      }
      for (const span of spans) span.end();
      await this.db.query('UPDATE outbox SET published_at = now() WHERE seq = ANY($1::bigint[])', {
        transaction: t,
        bind: [rows.map((r) => r.seq)],
      });
      return events;
    });
    // Counted after commit: a rolled-back batch was not published as far as the outbox is concerned.
    for (const e of published) this.metrics.published.inc({ type: e.type });
    return published.length;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const failures = loopFailures(this.logger, 'outbox relay');
    this.loop = (async () => {
      while (this.running) {
        let published = 0;
        try {
          published = await this.relayOnce();
          failures.ok();
        } catch (err) {
          failures.failed(err);
        }
        // A full batch means more is waiting: go again at once.
        if (published < this.batchSize && this.running) await this.pause();
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
  }

  private pause(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.pollIntervalMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private async updateLag(): Promise<void> {
    const [[row]] = (await this.db.query(
      `SELECT COALESCE(EXTRACT(EPOCH FROM now() - occurred_at), 0)::float8 AS lag FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT 1`,
    )) as [Array<{ lag: number }>, unknown];
    this.metrics.outboxLag.set(row ? Math.max(0, Number(row.lag)) : 0);
  }
}

/** Starts the producer span of one relayed event and points the event's trace headers at it. */
function startPublishSpan(e: DomainEvent): Span {
  const origin = contextFromHeaders(e.headers, ROOT_CONTEXT);
  const span = tracer().startSpan(
    `${e.type} publish`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.operation': 'publish',
        'messaging.message.id': e.id,
        'messaging.destination.name': e.type,
      },
    },
    origin,
  );
  const headers = traceHeaders(trace.setSpan(origin, span));
  if (headers.traceparent) e.headers = { ...e.headers, ...headers };
  return span;
}
