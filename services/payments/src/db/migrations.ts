// Payments schema. The money rules live here as much as in code: at most one intent per order is processing
// or succeeded (partial unique index), so an order is never charged twice; refunds never exceed the capture
// (CHECK, and the conditional UPDATE in refunds.ts); each provider event id is processed once (primary key).
// No column holds a card number or a CVC: a payment method keeps brand, last four, expiry and a provider token.
import { idempotencyMigrations, outboxMigrations, type Migration } from '@eventtickets/platform';

export const migrations: Migration[] = [
  ...outboxMigrations,
  // Idempotency-Key of POST /internal/intents and /refunds: the key row commits with what it created
  ...idempotencyMigrations,
  {
    name: '0001-payments-schema',
    up: (tx) =>
      tx.query(`
        CREATE TABLE payment_methods (
          method_id uuid PRIMARY KEY,
          user_id text NOT NULL,
          provider text NOT NULL,
          brand text NOT NULL,
          last4 text NOT NULL CHECK (last4 ~ '^[0-9]{4}$'),
          exp_month integer NOT NULL CHECK (exp_month BETWEEN 1 AND 12),
          exp_year integer NOT NULL,
          provider_token text NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX payment_methods_by_user ON payment_methods (user_id, created_at DESC);
        CREATE SEQUENCE receipt_numbers;
        CREATE TABLE payment_intents (
          intent_id uuid PRIMARY KEY,
          order_id text NOT NULL,
          user_id text NOT NULL,
          amount bigint NOT NULL CHECK (amount > 0), -- minor units
          currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
          description text,
          seller jsonb NOT NULL,
          lines jsonb NOT NULL,
          fees jsonb NOT NULL DEFAULT '[]'::jsonb,
          taxes jsonb NOT NULL DEFAULT '[]'::jsonb,
          status text NOT NULL DEFAULT 'requires_confirmation'
            CHECK (status IN ('requires_confirmation', 'processing', 'succeeded', 'failed')),
          provider text NOT NULL,
          payment_method_id uuid REFERENCES payment_methods(method_id),
          card_brand text,
          card_last4 text,
          provider_ref text,
          failure_reason text,
          refunded_amount bigint NOT NULL DEFAULT 0,
          receipt_number text UNIQUE,
          created_at timestamptz NOT NULL DEFAULT now(),
          updated_at timestamptz NOT NULL DEFAULT now(),
          succeeded_at timestamptz,
          CONSTRAINT refunds_within_capture CHECK (
            refunded_amount >= 0 AND refunded_amount <= amount AND (refunded_amount = 0 OR status = 'succeeded')
          ),
          CONSTRAINT confirmed_has_method CHECK ((status = 'requires_confirmation') = (payment_method_id IS NULL)),
          CONSTRAINT failed_has_reason CHECK ((status = 'failed') = (failure_reason IS NOT NULL)),
          CONSTRAINT succeeded_has_receipt CHECK (
            (status = 'succeeded') = (succeeded_at IS NOT NULL) AND (status = 'succeeded') = (receipt_number IS NOT NULL)
          )
        );
        -- An order is charged at most once: one of its intents at most is in flight or succeeded.
        CREATE UNIQUE INDEX one_live_intent_per_order ON payment_intents (order_id)
          WHERE status IN ('processing', 'succeeded');
        CREATE INDEX payment_intents_by_order ON payment_intents (order_id);
        CREATE TABLE refunds (
          refund_id uuid PRIMARY KEY,
          intent_id uuid NOT NULL REFERENCES payment_intents(intent_id),
          amount bigint NOT NULL CHECK (amount > 0),
          reason text,
          provider_ref text NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX refunds_by_intent ON refunds (intent_id, created_at);
        -- every webhook event id, once: a replay finds its row and changes nothing
        CREATE TABLE provider_events (
          provider text NOT NULL,
          event_id text NOT NULL,
          type text NOT NULL,
          intent_id uuid,
          received_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (provider, event_id)
        );
        -- The built-in PSP simulator's own side: its charge and refund ledger, and its durable webhook schedule
        -- (a worker delivers due webhooks over HTTP, retrying with back-off; it survives a restart).
        CREATE TABLE simulator_charges (
          charge_id text PRIMARY KEY,
          intent_id uuid NOT NULL UNIQUE, -- the idempotency key of a charge: one charge per intent
          amount bigint NOT NULL,
          currency text NOT NULL,
          outcome text NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE simulator_refunds (
          refund_ref text PRIMARY KEY,
          charge_id text NOT NULL REFERENCES simulator_charges(charge_id),
          amount bigint NOT NULL CHECK (amount > 0),
          created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE webhook_deliveries (
          delivery_id uuid PRIMARY KEY,
          provider text NOT NULL,
          event_id text NOT NULL UNIQUE,
          body text NOT NULL,
          due_at timestamptz NOT NULL,
          attempts integer NOT NULL DEFAULT 0,
          lease_until timestamptz,
          delivered_at timestamptz,
          last_status integer,
          last_error text,
          created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX webhook_deliveries_due ON webhook_deliveries (due_at) WHERE delivered_at IS NULL;
      `),
    down: (tx) =>
      tx.query(
        `DROP TABLE IF EXISTS webhook_deliveries, simulator_refunds, simulator_charges, provider_events, refunds,
         payment_intents, payment_methods; DROP SEQUENCE IF EXISTS receipt_numbers;`,
      ),
  },
];
