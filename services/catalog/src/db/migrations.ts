// Catalog schema. Seat maps are documents (validated as a whole by the domain, read as a whole by clients),
// so they live in jsonb; what is searched, filtered and sorted on is in columns with indexes.
import { outboxMigrations, type Migration } from '@eventtickets/platform';

export const migrations: Migration[] = [
  ...outboxMigrations,
  {
    name: '0001-catalog-venues-events',
    up: (tx) =>
      tx.query(`
        CREATE TABLE venues (
          id uuid PRIMARY KEY,
          organizer_id text NOT NULL,
          name text NOT NULL,
          city text NOT NULL,
          address text NOT NULL DEFAULT '',
          time_zone text NOT NULL,
          seat_map jsonb NOT NULL,
          seat_count integer NOT NULL CHECK (seat_count >= 0),
          ga_capacity integer NOT NULL CHECK (ga_capacity >= 0),
          created_at timestamptz NOT NULL DEFAULT now(),
          updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX venues_organizer ON venues (organizer_id, created_at DESC);

        CREATE TABLE events (
          id uuid PRIMARY KEY,
          organizer_id text NOT NULL,
          venue_id uuid NOT NULL REFERENCES venues (id),
          -- copied from the venue so search and the city filter need no join (kept in step on venue edits)
          venue_name text NOT NULL,
          city text NOT NULL,
          time_zone text NOT NULL,
          title text NOT NULL,
          description text NOT NULL DEFAULT '',
          category text NOT NULL,
          image_url text,
          starts_at timestamptz NOT NULL,
          ends_at timestamptz NOT NULL,
          sales_start_at timestamptz NOT NULL,
          sales_end_at timestamptz NOT NULL,
          reservation_minutes integer NOT NULL DEFAULT 10 CHECK (reservation_minutes BETWEEN 1 AND 60),
          max_seats_per_order integer NOT NULL DEFAULT 8 CHECK (max_seats_per_order BETWEEN 1 AND 50),
          status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'cancelled')),
          tiers jsonb NOT NULL DEFAULT '[]'::jsonb,
          -- the venue's seat map frozen at publish: later venue edits never move sold seats
          seat_map_snapshot jsonb,
          published_at timestamptz,
          cancelled_at timestamptz,
          created_at timestamptz NOT NULL DEFAULT now(),
          updated_at timestamptz NOT NULL DEFAULT now(),
          search tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('english', title), 'A') ||
            setweight(to_tsvector('english', venue_name || ' ' || city || ' ' || category), 'B') ||
            setweight(to_tsvector('english', description), 'C')
          ) STORED,
          CHECK (ends_at > starts_at),
          CHECK (sales_end_at > sales_start_at AND sales_end_at <= ends_at),
          CHECK (status <> 'published' OR seat_map_snapshot IS NOT NULL)
        );
        CREATE INDEX events_search ON events USING gin (search);
        CREATE INDEX events_public_keyset ON events (starts_at, id) WHERE status = 'published';
        CREATE INDEX events_city ON events (lower(city)) WHERE status = 'published';
        CREATE INDEX events_organizer ON events (organizer_id, starts_at, id);
        CREATE INDEX events_venue ON events (venue_id) WHERE status = 'published';`),
    down: (tx) => tx.query('DROP TABLE IF EXISTS events; DROP TABLE IF EXISTS venues;'),
  },
];
