// Notifications schema: what it keeps of other services' events (contacts from users, event titles from
// catalog, orders from orders) and the delivery log. One message per (source event, channel, recipient):
// a redelivered event can never add a second one.
import { outboxMigrations, type Migration } from '@eventtickets/platform';

export const migrations: Migration[] = [
  ...outboxMigrations,
  {
    name: '0001-notifications-schema',
    up: (tx) =>
      tx.query(`
        -- user.registered / user.updated: where and how a user wants to be told
        CREATE TABLE contacts (
          user_id text PRIMARY KEY,
          email text NOT NULL,
          name text NOT NULL,
          phone text,
          email_enabled boolean NOT NULL,
          sms_enabled boolean NOT NULL,
          updated_at timestamptz NOT NULL DEFAULT now()
        );
        -- event.published: what a message says about the event
        CREATE TABLE events (
          event_id text PRIMARY KEY,
          title text NOT NULL,
          venue_name text NOT NULL,
          time_zone text NOT NULL,
          starts_at timestamptz NOT NULL,
          cancelled_at timestamptz
        );
        -- order.created / order.confirmed / order.refunded: whose order it is, and the ticket holders of an
        -- event (event.cancelled tells every holder)
        CREATE TABLE orders (
          order_id text PRIMARY KEY,
          user_id text NOT NULL,
          event_id text NOT NULL,
          status text NOT NULL CHECK (status IN ('created', 'confirmed', 'refunded')),
          totals jsonb NOT NULL DEFAULT '[]'::jsonb
        );
        CREATE INDEX orders_event ON orders (event_id) WHERE status = 'confirmed';
        -- the delivery log: one row per message
        CREATE TABLE messages (
          message_id uuid PRIMARY KEY,
          source_event_id text NOT NULL,
          kind text NOT NULL CHECK (kind IN ('order-confirmed', 'payment-failed', 'order-refunded', 'event-cancelled')),
          channel text NOT NULL CHECK (channel IN ('email', 'sms')),
          user_id text NOT NULL,
          address text NOT NULL,
          subject text NOT NULL,
          data jsonb NOT NULL,
          status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'dead')),
          attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
          next_attempt_at timestamptz NOT NULL DEFAULT now(),
          last_error text,
          provider_id text,
          created_at timestamptz NOT NULL DEFAULT now(),
          sent_at timestamptz,
          updated_at timestamptz NOT NULL DEFAULT now(),
          CONSTRAINT one_message_per_event_channel_recipient UNIQUE (source_event_id, channel, user_id)
        );
        CREATE INDEX messages_due ON messages (next_attempt_at) WHERE status IN ('pending', 'failed');
        CREATE INDEX messages_user ON messages (user_id, created_at DESC);`),
    down: (tx) => tx.query('DROP TABLE messages; DROP TABLE orders; DROP TABLE events; DROP TABLE contacts;'),
  },
  {
    // Messages for a user whose contact is not known yet (their user.registered is still behind on its stream,
    // e.g. a fresh notifications reading history): planned when the contact arrives, in that transaction.
    name: '0002-deferred-messages',
    up: (tx) =>
      tx.query(`
        CREATE TABLE deferred_messages (
          source_event_id text NOT NULL,
          kind text NOT NULL,
          user_id text NOT NULL,
          facts jsonb NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (user_id, source_event_id)
        );`),
    down: (tx) => tx.query('DROP TABLE deferred_messages;'),
  },
];
