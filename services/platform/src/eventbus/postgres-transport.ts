// Postgres transport for the no-Redis local mode: relays append to bus_events in one shared bus database;
// each consumer group keeps a cursor in bus_cursors that advances only after the handler committed.
// Appends are serialised by an advisory lock so sequence order equals commit order and a cursor never
// skips an event that committed late. LISTEN/NOTIFY wakes consumers; polling covers a lost notification.
import pg from 'pg';
import type { Logger } from 'pino';
import type { Sequelize } from 'sequelize';
import { createDatabase } from '../db.ts';
import type { DomainEvent } from '../outbox.ts';
import { rawEventType, type Dispatcher } from './deliver.ts';
import { loopFailures } from '../outage.ts';
import type { BusMetrics } from './metrics.ts';
import type { Transport } from './transport.ts';

const APPEND_LOCK = 727_003;
const SCHEMA_LOCK = 727_004;
const CHANNEL = 'et_bus_events';

export const busSchema = `
  CREATE TABLE IF NOT EXISTS bus_events (
    seq bigserial PRIMARY KEY,
    event_id uuid NOT NULL UNIQUE,
    type text NOT NULL,
    event jsonb NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE TABLE IF NOT EXISTS bus_cursors (
    consumer text PRIMARY KEY,
    last_seq bigint NOT NULL DEFAULT 0,
    failing_seq bigint,
    failures integer NOT NULL DEFAULT 0
  );
  CREATE TABLE IF NOT EXISTS bus_dead (
    consumer text NOT NULL,
    seq bigint NOT NULL,
    event jsonb NOT NULL,
    error text NOT NULL,
    deliveries integer NOT NULL,
    dead_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, seq)
  );`;

export interface PostgresTransportOptions {
  url: string;
  group: string;
  logger: Logger;
  metrics: BusMetrics;
  batchSize: number;
  pollIntervalMs: number;
  maxDeliveries: number;
}

interface Cursor {
  last_seq: string;
  failing_seq: string | null;
  failures: number;
}

export class PostgresTransport implements Transport {
  private readonly o: PostgresTransportOptions;
  private readonly bus: Sequelize;
  private schema: Promise<void> | undefined;
  private listener: pg.Client | undefined;
  private running = false;
  private types: string[] = [];
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(opts: PostgresTransportOptions) {
    this.o = opts;
    this.bus = createDatabase(opts.url, { poolMax: 4 });
  }

  private ready(): Promise<void> {
    this.schema ??= this.bus.transaction(async (t) => {
      // Concurrent CREATE TABLE IF NOT EXISTS can still collide on the catalog; serialise the starters.
      await this.bus.query('SELECT pg_advisory_xact_lock($1)', { transaction: t, bind: [SCHEMA_LOCK] });
      await this.bus.query(busSchema, { transaction: t });
    });
    return this.schema;
  }

  async publish(events: DomainEvent[]): Promise<void> {
    await this.ready();
    await this.bus.transaction(async (t) => {
      await this.bus.query('SELECT pg_advisory_xact_lock($1)', { transaction: t, bind: [APPEND_LOCK] });
      for (const e of events) {
        // A relay that crashed before marking its batch publishes it again; the event id makes that a no-op.
        await this.bus.query(
          'INSERT INTO bus_events (event_id, type, event) VALUES ($1, $2, $3) ON CONFLICT (event_id) DO NOTHING',
          {
            transaction: t,
            bind: [e.id, e.type, JSON.stringify(e)],
          },
        );
      }
      await this.bus.query('SELECT pg_notify($1, $2)', { transaction: t, bind: [CHANNEL, String(events.length)] });
    });
  }

  async startConsuming(dispatcher: Dispatcher): Promise<void> {
    await this.ready();
    await this.bus.query('INSERT INTO bus_cursors (consumer) VALUES ($1) ON CONFLICT DO NOTHING', {
      bind: [this.o.group],
    });
    await this.listen();
    this.types = dispatcher.types;
    this.running = true;
    this.loop = this.run(dispatcher);
  }

  async lag(): Promise<Array<{ stream: string; lag: number }>> {
    if (!this.running || !this.types.length) return [];
    const [rows] = (await this.bus.query(
      `SELECT split_part(e.type, '.', 1) AS stream, count(*)::int AS lag
         FROM bus_events e, bus_cursors c
        WHERE c.consumer = $1 AND e.seq > c.last_seq AND e.type = ANY($2)
        GROUP BY 1`,
      { bind: [this.o.group, this.types] },
    )) as [Array<{ stream: string; lag: number }>, unknown];
    const lags = new Map(rows.map((r) => [r.stream, Number(r.lag)]));
    return [...new Set(this.types.map((t) => t.split('.')[0]!))].map((stream) => ({
      stream: `events.${stream}`,
      lag: lags.get(stream) ?? 0,
    }));
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
    await this.listener?.end().catch(() => undefined);
    this.listener = undefined;
    await this.bus.close();
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.o.url });
    client.on('error', (err) => this.o.logger.warn({ err }, 'event bus: LISTEN connection lost; polling only'));
    client.on('notification', () => this.wake?.());
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      this.listener = client;
    } catch (err) {
      this.o.logger.warn({ err }, 'event bus: LISTEN unavailable; polling only');
      await client.end().catch(() => undefined);
    }
  }

  private async run(dispatcher: Dispatcher): Promise<void> {
    const failures = loopFailures(this.o.logger, 'event bus consumer');
    while (this.running) {
      let progressed = false;
      try {
        progressed = await this.pollOnce(dispatcher);
        failures.ok();
      } catch (err) {
        if (!this.running) break;
        failures.failed(err);
      }
      if (!progressed && this.running) await this.pause();
    }
  }

  private pause(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.o.pollIntervalMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  /** Delivers the next batch after this group's cursor; true when the cursor moved. */
  private async pollOnce(dispatcher: Dispatcher): Promise<boolean> {
    return this.bus.transaction(async (t) => {
      // One replica per group at a time; the others skip their turn instead of queueing on the row lock.
      const [cursors] = (await this.bus.query(
        'SELECT last_seq, failing_seq, failures FROM bus_cursors WHERE consumer = $1 FOR UPDATE SKIP LOCKED',
        {
          transaction: t,
          bind: [this.o.group],
        },
      )) as [Cursor[], unknown];
      const cursor = cursors[0];
      if (!cursor) return false;
      const [rows] = (await this.bus.query('SELECT seq, event FROM bus_events WHERE seq > $1 ORDER BY seq LIMIT $2', {
        transaction: t,
        bind: [cursor.last_seq, this.o.batchSize],
      })) as [Array<{ seq: string; event: unknown }>, unknown];
      let last = cursor.last_seq;
      let failures = cursor.failures;
      let failingSeq = cursor.failing_seq;
      for (const row of rows) {
        if (!this.running) break; // stop: leave the rest for the next run
        let event: DomainEvent | undefined;
        let invalid: Error | undefined;
        try {
          event = dispatcher.check(row.event);
        } catch (err) {
          invalid = err as Error; // not an event, or fails its catalogue schema: dead at once
        }
        let failed: Error | undefined = invalid;
        let deliveries = 1;
        if (event) {
          try {
            const outcome = await dispatcher.deliver(event);
            this.o.metrics.consumed.inc({ type: event.type, outcome });
          } catch (err) {
            failed = err as Error;
            deliveries = (failingSeq === row.seq ? failures : 0) + 1;
            if (deliveries < this.o.maxDeliveries) {
              // The group stops at the failing event (order is kept) and tries it again on the next poll.
              this.o.metrics.consumed.inc({ type: event.type, outcome: 'failed' });
              this.o.logger.warn(
                { err, eventId: event.id, type: event.type, deliveries },
                'event handler failed; will retry',
              );
              failingSeq = row.seq;
              failures = deliveries;
              break;
            }
          }
        }
        if (failed) {
          const type = event?.type ?? rawEventType(row.event);
          await this.bus.query(
            'INSERT INTO bus_dead (consumer, seq, event, error, deliveries) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
            {
              transaction: t,
              bind: [this.o.group, row.seq, JSON.stringify(row.event), failed.message ?? String(failed), deliveries],
            },
          );
          this.o.metrics.consumed.inc({ type, outcome: 'dead' });
          this.o.metrics.deadLetters.inc({ type });
          this.o.logger.error(
            { err: failed, type, seq: row.seq, deliveries },
            invalid ? 'invalid event moved to bus_dead' : 'event moved to bus_dead after failed deliveries',
          );
        }
        last = row.seq;
        failingSeq = null;
        failures = 0;
      }
      await this.bus.query(
        'UPDATE bus_cursors SET last_seq = $2, failing_seq = $3, failures = $4 WHERE consumer = $1',
        {
          transaction: t,
          bind: [this.o.group, last, failingSeq, failures],
        },
      );
      return last !== cursor.last_seq;
    });
  }
}
