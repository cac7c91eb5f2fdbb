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
  {
    // Login back-off per (account, client) as well as per account: the old per-e-mail counters become the
    // account-wide ones (the same failures, now held against a much higher threshold).
    name: '0002-login-failures-per-client',
    up: (tx) =>
      tx.query(`
        ALTER TABLE login_failures RENAME TO login_account_failures;
        ALTER TABLE login_account_failures RENAME CONSTRAINT login_failures_pkey TO login_account_failures_pkey;

        -- Consecutive failed logins per normalised e-mail (known or not) and client (IPv4 address or IPv6 /64).
        CREATE TABLE login_failures (
          email text NOT NULL,
          client text NOT NULL,
          failures integer NOT NULL,
          locked_until timestamptz,
          last_failure_at timestamptz,
          -- the client's last successful login to this account: it is not held by the account-wide lock
          last_success_at timestamptz,
          PRIMARY KEY (email, client)
        );
      `),
    down: (tx) =>
      tx.query(`
        DROP TABLE login_failures;
        ALTER TABLE login_account_failures RENAME CONSTRAINT login_account_failures_pkey TO login_failures_pkey;
        ALTER TABLE login_account_failures RENAME TO login_failures;
      `),
  },
  {
    name: '0003-refresh-grace-and-token-keys',
    up: (tx) =>
      tx.query(`
        -- A rotated token points at its successor, sealed under a key derived from the rotated token itself
        -- (never stored), so a duplicate refresh within the grace window gets the same successor back.
        ALTER TABLE refresh_tokens ADD COLUMN replaced_by uuid, ADD COLUMN successor_sealed bytea;

        -- Every access token issued: the key that signed it and the session (token family) it belongs to, until it
        -- expires, so removing a key can say how many live tokens and sessions it ends.
        CREATE TABLE access_token_issues (
          jti uuid PRIMARY KEY,
          kid text NOT NULL,
          family_id uuid NOT NULL,
          expires_at timestamptz NOT NULL
        );
        CREATE INDEX access_token_issues_kid ON access_token_issues (kid, expires_at);
      `),
    down: (tx) =>
      tx.query(`
        DROP TABLE access_token_issues;
        ALTER TABLE refresh_tokens DROP COLUMN successor_sealed, DROP COLUMN replaced_by;
      `),
  },
  {
    name: '0004-registration-conflicts',
    up: (tx) =>
      tx.query(`
        -- Registrations answered email-taken per client in the current window: enumerating accounts through the
        -- sign-up form is held to REGISTER_MAX_CONFLICTS per REGISTER_CONFLICT_WINDOW_SECONDS per client.
        CREATE TABLE registration_conflicts (
          client text PRIMARY KEY,
          conflicts integer NOT NULL,
          window_started_at timestamptz NOT NULL
        );
      `),
    down: (tx) => tx.query('DROP TABLE registration_conflicts;'),
  },
];
