// Orders schema. One order per hold (unique), one live payment attempt per order at a time is payments'
// business; here the saga's state lives in orders.status and orders.saga_step so a worker can resume it.
import { idempotencyMigrations, outboxMigrations, type Migration } from '@eventtickets/platform';

export const migrations: Migration[] = [
  ...outboxMigrations,
  ...idempotencyMigrations,
  {
    name: '0001-orders-schema',
    up: (tx) =>
      tx.query(`
        -- What orders keeps of catalog's events (event.published): who organises, fee, tax, refund deadline.
        CREATE TABLE events (
          event_id text PRIMARY KEY,
          organizer_id text NOT NULL,
          title text NOT NULL,
          starts_at timestamptz NOT NULL,
          service_fee integer CHECK (service_fee >= 0),
          tax_rate numeric CHECK (tax_rate >= 0 AND tax_rate <= 100),
          refund_deadline timestamptz,
          cancelled_at timestamptz
        );
        CREATE TABLE orders (
          order_id uuid PRIMARY KEY,
          user_id text NOT NULL,
          event_id text NOT NULL,
          hold_id text NOT NULL,
          status text NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'processing', 'confirmed', 'failed', 'cancelled', 'expired')),
          -- the saga step still to do after a payment succeeded (NULL: nothing pending)
          saga_step text CHECK (saga_step IN ('confirm-hold', 'refund')),
          lines jsonb NOT NULL,
          fees jsonb NOT NULL,
          tax jsonb,
          amount integer NOT NULL CHECK (amount >= 0),
          currency text NOT NULL,
          payment_id text,
          failure_reason text,
          last_payment_error text,
          refunded_amount integer NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0),
          expires_at timestamptz NOT NULL,
          confirmed_at timestamptz,
          cancelled_at timestamptz,
          created_at timestamptz NOT NULL DEFAULT now(),
          updated_at timestamptz NOT NULL DEFAULT now(),
          CONSTRAINT one_order_per_hold UNIQUE (hold_id)
        );
        CREATE INDEX orders_user ON orders (user_id, created_at DESC);
        CREATE INDEX orders_event ON orders (event_id);
        CREATE INDEX orders_saga ON orders (saga_step) WHERE saga_step IS NOT NULL;
        CREATE TABLE tickets (
          ticket_id uuid PRIMARY KEY,
          order_id uuid NOT NULL REFERENCES orders(order_id),
          user_id text NOT NULL,
          event_id text NOT NULL,
          seat_id text,
          area_id text,
          place integer NOT NULL,
          label text NOT NULL,
          tier_id text NOT NULL,
          unit_amount integer NOT NULL,
          status text NOT NULL DEFAULT 'valid' CHECK (status IN ('valid', 'checked_in', 'void')),
          checked_in_at timestamptz,
          checked_in_by text,
          created_at timestamptz NOT NULL DEFAULT now(),
          -- issuing twice is impossible: one ticket per seat or GA place of an order
          CONSTRAINT one_ticket_per_place UNIQUE (order_id, place)
        );
        CREATE INDEX tickets_user ON tickets (user_id, created_at DESC);
        CREATE INDEX tickets_event ON tickets (event_id);`),
    down: (tx) => tx.query('DROP TABLE tickets; DROP TABLE orders; DROP TABLE events;'),
  },
  {
    // Cancellation and refunds (slice 4): a refunded status, the cancel step of the saga with its reason, and the
    // refund deadline snapshotted per order at order time.
    name: '0002-orders-cancellation',
    up: (tx) =>
      tx.query(`
        ALTER TABLE orders DROP CONSTRAINT orders_status_check;
        ALTER TABLE orders ADD CONSTRAINT orders_status_check
          CHECK (status IN ('pending', 'processing', 'confirmed', 'failed', 'cancelled', 'expired', 'refunded'));
        ALTER TABLE orders DROP CONSTRAINT orders_saga_step_check;
        ALTER TABLE orders ADD CONSTRAINT orders_saga_step_check
          CHECK (saga_step IN ('confirm-hold', 'refund', 'cancel-refund'));
        ALTER TABLE orders ADD COLUMN cancel_reason text CHECK (cancel_reason IN ('buyer-cancelled', 'event-cancelled'));
        ALTER TABLE orders ADD COLUMN refund_deadline timestamptz;`),
    down: (tx) =>
      tx.query(`
        ALTER TABLE orders DROP COLUMN refund_deadline;
        ALTER TABLE orders DROP COLUMN cancel_reason;
        ALTER TABLE orders DROP CONSTRAINT orders_saga_step_check;
        ALTER TABLE orders ADD CONSTRAINT orders_saga_step_check CHECK (saga_step IN ('confirm-hold', 'refund'));
        ALTER TABLE orders DROP CONSTRAINT orders_status_check;
        ALTER TABLE orders ADD CONSTRAINT orders_status_check
          CHECK (status IN ('pending', 'processing', 'confirmed', 'failed', 'cancelled', 'expired'));`),
  },
];
