// Test harness for the users service: a fresh database, the real app in-process on a free port, and an
// HTTP helper that checks every response against openapi.yaml.
import { expect } from 'chai';
import { createDatabase, createLogger, createMetrics, listen, migrate, QueryTypes, type RunningServer, type Sequelize, type Contract } from '@eventtickets/platform';
import { createTestDatabase, dropTestDatabase } from '@eventtickets/platform/testing/harness';
import { createApp, loadContract } from '../src/app.ts';
import { migrations } from '../src/db/migrations.ts';
import { createPasswordHasher, type PasswordHasher } from '../src/domain/passwords.ts';
import { databaseKeyStore, type SigningKeyStore } from '../src/use-cases/signing-keys.ts';
import type { UsersDeps } from '../src/deps.ts';

export interface Identity { userId: string; role: 'buyer' | 'organizer' | 'admin'; email?: string }

export interface Reply { status: number; body: any; headers: Headers }

export interface UsersHarness {
  url: string;
  dbUrl: string;
  db: Sequelize;
  deps: UsersDeps;
  contract: Contract;
  call: (method: string, path: string, opts?: { body?: unknown; rawBody?: string; identity?: Identity; headers?: Record<string, string> }) => Promise<Reply>;
  counts: () => Promise<Record<string, number | string>>;
  close: () => Promise<void>;
}

/** Lower scrypt cost than production (2^15) keeps the suite quick; the code path is the same. */
export const TEST_SCRYPT = { logN: 12, r: 8, p: 1 };

export async function startUsers(ctx: Mocha.Context, opts: { passwords?: PasswordHasher; keys?: SigningKeyStore; backoff?: UsersDeps['backoff'] } = {}): Promise<UsersHarness> {
  const dbUrl = await createTestDatabase(ctx, 'users');
  const db = createDatabase(dbUrl, { poolMax: 5 });
  await migrate(db, migrations);
  const contract = await loadContract();
  const deps: UsersDeps = {
    db,
    logger: createLogger('users', { level: 'silent' }),
    metrics: createMetrics('users', { collectDefault: false }),
    passwords: opts.passwords ?? (await createPasswordHasher(TEST_SCRYPT)),
    keys: opts.keys ?? (await databaseKeyStore(db)),
    accessTokens: { issuer: 'eventtickets', audience: 'eventtickets-api', ttlSeconds: 900 },
    refreshTokenTtlDays: 30,
    backoff: opts.backoff ?? { maxFailures: 5, baseSeconds: 30, maxSeconds: 900, forgetAfterSeconds: 86_400 },
  };
  const app = await createApp({ ...deps, contract });
  const server: RunningServer = await listen(app.callback(), 0);

  async function call(method: string, path: string, o: { body?: unknown; rawBody?: string; identity?: Identity; headers?: Record<string, string> } = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    let body: string | undefined = o.rawBody;
    if (o.body !== undefined) body = JSON.stringify(o.body);
    if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
    if (o.identity) {
      headers['x-user-id'] = o.identity.userId;
      headers['x-user-role'] = o.identity.role;
      if (o.identity.email) headers['x-user-email'] = o.identity.email;
    }
    const res = await fetch(server.url + path, { method, headers, body });
    const text = await res.text();
    const parsed = text ? JSON.parse(text) : null;
    const pathOnly = path.split('?')[0]!;
    // Every response (success or problem) must match the contract.
    expect(contract.responseErrors(method, pathOnly, res.status, parsed), `${method} ${path} → ${res.status} ${text}`).to.deep.equal([]);
    if (res.status >= 400) {
      expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
      expect(parsed.type).to.match(/^https:\/\/eventtickets\.dev\/problems\/[a-z0-9-]+$/);
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }

  async function counts(): Promise<Record<string, number | string>> {
    const rows = await db.query<Record<string, string>>(
      `SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM refresh_tokens) AS refresh_tokens,
              (SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NOT NULL OR rotated_at IS NOT NULL) AS spent_tokens,
              (SELECT count(*) FROM outbox) AS outbox, (SELECT count(*) FROM login_failures) AS login_failures,
              (SELECT count(*) FROM signing_keys) AS signing_keys,
              (SELECT coalesce(md5(string_agg(u::text, ',' ORDER BY id)), '') FROM users u) AS users_digest`,
      { type: QueryTypes.SELECT },
    );
    return Object.fromEntries(Object.entries(rows[0]!).map(([k, v]) => [k, k.endsWith("digest") ? v : Number(v)]));
  }

  return {
    url: server.url, dbUrl, db, deps, contract, call, counts,
    close: async () => {
      await server.close(1000);
      await db.close();
      await dropTestDatabase(dbUrl);
    },
  };
}

let seq = 0;
export function uniqueEmail(tag = 'user'): string {
  seq += 1;
  return `${tag}.${process.pid}.${seq}.${Date.now()}@example.org`;
}

export const PASSWORD = 'correct horse battery';

/** Registers a user through the API and returns the session body. */
export async function registerUser(h: UsersHarness, extra: Record<string, unknown> = {}): Promise<any> {
  const res = await h.call('POST', '/api/auth/register', { body: { email: uniqueEmail(), password: PASSWORD, name: 'Test User', ...extra } });
  expect(res.status, JSON.stringify(res.body)).to.equal(201);
  return res.body;
}

/** Makes a user admin directly in the database (how the demo seed or an operator creates the first admin). */
export async function makeAdmin(h: UsersHarness): Promise<Identity> {
  const session = await registerUser(h);
  await h.db.query("UPDATE users SET role = 'admin' WHERE id = :id", { replacements: { id: session.user.id } });
  return { userId: session.user.id, role: 'admin', email: session.user.email };
}
