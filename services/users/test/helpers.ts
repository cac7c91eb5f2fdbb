// Test harness for the users service: a fresh database, the service built as main.ts builds it (createDeps,
// migrations, start-up steps, createApp) in-process on a free port, and the test kit's contract client, which
// checks every response against openapi.yaml.
import { expect } from 'chai';
import {
  createLogger,
  createMetrics,
  listen,
  loadConfig,
  migrate,
  QueryTypes,
  type Contract,
  type RunningServer,
  type Sequelize,
} from '@eventtickets/platform';
import {
  createContractClient,
  createTestDatabase,
  dropTestDatabase,
  TEST_INTERNAL_TOKEN_SECRET,
  type Reply,
} from '@eventtickets/platform/testing';
import { createApp, loadContract } from '../src/app.ts';
import { configSchema } from '../src/config.ts';
import { migrations } from '../src/db/migrations.ts';
import { createDeps, type DepsOverrides, type UsersDeps } from '../src/deps.ts';
import { prepareStart } from '../src/use-cases/start-up.ts';

export type { Reply };

export interface Identity {
  userId: string;
  role: 'buyer' | 'organizer' | 'admin';
  email?: string;
}

export interface CallOptions {
  body?: unknown;
  rawBody?: string;
  identity?: Identity;
  headers?: Record<string, string>;
}

export interface UsersHarness {
  url: string;
  dbUrl: string;
  db: Sequelize;
  deps: UsersDeps;
  contract: Contract;
  call: (method: string, path: string, opts?: CallOptions) => Promise<Reply>;
  counts: () => Promise<Record<string, number | string>>;
  close: () => Promise<void>;
}

/** Lower scrypt cost than production (2^15) keeps the suite quick; the code path is the same. */
export const TEST_SCRYPT = { logN: 12, r: 8, p: 1 };

export interface StartOptions extends Pick<DepsOverrides, 'passwords' | 'keys'> {
  /** Login back-off settings (each one given becomes its configuration variable). */
  backoff?: Partial<UsersDeps['backoff']>;
  /** Further configuration variables, as the environment would give them. */
  env?: Record<string, string>;
}

export async function startUsers(ctx: Mocha.Context, opts: StartOptions = {}): Promise<UsersHarness> {
  const dbUrl = await createTestDatabase(ctx, 'users');
  const b = opts.backoff ?? {};
  const backoff = Object.fromEntries(
    Object.entries({
      LOGIN_MAX_FAILURES: b.maxFailures,
      LOGIN_BACKOFF_SECONDS: b.baseSeconds,
      LOGIN_BACKOFF_MAX_SECONDS: b.maxSeconds,
      LOGIN_FAILURES_FORGET_AFTER_SECONDS: b.forgetAfterSeconds,
      LOGIN_ACCOUNT_MAX_FAILURES: b.accountMaxFailures,
      LOGIN_KNOWN_CLIENT_DAYS: b.knownClientSeconds === undefined ? undefined : b.knownClientSeconds / 86_400,
    })
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, String(v)]),
  );
  // No Redis: the suite's own database doubles as the bus database (the relay is not started here; main.test.ts runs it).
  const config = loadConfig(configSchema, {
    DATABASE_URL: dbUrl,
    BUS_DATABASE_URL: dbUrl,
    SCRYPT_LOG_N: String(TEST_SCRYPT.logN),
    INTERNAL_TOKEN_SECRET: TEST_INTERNAL_TOKEN_SECRET,
    ...backoff,
    ...opts.env,
  });
  const deps = await createDeps(config, {
    logger: createLogger('users', { level: 'silent' }),
    metrics: createMetrics('users', { collectDefault: false }),
    passwords: opts.passwords,
    keys: opts.keys,
  });
  await migrate(deps.db, migrations);
  await prepareStart(deps);
  const contract = await loadContract();
  const app = await createApp(deps);
  const server: RunningServer = await listen(app.callback(), 0);
  const client = createContractClient(server.url, contract, { service: 'users' });

  const call = (method: string, path: string, o: CallOptions = {}): Promise<Reply> =>
    client(method, path, { body: o.body, rawBody: o.rawBody, headers: o.headers, as: o.identity });

  async function counts(): Promise<Record<string, number | string>> {
    const rows = await deps.db.query<Record<string, string>>(
      `SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM refresh_tokens) AS refresh_tokens,
              (SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NOT NULL OR rotated_at IS NOT NULL) AS spent_tokens,
              (SELECT count(*) FROM outbox) AS outbox, (SELECT count(*) FROM login_failures) AS login_failures,
              (SELECT count(*) FROM login_account_failures) AS login_account_failures,
              (SELECT count(*) FROM signing_keys) AS signing_keys,
              (SELECT coalesce(md5(string_agg(u::text, ',' ORDER BY id)), '') FROM users u) AS users_digest`,
      { type: QueryTypes.SELECT },
    );
    return Object.fromEntries(Object.entries(rows[0]!).map(([k, v]) => [k, k.endsWith('digest') ? v : Number(v)]));
  }

  return {
    url: server.url,
    dbUrl,
    db: deps.db,
    deps,
    contract,
    call,
    counts,
    close: async () => {
      await server.close(1000);
      await deps.close();
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
  const res = await h.call('POST', '/api/auth/register', {
    body: { email: uniqueEmail(), password: PASSWORD, name: 'Test User', ...extra },
  });
  expect(res.status, JSON.stringify(res.body)).to.equal(201);
  return res.body;
}

/** Makes a user admin directly in the database (how the demo seed or an operator creates the first admin). */
export async function makeAdmin(h: UsersHarness): Promise<Identity> {
  const session = await registerUser(h);
  await h.db.query("UPDATE users SET role = 'admin' WHERE id = :id", { replacements: { id: session.user.id } });
  return { userId: session.user.id, role: 'admin', email: session.user.email };
}
