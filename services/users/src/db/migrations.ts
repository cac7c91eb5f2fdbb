// Schema of the users database. The outbox comes first (platform), then this service's tables.
import { outboxMigrations, type Migration } from '@eventtickets/platform';

export const migrations: Migration[] = [
  ...outboxMigrations,
  {
    name: '0001-users',
    up: (tx) =>
      tx.query(`
        CREATE TABLE users (
          id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
          email text NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) <= 254),
          name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
          role text NOT NULL DEFAULT 'buyer' CHECK (role IN ('buyer', 'organizer', 'admin')),
          phone text,
          notification_prefs jsonb NOT NULL DEFAULT '{"email": true, "sms": false}'::jsonb,
          organizer_requested boolean NOT NULL DEFAULT false,
          password_hash text NOT NULL,
          -- millisecond precision so the list cursor (an ISO timestamp) is exact
          created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
          updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX users_created ON users (created_at DESC, id DESC);

        -- One row per issued refresh token; a login starts a family, every refresh adds one and spends the previous.
        CREATE TABLE refresh_tokens (
          id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
          family_id uuid NOT NULL,
          user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
          token_hash bytea NOT NULL UNIQUE,
          created_at timestamptz NOT NULL DEFAULT now(),
          expires_at timestamptz NOT NULL,
          rotated_at timestamptz,
          revoked_at timestamptz,
          revoke_reason text
        );
        CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
        CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

        -- Consecutive failed logins per normalised e-mail (known or not, so back-off reveals nothing).
        CREATE TABLE login_failures (
          email text PRIMARY KEY,
          failures integer NOT NULL,
          locked_until timestamptz,
          last_failure_at timestamptz NOT NULL DEFAULT now()
        );

        -- Access-token signing keys when JWT_PRIVATE_KEYS is not set: one signing, rotated-out ones still published.
        CREATE TABLE signing_keys (
          kid text PRIMARY KEY,
          alg text NOT NULL,
          private_jwk jsonb NOT NULL,
          public_jwk jsonb NOT NULL,
          status text NOT NULL CHECK (status IN ('signing', 'previous')),
          created_at timestamptz NOT NULL DEFAULT now(),
          rotated_at timestamptz
        );
        CREATE UNIQUE INDEX signing_keys_one_signing ON signing_keys (status) WHERE status = 'signing';
      `),
    down: (tx) =>
      tx.query('DROP TABLE signing_keys; DROP TABLE login_failures; DROP TABLE refresh_tokens; DROP TABLE users;'),
  },
];
