// Inventory schema. The seat invariant lives here as much as in code: a seat row carries at most one hold id,
// its status and hold id must agree (CHECK), and GA counters can never exceed capacity (CHECK), so even a
// write that slipped past an expired lock cannot double-hold or oversell.
import { idempotencyMigrations, outboxMigrations, type Migration } from '@eventtickets/platform';

export const migrations: Migration[] = [
  ...outboxMigrations,
  // POST /api/holds with an Idempotency-Key: the key row commits with the hold it created
  ...idempotencyMigrations,
  {
    name: '0001-inventory-schema',
    up: (tx) =>
      tx.query(`
        CREATE TABLE events (
          event_id text PRIMARY KEY,
          organizer_id text,
          title text NOT NULL,
          status text NOT NULL DEFAULT 'published' CHECK (status IN ('published', 'cancelled')),
          sales_start_at timestamptz,
          sales_end_at timestamptz,
          reservation_minutes integer NOT NULL CHECK (reservation_minutes > 0),
          max_seats_per_order integer NOT NULL CHECK (max_seats_per_order > 0),
          -- bumped in the same transaction as every availability change; SSE ids and snapshot versions
          seq bigint NOT NULL DEFAULT 0,
          created_at timestamptz NOT NULL DEFAULT now(),
          cancelled_at timestamptz
        );
        CREATE TABLE tiers (
          event_id text NOT NULL REFERENCES events(event_id),
          tier_id text NOT NULL,
          name text NOT NULL,
          amount bigint NOT NULL CHECK (amount >= 0), -- minor units (cents), as catalog publishes them
          currency text NOT NULL,
          PRIMARY KEY (event_id, tier_id)
        );
        CREATE TABLE holds (
          hold_id uuid PRIMARY KEY,
          event_id text NOT NULL REFERENCES events(event_id),
          user_id text NOT NULL,
          status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'confirmed', 'released', 'expired')),
          created_at timestamptz NOT NULL DEFAULT now(),
          expires_at timestamptz NOT NULL,
          ended_at timestamptz,
          end_reason text CHECK (end_reason IN ('released', 'expired', 'event-cancelled')),
          confirmed_at timestamptz,
          order_id text,
          CHECK ((status = 'confirmed') = (confirmed_at IS NOT NULL)),
          CHECK ((status IN ('released', 'expired')) = (ended_at IS NOT NULL))
        );
        CREATE INDEX holds_expiring ON holds (expires_at) WHERE status = 'active';
        CREATE INDEX holds_by_event_active ON holds (event_id) WHERE status = 'active';
        CREATE TABLE seats (
          event_id text NOT NULL REFERENCES events(event_id),
          seat_id text NOT NULL,
          label text NOT NULL,
          section text,
          row_label text,
          tier_id text NOT NULL,
          x double precision,
          y double precision,
          status text NOT NULL DEFAULT 'available' CHECK (status IN ('available', 'held', 'sold', 'void')),
          hold_id uuid REFERENCES holds(hold_id),
          version integer NOT NULL DEFAULT 0,
          PRIMARY KEY (event_id, seat_id),
          FOREIGN KEY (event_id, tier_id) REFERENCES tiers(event_id, tier_id),
          -- a held or sold seat names exactly one hold; an available seat names none
          CHECK (
            (status = 'available' AND hold_id IS NULL)
            OR (status IN ('held', 'sold') AND hold_id IS NOT NULL)
            OR status = 'void'
          )
        );
        CREATE INDEX seats_by_hold ON seats (hold_id) WHERE hold_id IS NOT NULL;
        CREATE TABLE hold_seats (
          hold_id uuid NOT NULL REFERENCES holds(hold_id),
          event_id text NOT NULL,
          seat_id text NOT NULL,
          PRIMARY KEY (hold_id, seat_id),
          FOREIGN KEY (event_id, seat_id) REFERENCES seats(event_id, seat_id)
        );
        CREATE TABLE ga_areas (
          event_id text NOT NULL REFERENCES events(event_id),
          area_id text NOT NULL,
          name text NOT NULL,
          tier_id text NOT NULL,
          capacity integer NOT NULL CHECK (capacity >= 0),
          held integer NOT NULL DEFAULT 0 CHECK (held >= 0),
          sold integer NOT NULL DEFAULT 0 CHECK (sold >= 0),
          version integer NOT NULL DEFAULT 0,
          PRIMARY KEY (event_id, area_id),
          FOREIGN KEY (event_id, tier_id) REFERENCES tiers(event_id, tier_id),
          CONSTRAINT ga_within_capacity CHECK (sold + held <= capacity)
        );
        CREATE TABLE hold_ga (
          hold_id uuid NOT NULL REFERENCES holds(hold_id),
          event_id text NOT NULL,
          area_id text NOT NULL,
          quantity integer NOT NULL CHECK (quantity > 0),
          PRIMARY KEY (hold_id, area_id),
          FOREIGN KEY (event_id, area_id) REFERENCES ga_areas(event_id, area_id)
        );
        -- per-event change log: SSE clients resume from Last-Event-ID by replaying it
        CREATE TABLE availability_changes (
          event_id text NOT NULL REFERENCES events(event_id),
          seq bigint NOT NULL,
          change jsonb NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (event_id, seq)
        );
        CREATE INDEX availability_changes_age ON availability_changes (created_at);
      `),
    down: (tx) =>
      tx.query('DROP TABLE IF EXISTS availability_changes, hold_ga, ga_areas, hold_seats, seats, holds, tiers, events'),
  },
  {
    // event.cancelled can be handled before event.published (a failed delivery of the publication is
    // retried later): the cancellation is remembered so the late publication materialises a cancelled event.
    name: '0002-event-cancellations',
    up: (tx) =>
      tx.query(`
        CREATE TABLE event_cancellations (
          event_id text PRIMARY KEY,
          cancelled_at timestamptz NOT NULL DEFAULT now()
        );
      `),
    down: (tx) => tx.query('DROP TABLE IF EXISTS event_cancellations'),
  },
  {
    // Orders always confirm with their order id (the contract requires it): a confirmed hold names its order.
    // NOT VALID: enforced for every new confirmation without rejecting rows confirmed before it existed.
    name: '0003-confirmed-hold-has-order',
    up: (tx) =>
      tx.query(
        "ALTER TABLE holds ADD CONSTRAINT confirmed_hold_has_order CHECK (status <> 'confirmed' OR order_id IS NOT NULL) NOT VALID",
      ),
    down: (tx) => tx.query('ALTER TABLE holds DROP CONSTRAINT IF EXISTS confirmed_hold_has_order'),
  },
  {
    // The change log is numbered after commit (issue 14): a writing transaction inserts its change with no
    // sequence number (id orders it), and the sequencer gives each event's committed changes the next
    // numbers in id order, bumping events.seq once per batch. No hold transaction touches the events row.
    name: '0004-change-log-numbered-after-commit',
    up: (tx) =>
      tx.query(`
        ALTER TABLE availability_changes DROP CONSTRAINT availability_changes_pkey;
        ALTER TABLE availability_changes ADD COLUMN id bigserial PRIMARY KEY;
        ALTER TABLE availability_changes ALTER COLUMN seq DROP NOT NULL;
        CREATE UNIQUE INDEX availability_changes_by_seq ON availability_changes (event_id, seq) WHERE seq IS NOT NULL;
        CREATE INDEX availability_changes_unnumbered ON availability_changes (id) WHERE seq IS NULL;
      `),
    down: (tx) =>
      tx.query(`
        DELETE FROM availability_changes WHERE seq IS NULL;
        DROP INDEX IF EXISTS availability_changes_unnumbered;
        DROP INDEX IF EXISTS availability_changes_by_seq;
        ALTER TABLE availability_changes DROP CONSTRAINT availability_changes_pkey;
        ALTER TABLE availability_changes DROP COLUMN id;
        ALTER TABLE availability_changes ALTER COLUMN seq SET NOT NULL;
        ALTER TABLE availability_changes ADD PRIMARY KEY (event_id, seq);
      `),
  },
  {
    // A confirmed hold whose order was cancelled gives its sold places back once (returned_at is the marker).
    name: '0005-hold-returned',
    up: (tx) => tx.query('ALTER TABLE holds ADD COLUMN returned_at timestamptz'),
    down: (tx) => tx.query('ALTER TABLE holds DROP COLUMN IF EXISTS returned_at'),
  },
];
